/**
 * `skycache/hono`: `cachePage` middleware.
 */
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../src/core/logger.js';
import { cachePage } from '../src/integrations/hono/index.js';
import { honoHarness } from './http.harness.js';
import { describeHttpCaching, memoryCache } from './http.scenarios.js';

describeHttpCaching(honoHarness);

describe('Hono specifics', () => {
  it('keys by the handler route pattern when mounted with app.use', async () => {
    const app = new Hono();
    app.use('*', cachePage({ ttl: '60s', cache: memoryCache(), logger: silentLogger }));
    let calls = 0;
    app.get('/items/:id', (c) => c.json({ id: c.req.param('id'), calls: ++calls }));
    await app.request('/items/1');
    const hit = await app.request('/items/1');
    expect(hit.headers.get('x-cache')).toBe('HIT');
    expect(await hit.json()).toEqual({ id: '1', calls: 1 });
    expect(await (await app.request('/items/2')).json()).toEqual({ id: '2', calls: 2 });
  });
});
