/**
 * The HTTP caching scenarios against Redis (the shared server of the Redis tests, database 10),
 * through the Express adapter: every process of an app shares these entries, so everything an
 * entry needs (envelope, path namespaces, tags) lives in the store. Then, on every adapter, an
 * outage of a private `redis-server` (killed mid-test; the shared server is never touched): the
 * responses say `detail=backend-error`, never `stored`, and `invalidate()` still reaches the
 * healthy cache. Skipped with a message when Redis is not reachable; CI
 * (SKYCACHE_REQUIRE_SERVICES=1) fails instead.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { BackendError, createCache, type Cache } from '../src/index.js';
import { silentLogger } from '../src/core/logger.js';
import {
  makeRedisCache,
  probeRedis,
  rawClient,
  redisUrl,
  startRedisServer,
  type RedisServer,
} from './fixtures/redis-servers.js';
import {
  expressHarness,
  fastifyHarness,
  honoHarness,
  nodeHarness,
  type TestServer,
} from './http.harness.js';
import { describeHttpCaching } from './http.scenarios.js';
import { describeWithService } from './support/services.js';

const unavailable = await probeRedis();

describeWithService('Redis', unavailable, 'HTTP caching on Redis', () => {
  describeHttpCaching(expressHarness, {
    cacheName: 'redis',
    // A prefix per test: the scenarios count entries and must not see another test's.
    makeCache: () => makeRedisCache({ location: redisUrl(10), keyPrefix: `http-${randomUUID()}` }),
  });

  describe.each([fastifyHarness, expressHarness, honoHarness, nodeHarness])(
    '$name: Redis outages and evictions',
    (harness) => {
      let redis: RedisServer | undefined;
      let server: TestServer | undefined;
      const opened: Cache[] = [];

      afterEach(async () => {
        await server?.close();
        server = undefined;
        for (const cache of opened.splice(0)) {
          await cache.clear().catch(() => {});
          await cache.close().catch(() => {});
        }
        await redis?.dispose();
        redis = undefined;
      });

      it('says backend-error, never stored, while its Redis is down; invalidate() still reaches the healthy cache', async () => {
        redis = await startRedisServer();
        const id = randomUUID().slice(0, 8);
        const doomed = createCache(
          {
            backend: 'redis',
            location: redis.url,
            keyPrefix: `http-${id}`,
            operationTimeout: '500ms',
            logger: silentLogger,
          },
          `pages-private-${id}`,
        );
        const healthy = makeRedisCache({ location: redisUrl(10), keyPrefix: `http-${id}` });
        opened.push(doomed, healthy);
        let calls = 0;
        server = await harness.start(
          [
            {
              path: '/doomed/:id',
              cache: { ttl: '60s', cache: doomed, tags: ['items'] },
              handler: () => ({ body: `doomed ${++calls}` }),
            },
            {
              path: '/healthy',
              cache: { ttl: '60s', tags: ['items'] },
              handler: () => ({ body: `healthy ${++calls}` }),
            },
          ],
          healthy,
        );
        const get = (path: string) => fetch(server!.url + path);
        for (const path of ['/doomed/1', '/healthy']) {
          expect((await get(path)).headers.get('cache-status')).toBe(
            'skycache; fwd=uri-miss; stored',
          );
          expect((await get(path)).headers.get('x-cache')).toBe('HIT');
        }

        await redis.kill();
        for (let i = 2; i < 6; i++) {
          const response = await get(`/doomed/${i}`);
          expect(response.status).toBe(200);
          expect(await response.text()).toMatch(/^doomed \d+$/);
          expect(response.headers.get('x-cache')).toBe('MISS');
          expect(response.headers.get('cache-status')).toBe(
            'skycache; fwd=uri-miss; detail=backend-error',
          );
        }

        const failure = await server.invalidate({ tags: ['items'] }).then(
          () => undefined,
          (error: unknown) => error,
        );
        expect(failure).toBeInstanceOf(BackendError);
        expect((failure as Error).message).toContain(`"pages-private-${id}"`);
        expect((failure as Error).message).not.toContain('"default"');
        // The healthy cache was invalidated all the same.
        const after = await get('/healthy');
        expect(after.headers.get('x-cache')).toBe('MISS');
        expect(after.headers.get('cache-status')).toBe('skycache; fwd=uri-miss; stored');

        // Closed, the dead cache is forgotten: invalidation no longer reports (or reopens) it.
        await doomed.close().catch(() => {});
        await server.invalidate({ tags: ['items'] });
        expect((await get('/healthy')).headers.get('x-cache')).toBe('MISS');
      });

      it('never serves an invalidated page again, not when the tag record is evicted', async () => {
        const prefix = `http-${randomUUID()}`;
        const pages = makeRedisCache({ location: redisUrl(10), keyPrefix: prefix });
        opened.push(pages);
        const raw = await rawClient(redisUrl(10));
        try {
          let calls = 0;
          server = await harness.start(
            [
              {
                path: '/items',
                cache: { ttl: '60s', tags: ['items'] },
                handler: () => ({ body: `items ${++calls}` }),
              },
            ],
            pages,
          );
          const get = async () => {
            const response = await fetch(`${server!.url}/items`);
            return `${response.headers.get('x-cache')} ${await response.text()}`;
          };
          // The tag's record as the cache keeps it: `<keyPrefix>:tag:<tag>`.
          const evict = () => raw.del(`${prefix}:tag:items`);
          expect(await get()).toBe('MISS items 1');
          expect(await get()).toBe('HIT items 1');
          // Evicted (as maxmemory would): the entry's tags cannot be checked, so it is a miss.
          expect(await evict()).toBe(1);
          expect(await get()).toBe('MISS items 2');
          expect(await get()).toBe('HIT items 2');
          await server.invalidate({ tags: ['items'] });
          expect(await get()).toBe('MISS items 3');
          // Invalidated, then evicted, then the tag used again: the old pages stay dead.
          await server.invalidate({ tags: ['items'] });
          await evict();
          expect(await get()).toBe('MISS items 4');
          for (let i = 0; i < 3; i++) expect(await get()).toBe('HIT items 4');
          expect(calls).toBe(4);
        } finally {
          raw.destroy();
        }
      });
    },
  );
});
