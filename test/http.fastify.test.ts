/**
 * `skycache/fastify`: the plugin, opted into per route with `config: { cache }`.
 */
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import skycache from '../src/integrations/fastify/index.js';
import { fastifyHarness } from './http.harness.js';
import { describeHttpCaching, memoryCache } from './http.scenarios.js';

describeHttpCaching(fastifyHarness);

describe('Fastify plugin specifics', () => {
  it('takes route defaults from the plugin options (config: { cache: true })', async () => {
    const app = Fastify();
    await app.register(skycache, { cache: memoryCache(), ttl: '60s' });
    let calls = 0;
    app.get('/', { config: { cache: true } }, async () => ({ calls: ++calls }));
    await app.ready();
    await app.inject('/');
    const hit = await app.inject('/');
    expect(hit.headers['x-cache']).toBe('HIT');
    expect(hit.json()).toEqual({ calls: 1 });
    await app.close();
  });

  it('leaves routes without config.cache alone', async () => {
    const app = Fastify();
    await app.register(skycache, { cache: memoryCache(), ttl: '60s' });
    app.get('/', async () => 'plain');
    const response = await app.inject('/');
    expect(response.headers['x-cache']).toBeUndefined();
    expect(response.headers['cache-status']).toBeUndefined();
    await app.close();
  });

  it('invalidates on a write to any route once the plugin is registered', async () => {
    const app = Fastify();
    await app.register(skycache, { cache: memoryCache(), ttl: '60s' });
    let calls = 0;
    app.get('/items/:id', { config: { cache: {} } }, async () => ({ calls: ++calls }));
    app.put('/items/:id', async (_request, reply) => reply.code(204).send());
    await app.inject('/items/1');
    expect((await app.inject('/items/1')).headers['x-cache']).toBe('HIT');
    const put = await app.inject({ method: 'PUT', url: '/items/1' });
    expect(put.headers['x-cache']).toBeUndefined();
    expect((await app.inject('/items/1')).headers['x-cache']).toBe('MISS');
    await app.close();
  });

  it('decorates the instance with skycache.invalidate', async () => {
    const app = Fastify();
    await app.register(skycache, { cache: memoryCache(), ttl: '60s', tags: ['pages'] });
    app.get('/', { config: { cache: {} } }, async () => 'page');
    await app.inject('/');
    await app.skycache.invalidate({ tags: ['pages'] });
    expect((await app.inject('/')).headers['x-cache']).toBe('MISS');
    await app.close();
  });

  it('runs the lookup after route-level preHandler hooks (authorization first)', async () => {
    const app = Fastify();
    await app.register(skycache, { cache: memoryCache(), ttl: '60s', scope: 'public' });
    app.get(
      '/',
      {
        config: { cache: {} },
        preHandler: async (request, reply) => {
          if (request.headers['x-role'] !== 'member') return reply.code(403).send('no');
        },
      },
      async () => 'members',
    );
    await app.inject({ url: '/', headers: { 'x-role': 'member' } });
    const refused = await app.inject('/');
    expect(refused.statusCode).toBe(403);
    await app.close();
  });

  it('rejects invalid route options when the route is declared', async () => {
    const app = Fastify();
    await app.register(skycache, { cache: memoryCache() });
    expect(() =>
      app.get('/', { config: { cache: { ttl: '60s', statuses: [206] } } }, async () => 'x'),
    ).toThrow(/206/);
    await app.close();
  });
});
