/**
 * The dashboard's mounts (node:http with basePath, Fastify plugin with prefix, Express, Hono), its
 * read-only mode, and `skycache dashboard` from the CLI, over plain HTTP.
 */
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { serve } from '@hono/node-server';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { afterAll, describe, expect, it } from 'vitest';
import { createCache } from '../src/core/registry.js';
import { dashboard as expressDashboard } from '../src/integrations/dashboard/express.js';
import fastifyDashboard from '../src/integrations/dashboard/fastify.js';
import { dashboard as honoDashboard } from '../src/integrations/dashboard/hono.js';
import { dashboard } from '../src/integrations/dashboard/index.js';

const cache = createCache('memory://dashboard-mounts', 'mounted');
const closers: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const close of closers) await close();
  await cache.close();
});

async function listen(server: Server): Promise<string> {
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  closers.push(() => {
    server.closeAllConnections();
    return new Promise((done) => server.close(done));
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** What every mount must do under `base` (the full URL of the mount point). */
async function checkMount(base: string, origin: string): Promise<void> {
  await cache.set('mount:1', { a: 1 });
  await cache.set('mount:2', 2);
  const page = await fetch(`${base}/`);
  expect(page.status).toBe(200);
  const html = await page.text();
  const path = new URL(base).pathname.replace(/\/$/, '');
  expect(html).toContain(`src="${path}/assets/app.js"`);
  for (const asset of ['app.js', 'app.css', 'uplot.js', 'uplot.css'])
    expect((await fetch(`${base}/assets/${asset}`)).status, asset).toBe(200);
  const list = (await (await fetch(`${base}/api/caches`)).json()) as {
    caches: Array<{ alias: string }>;
  };
  expect(list.caches.map((entry) => entry.alias)).toEqual(['mounted']);
  const keys = (await (await fetch(`${base}/api/keys?cache=mounted&pattern=mount:*`)).json()) as {
    keys: Array<{ key: string }>;
  };
  expect(keys.keys.map((entry) => entry.key).sort()).toEqual(['mount:1', 'mount:2']);
  const post = (body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${base}/api/delete-pattern`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
  expect((await post({ cache: 'mounted', pattern: 'mount:*' })).status).toBe(403);
  const counted = await post({ cache: 'mounted', pattern: 'mount:*', dryRun: true }, { origin });
  expect(await counted.json()).toEqual({ pattern: 'mount:*', matched: 2, dryRun: true });
  const deleted = await post({ cache: 'mounted', pattern: 'mount:*' }, { origin });
  expect(await deleted.json()).toEqual({ pattern: 'mount:*', deleted: 2 });
  expect(await cache.has('mount:1')).toBe(false);
}

describe('dashboard mounts', () => {
  it('node:http with basePath (other paths fall through to next / 404)', async () => {
    const handler = dashboard({ caches: [cache], basePath: '/admin/cache' });
    const origin = await listen(
      createServer((req, res) =>
        handler(req, res, () => {
          res.writeHead(418).end();
        }),
      ),
    );
    await checkMount(`${origin}/admin/cache`, origin);
    expect((await fetch(`${origin}/elsewhere`)).status).toBe(418);
  });

  it('Fastify plugin with prefix, next to the application routes', async () => {
    // fetch keeps connections alive; close them with the app.
    const app = Fastify({ forceCloseConnections: true });
    app.post('/app', async (request) => ({ echoed: request.body }));
    await app.register(fastifyDashboard, { prefix: '/cache', caches: [cache] });
    await app.listen({ host: '127.0.0.1', port: 0 });
    closers.push(() => app.close());
    const origin = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    await checkMount(`${origin}/cache`, origin);
    const echoed = await fetch(`${origin}/app`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"x":1}',
    });
    expect(await echoed.json()).toEqual({ echoed: { x: 1 } });
  });

  it('Express with app.use(path)', async () => {
    const app = express();
    app.use('/ops/cache', expressDashboard({ caches: [cache] }));
    const origin = await listen(createServer(app));
    await checkMount(`${origin}/ops/cache`, origin);
  });

  it('Hono with app.route(path)', async () => {
    const app = new Hono();
    app.route('/cache', honoDashboard({ caches: [cache] }));
    const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }) as Server;
    await new Promise((done) => server.once('listening', done));
    closers.push(() => {
      server.closeAllConnections();
      return new Promise((done) => server.close(done));
    });
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    await checkMount(`${origin}/cache`, origin);
  });

  it('delete-tag invalidates the tagged entries (same-origin JSON POST)', async () => {
    const origin = await listen(createServer(dashboard({ caches: [cache] })));
    await cache.set('t:1', 1, { tags: ['red'] });
    await cache.set('t:2', 2, { tags: ['blue'] });
    const post = (headers: Record<string, string>) =>
      fetch(`${origin}/api/delete-tag`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ cache: 'mounted', tags: ['red'] }),
      });
    expect((await post({ origin: 'http://evil.example' })).status).toBe(403);
    expect(await cache.get('t:1')).toBe(1);
    const done = await post({ origin });
    expect(await done.json()).toEqual({ tags: ['red'], invalidated: true });
    expect(await cache.get('t:1')).toBeUndefined();
    expect(await cache.get('t:2')).toBe(2);
  });

  it('the key browser pages through matches; values come pretty-printable, bytes as hex', async () => {
    const origin = await listen(createServer(dashboard({ caches: [cache] })));
    await cache.setMany(Array.from({ length: 120 }, (_, i) => [`page:${i}`, { i }] as const));
    await cache.set('bytes', Buffer.from([0xde, 0xad, 0xbe, 0xef]));
    const seen: string[] = [];
    let offset = 0;
    for (;;) {
      const page = (await (
        await fetch(`${origin}/api/keys?cache=mounted&pattern=page:*&offset=${offset}&limit=50`)
      ).json()) as { keys: Array<{ key: string; ttl: number; size: number }>; hasMore: boolean };
      seen.push(...page.keys.map((entry) => entry.key));
      expect(page.keys.every((entry) => entry.ttl > 0 && entry.size > 0)).toBe(true);
      if (!page.hasMore) break;
      offset += 50;
    }
    expect(seen).toHaveLength(120);
    expect(new Set(seen).size).toBe(120);
    const entry = await (await fetch(`${origin}/api/entry?cache=mounted&key=bytes`)).json();
    expect(entry).toMatchObject({ type: 'buffer', value: 'deadbeef', size: 4, found: true });
    expect((await fetch(`${origin}/api/entry?cache=mounted&key=absent`)).status).toBe(404);
  });

  it('readOnly refuses every change, even same-origin with the token', async () => {
    const origin = await listen(
      createServer(dashboard({ caches: [cache], token: 't', readOnly: true })),
    );
    await cache.set('ro', 1);
    for (const [action, body] of [
      ['delete', { cache: 'mounted', key: 'ro' }],
      ['delete-pattern', { cache: 'mounted', pattern: '*' }],
      ['delete-tag', { cache: 'mounted', tags: ['x'] }],
    ] as const) {
      const response = await fetch(`${origin}/api/${action}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer t', origin },
        body: JSON.stringify(body),
      });
      expect(response.status, action).toBe(403);
    }
    expect(await cache.get('ro')).toBe(1);
    const page = await fetch(`${origin}/`, { headers: { authorization: 'Bearer t' } });
    expect(await page.text()).toContain('class="read-only"');
  });
});

describe('skycache dashboard (CLI)', () => {
  it('serves on 127.0.0.1 with the token, until interrupted', async () => {
    const main = join(resolve(import.meta.dirname, '..'), 'src/cli/main.ts');
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', main, 'dashboard', '--port', '0', '--token', 'cli-token', '--json'],
      { env: { ...process.env, CACHE_URL: 'memory://cli-dashboard' } },
    );
    closers.push(async () => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    await expect.poll(() => out, { timeout: 60_000 }).toMatch(/\}\s*$/);
    const { url } = JSON.parse(out) as { url: string };
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect((await fetch(`${url}api/caches`)).status).toBe(401);
    const listed = await fetch(`${url}api/caches`, {
      headers: { authorization: 'Bearer cli-token' },
    });
    expect(((await listed.json()) as { caches: Array<{ alias: string }> }).caches[0]!.alias).toBe(
      'default',
    );
    const exited = new Promise<number | null>((done) => child.once('exit', done));
    child.kill('SIGINT');
    expect(await exited).toBe(0);
  }, 90_000);
});
