/**
 * The redis backend on a real 3-master Redis Cluster that this file starts on free loopback ports
 * and tears down: the conformance suite, plus what only a Cluster can get wrong (multi-key
 * commands across hash slots, scans and flushes that must visit every master).
 */
import { createCluster } from '@redis/client';
import { afterAll, describe, expect, it } from 'vitest';
import { redisBackend } from '../src/backends/redis.js';
import type { RedisStore } from '../src/backends/redis/store.js';
import { hashSlot } from '../src/backends/redis/slots.js';
import { silentLogger } from '../src/core/logger.js';
import { runConformanceSuite } from '../src/testing/index.js';
import {
  makeRedisCache,
  redisCli,
  redisRegistered,
  startRedisCluster,
  type RedisCluster,
} from './fixtures/redis-servers.js';
import { describeWithService, probeService } from './support/services.js';

let cluster: RedisCluster | undefined;
const unavailable = await probeService(async () => {
  cluster = await startRedisCluster();
}, 30_000);

afterAll(async () => {
  await cluster?.dispose();
});

/** How many keys each master holds. */
async function keysPerMaster(ports: readonly number[]): Promise<number[]> {
  return Promise.all(ports.map(async (port) => Number(await redisCli(port, 'dbsize'))));
}

describeWithService('redis-server (Cluster mode)', unavailable, 'redis backend, Cluster', () => {
  const location = () => cluster!.url;

  runConformanceSuite({
    name: 'conformance',
    backendName: redisRegistered ? 'redis' : undefined,
    supportsSync: false,
    // A network round trip or four between storing and reading a TTL, on a machine that may be
    // busy with the other test files: more slack than the in-process default of 50 ms.
    ttlPrecisionMs: 150,
    makeCache: (overrides) => makeRedisCache({ location: location(), ...overrides }),
  });

  describe('hash slots', () => {
    const keys = Array.from({ length: 200 }, (_, i) => `user:${i}`);

    it('computes the slot Redis computes, hash tags included', async () => {
      const port = cluster!.ports[0]!;
      for (const key of ['foo', 'user:1', '{user1000}.following', 'a{}b', 'é{x}', '{}{tag}']) {
        expect(hashSlot(key)).toBe(Number(await redisCli(port, 'cluster', 'keyslot', key)));
      }
    });

    it('getMany, setMany and deleteMany span every master without CROSSSLOT', async () => {
      const cache = makeRedisCache({ location: location(), keyPrefix: 'slots' });
      try {
        const entries = Object.fromEntries(keys.map((key, i) => [key, { i }]));
        expect(await cache.setMany(entries, 60)).toEqual([]);
        // The batch really is spread over the three masters.
        expect((await keysPerMaster(cluster!.ports)).every((count) => count > 20)).toBe(true);
        const found = await cache.getMany([...keys, 'absent']);
        expect([...found.keys()]).toEqual(keys);
        expect(found.get('user:7')).toEqual({ i: 7 });
        expect(await cache.deleteMany([...keys.slice(0, 100), 'absent'])).toBe(100);
        expect((await cache.getMany(keys)).size).toBe(100);
      } finally {
        await cache.clear();
        await cache.close();
      }
    });

    it('keys, deletePattern and clear visit every master', async () => {
      const cache = makeRedisCache({ location: location(), keyPrefix: 'scan' });
      const other = makeRedisCache({ location: location(), keyPrefix: 'other' });
      try {
        await cache.setMany(Object.fromEntries(keys.map((key) => [key, 1])));
        await other.set('kept', 1);
        const seen: string[] = [];
        for await (const key of cache.keys('user:1*')) seen.push(key);
        expect(seen.sort()).toEqual(keys.filter((key) => key.startsWith('user:1')).sort());
        expect(await cache.deletePattern('user:1*')).toBe(seen.length);
        await cache.clear();
        let left = 0;
        for await (const _ of cache.keys()) left++;
        expect(left).toBe(0);
        expect(await other.get('kept')).toBe(1);
        // keyPrefix '' clears the whole store: every master's database.
        const all = makeRedisCache({ location: location(), keyPrefix: '' });
        await all.clear();
        await all.close();
        expect(await keysPerMaster(cluster!.ports)).toEqual([0, 0, 0]);
      } finally {
        await cache.close();
        await other.close();
      }
    });

    it('move works within one slot and across slots', async () => {
      const store = (await redisBackend.factory({
        alias: 'move',
        location: location(),
        options: {},
        now: Date.now,
        logger: silentLogger,
        operationTimeoutMs: 2000,
      })) as RedisStore;
      try {
        expect(hashSlot('{t}:1')).toBe(hashSlot('{t}:2'));
        expect(hashSlot('mv:1')).not.toBe(hashSlot('mv:2'));
        for (const [from, to] of [
          ['{t}:1', '{t}:2'],
          ['mv:1', 'mv:2'],
        ] as const) {
          await store.set(from, 'v', Date.now() + 60_000);
          expect(await store.move(from, to)).toBe(true);
          expect(await store.has(from)).toBe(false);
          expect(await store.get(to)).toEqual(Buffer.from('v'));
          expect(await store.expiry(to)).toBeGreaterThan(Date.now() + 59_000);
          expect(await store.move(from, to)).toBe(false);
        }
      } finally {
        await store.deleteMany(['{t}:2', 'mv:2']);
        await store.close();
      }
    });

    it('uses a Cluster client passed in, and leaves it open', async () => {
      const client = createCluster({
        rootNodes: [{ url: `redis://127.0.0.1:${cluster!.ports[2]}` }],
      });
      client.on('error', () => {});
      const cache = makeRedisCache({ keyPrefix: 'given', options: { client } });
      try {
        await cache.setMany({ a: 1, b: 2, c: 3 });
        expect(await cache.getMany(['a', 'b', 'c'])).toEqual(
          new Map([
            ['a', 1],
            ['b', 2],
            ['c', 3],
          ]),
        );
        await cache.clear();
        await cache.close();
        expect(client.isOpen).toBe(true);
        expect(await client.get('given:1:a')).toBeNull();
      } finally {
        client.destroy();
      }
    });

    it('accepts options.cluster instead of a URL, and incr stays atomic', async () => {
      const cache = makeRedisCache({
        keyPrefix: 'opts',
        options: { cluster: { rootNodes: [{ url: `redis://127.0.0.1:${cluster!.ports[1]}` }] } },
      });
      try {
        await cache.set('n', 0);
        await Promise.all(Array.from({ length: 200 }, () => cache.incr('n')));
        expect(await cache.get('n')).toBe(200);
      } finally {
        await cache.clear();
        await cache.close();
      }
    });
  });
});
