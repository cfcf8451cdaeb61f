/**
 * cache-manager 7 over Keyv over KeyvSkycache: `createCache({ stores: [new Keyv({ store })] })`,
 * TTLs in milliseconds, wrap, mget/mset, del, clear, two tiers, and a Redis that does not answer.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Socket } from 'node:net';
import { createCache as createCacheManager } from 'cache-manager';
import Keyv from 'keyv';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Cache } from '../src/core/cache.js';
import { createCache } from '../src/core/registry.js';
import { KeyvSkycache } from '../src/integrations/keyv/index.js';
import { makeRedisCache, probeRedis, redisUrl } from './fixtures/redis-servers.js';
import { describeWithService } from './support/services.js';

describeWithService(
  'Redis',
  await probeRedis(),
  'cache-manager 7 on a skycache Redis store',
  () => {
    let redis: Cache;
    beforeAll(() => {
      redis = makeRedisCache({ location: redisUrl(0), keyPrefix: `cm-${randomUUID()}` });
    });
    afterEach(() => redis.clear());
    afterAll(() => redis.close());

    const manager = () =>
      createCacheManager({ stores: [new Keyv({ store: new KeyvSkycache(redis) })] });

    it('get/set with a TTL in milliseconds', async () => {
      const cm = manager();
      await cm.set('user:1', { name: 'Ada' }, 20_000);
      expect(await cm.get('user:1')).toEqual({ name: 'Ada' });
      const left = await redis.ttl('keyv:user:1');
      expect(left).toBeGreaterThan(10);
      expect(left).toBeLessThanOrEqual(20);
      const expires = await cm.ttl('user:1');
      expect(expires! - Date.now()).toBeLessThanOrEqual(20_000);
      expect(await cm.get('user:2')).toBeUndefined();
    });

    it('wrap loads once and serves the stored value after', async () => {
      const cm = manager();
      let loads = 0;
      const load = async () => {
        loads += 1;
        return { report: 42 };
      };
      expect(await cm.wrap('report', load, 10_000)).toEqual({ report: 42 });
      expect(await cm.wrap('report', load, 10_000)).toEqual({ report: 42 });
      expect(loads).toBe(1);
      expect(await redis.has('keyv:report')).toBe(true);
    });

    it('mset/mget, del and clear', async () => {
      const cm = manager();
      await cm.mset<unknown>([
        { key: 'a', value: 1, ttl: 5000 },
        { key: 'b', value: 'two' },
      ]);
      expect(await cm.mget(['a', 'b', 'c'])).toEqual([1, 'two', undefined]);
      expect(await redis.ttl('keyv:a')).toBeLessThanOrEqual(5);
      await cm.del('a');
      expect(await cm.get('a')).toBeUndefined();
      expect(await redis.has('keyv:a')).toBe(false);

      await redis.set('not-keyv', 'kept');
      await cm.clear();
      expect(await cm.get('b')).toBeUndefined();
      expect(await redis.get('not-keyv')).toBe('kept');
    });

    it('two tiers: a fresh memory tier is filled from the Redis tier by wrap', async () => {
      const tiers = (l1: string) =>
        createCacheManager({
          stores: [
            new Keyv({ store: new KeyvSkycache(`memory://${l1}?timeout=60`) }),
            new Keyv({ store: new KeyvSkycache(redis) }),
          ],
        });
      const l1First = `l1-${randomUUID()}`;
      const first = tiers(l1First);
      await first.set('profile', { id: 7 }, 30_000);
      expect(await createCache(`memory://${l1First}`).has('keyv:profile')).toBe(true);
      expect(await redis.has('keyv:profile')).toBe(true);

      // Another process: its memory tier is empty, Redis has the value.
      const l1Second = `l1-${randomUUID()}`;
      const second = tiers(l1Second);
      let loads = 0;
      const value = await second.wrap(
        'profile',
        async () => {
          loads += 1;
          return { id: -1 };
        },
        30_000,
      );
      expect(value).toEqual({ id: 7 });
      expect(loads).toBe(0);
      expect(await createCache(`memory://${l1Second}`).has('keyv:profile')).toBe(true);
    });
  },
);

describe('cache-manager 7 when Redis does not answer', () => {
  // A listener that accepts connections and never replies: what a frozen or overloaded Redis looks
  // like. cache-manager's own Redis store waits forever here (their issue #1470).
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
  });
  let port = 0;
  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  it('get resolves within operationTimeout and wrap returns the loader value', async () => {
    const operationTimeoutMs = 300;
    const frozen = makeRedisCache({
      location: `redis://127.0.0.1:${port}/0`,
      operationTimeout: `${operationTimeoutMs}ms`,
    });
    const keyv = new Keyv({ store: new KeyvSkycache(frozen) });
    const errors: unknown[] = [];
    keyv.on('error', (error) => errors.push(error));
    const cm = createCacheManager({ stores: [keyv] });
    try {
      let started = performance.now();
      expect(await cm.get('k')).toBeUndefined();
      // Generous margin for a loaded CI machine; a hang would be the test's 20 s timeout.
      expect(performance.now() - started).toBeLessThan(operationTimeoutMs + 2000);

      started = performance.now();
      expect(await cm.wrap('k', async () => 'fresh', 1000)).toBe('fresh');
      expect(performance.now() - started).toBeLessThan(2 * operationTimeoutMs + 2000);
      expect(errors.length).toBeGreaterThanOrEqual(2);
      expect(errors[0]).toMatchObject({ code: 'ERR_CACHE_BACKEND' });
    } finally {
      await frozen.close();
    }
  });

  it('a port with nothing listening fails just as fast', async () => {
    const refused = makeRedisCache({
      location: 'redis://127.0.0.1:1/0',
      operationTimeout: '300ms',
    });
    const cm = createCacheManager({ stores: [new Keyv({ store: new KeyvSkycache(refused) })] });
    try {
      const started = performance.now();
      expect(await cm.get('k')).toBeUndefined();
      expect(performance.now() - started).toBeLessThan(300 + 2000);
    } finally {
      await refused.close();
    }
  });
});
