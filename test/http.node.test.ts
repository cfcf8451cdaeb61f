/**
 * `skycache/http`: `cachedHandler` around a plain node:http listener.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../src/core/logger.js';
import { cachedHandler } from '../src/integrations/http/index.js';
import { nodeHarness } from './http.harness.js';
import { describeHttpCaching, memoryCache } from './http.scenarios.js';

describeHttpCaching(nodeHarness, { uniqueQueries: 10_000 });

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('cachedHandler specifics', () => {
  it('treats writeHead followed by end(body) as a complete body (ETag on the miss)', async () => {
    const server = createServer(
      cachedHandler(
        (_req, res) => {
          res.writeHead(200, { 'content-type': 'text/plain' });
          res.end('hello');
        },
        { ttl: '60s', cache: memoryCache(), logger: silentLogger },
      ),
    );
    const url = await listen(server);
    try {
      const miss = await fetch(url);
      expect(miss.headers.get('etag')).toMatch(/^"/);
      expect(miss.headers.get('cache-status')).toBe('skycache; fwd=uri-miss; stored');
      expect((await fetch(url)).headers.get('x-cache')).toBe('HIT');
    } finally {
      server.close();
    }
  });

  it('answers 500 when the handler throws, and stores nothing', async () => {
    const cache = memoryCache();
    const server = createServer(
      cachedHandler(
        async () => {
          throw new Error('boom');
        },
        { ttl: '60s', cache, logger: silentLogger },
      ),
    );
    const url = await listen(server);
    try {
      expect((await fetch(url)).status).toBe(500);
      expect((await fetch(url)).status).toBe(500);
    } finally {
      server.close();
    }
  });

  it('rejects invalid options when the handler is made', () => {
    expect(() => cachedHandler(() => {}, { ttl: '60s', scope: 'user' })).toThrow(/userKey/);
  });
});
