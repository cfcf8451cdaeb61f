/**
 * `skycache/express`: `cachePage` middleware per route.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../src/core/logger.js';
import { cachePage } from '../src/integrations/express/index.js';
import { expressHarness } from './http.harness.js';
import { describeHttpCaching, memoryCache } from './http.scenarios.js';

describeHttpCaching(expressHarness);

describe('Express specifics', () => {
  it("replaces Express's automatic weak ETag with the content hash", async () => {
    const app = express();
    app.get(
      '/',
      cachePage({ ttl: '60s', cache: memoryCache(), logger: silentLogger }),
      (_req, res) => {
        res.send('hello');
      },
    );
    const server = createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    try {
      const miss = await fetch(url);
      const etag = miss.headers.get('etag')!;
      expect(etag).toMatch(/^"[\w-]{27}"$/);
      expect((await fetch(url)).headers.get('etag')).toBe(etag);
      expect((await fetch(url, { headers: { 'if-none-match': etag } })).status).toBe(304);
    } finally {
      server.close();
    }
  });

  it('caches every GET route below app.use(cachePage(...)), and invalidates on writes there', async () => {
    const app = express();
    app.use('/products', cachePage({ ttl: '60s', cache: memoryCache(), logger: silentLogger }));
    let calls = 0;
    app.get('/products', (_req, res) => void res.json({ calls: ++calls }));
    app.post('/products', (_req, res) => void res.status(201).json({ created: true }));
    const server = createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/products`;
    try {
      await fetch(url);
      expect(await (await fetch(url)).json()).toEqual({ calls: 1 });
      expect((await fetch(url, { method: 'POST' })).status).toBe(201);
      expect(await (await fetch(url)).json()).toEqual({ calls: 2 });
    } finally {
      server.close();
    }
  });
});
