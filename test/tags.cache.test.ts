/**
 * Tags through the Cache API (README "Tags"): `tags` on set, add, setMany and getOrSet,
 * `deleteByTag`, on every backend, and the never-revived invariant through the Cache: a tag
 * record evicted by the memory LRU, deleted by hand, or unreadable during an outage.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@redis/client';
import { afterAll, describe, expect, it } from 'vitest';
import type { Cache } from '../src/core/cache.js';
import { InvalidKeyError, InvalidValueError, KeyNotFoundError } from '../src/core/errors.js';
import { silentLogger } from '../src/core/logger.js';
import { createCache } from '../src/core/registry.js';
import { adminPool, dropTables, POSTGRES_URL, probePostgres } from './fixtures/postgres-helpers.js';
import {
  makeRedisCache,
  probeRedis,
  redisUrl,
  startRedisServer,
} from './fixtures/redis-servers.js';
import { describeWithService } from './support/services.js';

const run = randomBytes(4).toString('hex');
const caches: Cache[] = [];
const dirs: string[] = [];
afterAll(async () => {
  for (const cache of caches) await cache.close();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
const track = (cache: Cache) => (caches.push(cache), cache);

type Tagged = Cache & { deleteByTag(tags: string | string[]): Promise<void> };

function tagTests(name: string, make: () => Cache) {
  describe(name, () => {
    it('deleteByTag removes every entry stored with the tag, and only those', async () => {
      const cache = track(make()) as Tagged;
      await cache.set('a', 1, { tags: ['x'] } as never);
      await cache.set('b', 'two', { timeout: 60, tags: ['x', 'y'] } as never);
      await cache.setMany({ c: 3, d: 4 }, { tags: ['y'] } as never);
      expect(await cache.add('e', 5, { tags: ['z'] } as never)).toBe(true);
      await cache.set('plain', 'p');
      expect(await cache.get('a')).toBe(1);
      expect(await cache.get('b')).toBe('two');
      expect(await cache.getMany(['c', 'd'])).toEqual(
        new Map([
          ['c', 3],
          ['d', 4],
        ]),
      );
      await cache.deleteByTag('x');
      expect(await cache.get('a')).toBeUndefined();
      expect(await cache.get('b')).toBeUndefined();
      expect(await cache.has('b')).toBe(false);
      expect(await cache.ttl('b')).toBeUndefined();
      expect(await cache.get('c')).toBe(3);
      await cache.deleteByTag(['y', 'z']);
      expect(await cache.getMany(['a', 'b', 'c', 'd', 'e', 'plain'])).toEqual(
        new Map([['plain', 'p']]),
      );
      const listed: string[] = [];
      for await (const key of cache.keys()) listed.push(key);
      expect(listed).toEqual(['plain']);
      // The tag in use again: new entries live, old ones stay gone.
      await cache.set('a2', 'again', { tags: ['x'] } as never);
      expect(await cache.get('a2')).toBe('again');
      expect(await cache.get('a')).toBeUndefined();
      expect(await cache.add('a', 'new', { tags: ['x'] } as never)).toBe(true);
      expect(await cache.get('a')).toBe('new');
    });

    it('getOrSet stores with tags and reloads after deleteByTag', async () => {
      const cache = track(make()) as Tagged;
      let loads = 0;
      const load = () => cache.getOrSet('g', () => ++loads, { tags: ['t'] } as never);
      expect(await load()).toBe(1);
      expect(await load()).toBe(1);
      await cache.deleteByTag(['t']);
      expect(await load()).toBe(2);
    });

    it('touch is false on an entry whose tags were deleted, true on a live tagged one', async () => {
      const cache = track(make()) as Tagged;
      await cache.set('live', 'v', { timeout: 60, tags: ['keep'] } as never);
      await cache.set('dead', 'v', { timeout: 60, tags: ['drop'] } as never);
      await cache.deleteByTag('drop');
      expect(await cache.touch('dead', 120)).toBe(false);
      expect(await cache.get('dead')).toBeUndefined();
      expect(await cache.touch('live', 120)).toBe(true);
      expect(await cache.ttl('live')).toBeGreaterThan(60);
      expect(await cache.get('live')).toBe('v');
      expect(await cache.touch('missing', 120)).toBe(false);
    });

    it('incr refuses a tagged counter: InvalidValueError, or KeyNotFoundError once invalidated', async () => {
      const cache = track(make()) as Tagged;
      await cache.set('n', 41, { tags: ['c'] } as never);
      await expect(cache.incr('n')).rejects.toThrow(/stored with tags/);
      await expect(cache.incr('n')).rejects.toThrow(InvalidValueError);
      expect(await cache.get('n')).toBe(41);
      await cache.deleteByTag('c');
      await expect(cache.incr('n')).rejects.toThrow(KeyNotFoundError);
      await cache.set('plain', 41);
      expect(await cache.incr('plain')).toBe(42);
      await cache.set('text', 'x', { tags: ['c'] } as never);
      await expect(cache.incr('text')).rejects.toThrow(InvalidValueError);
    });

    it('refuses empty and malformed tags before touching the store', async () => {
      const cache = track(make()) as Tagged;
      await expect(cache.set('k', 1, { tags: [''] } as never)).rejects.toThrow(InvalidKeyError);
      await expect(cache.set('k', 1, { tags: ['\ud800'] } as never)).rejects.toThrow(
        InvalidKeyError,
      );
      await expect(cache.deleteByTag('')).rejects.toThrow(InvalidKeyError);
      expect(await cache.get('k')).toBeUndefined();
    });
  });
}

tagTests('memory', () =>
  createCache({
    backend: 'memory',
    location: `tags-${run}-${Math.random()}`,
    logger: silentLogger,
  }),
);

describe('dummy', () => {
  it('accepts tags and keeps nothing', async () => {
    const cache = track(createCache({ backend: 'dummy' })) as Tagged;
    await cache.set('a', 1, { tags: ['x'] } as never);
    await cache.deleteByTag('x');
    expect(await cache.get('a')).toBeUndefined();
    expect(await cache.getOrSet('a', () => 2, { tags: ['x'] } as never)).toBe(2);
  });
});

tagTests('disk', () => {
  const dir = mkdtempSync(join(tmpdir(), 'skycache-tags-'));
  dirs.push(dir);
  return createCache({ backend: 'disk', location: dir, logger: silentLogger });
});

describe('memory: never revived', () => {
  it('an entry whose tag record the LRU evicted stays absent', async () => {
    const cache = track(
      createCache({
        backend: 'memory',
        location: `tags-lru-${run}`,
        options: { maxEntries: 3 },
        logger: silentLogger,
      }),
    ) as Tagged;
    await cache.set('e', 'v', { tags: ['t'] } as never);
    // Two more entries push the least recently used one (the tag record, made before the entry)
    // out, and leave the entry itself.
    await cache.set('x1', 1);
    await cache.set('x2', 2);
    const lru = cache.connection() as { peek(key: string): unknown };
    expect(lru.peek(':1:e')).toBeDefined();
    expect(await cache.get('e')).toBeUndefined();
    await cache.set('f', 'w', { tags: ['t'] } as never);
    expect(await cache.get('e')).toBeUndefined();
  });
});

const redisUnavailable = await probeRedis();
describeWithService('Redis', redisUnavailable, 'tags on Redis', () => {
  tagTests('redis', () =>
    makeRedisCache({ location: redisUrl(11), keyPrefix: `tags-${run}-${Math.random()}` }),
  );
  tagTests('redis + l1', () =>
    makeRedisCache({
      location: redisUrl(11),
      keyPrefix: `tags-l1-${run}-${Math.random()}`,
      l1: { timeout: '60s' },
    }),
  );

  it('a tag record deleted by hand, or unreadable in an outage, never revives an entry', async () => {
    const server = await startRedisServer();
    try {
      const cache = track(
        makeRedisCache({
          location: server.url,
          keyPrefix: 'p',
          failOpen: true,
          operationTimeout: '300ms',
          circuitBreaker: false,
        }),
      ) as Tagged;
      const raw = createClient({ url: server.url });
      await raw.connect();
      await cache.set('e', 'v', { tags: ['t'] } as never);
      expect(await cache.get('e')).toBe('v');
      const tagKeys = (await raw.keys('p:tag:*')) as string[];
      expect(tagKeys).toHaveLength(1);
      await raw.del(tagKeys[0]!);
      expect(await cache.get('e')).toBeUndefined();
      await cache.set('f', 'w', { tags: ['u'] } as never);
      await cache.deleteByTag('u');
      await raw.sendCommand(['CLIENT', 'PAUSE', '1000', 'ALL']);
      expect(await cache.get('f')).toBeUndefined();
      await new Promise((resolve) => setTimeout(resolve, 1100));
      expect(await cache.get('f')).toBeUndefined();
      await raw.close();
    } finally {
      await server.dispose();
    }
  });
});

const postgresUnavailable = await probePostgres();
describeWithService('PostgreSQL', postgresUnavailable, 'tags on PostgreSQL', () => {
  const table = `skycache_test_tags_${run}`;
  afterAll(async () => {
    const pool = adminPool();
    await dropTables(pool, table);
    await pool.end();
  });
  tagTests('postgres + l1', () =>
    createCache({
      backend: 'postgres',
      location: POSTGRES_URL,
      options: { table },
      keyPrefix: `p${Math.random()}`,
      logger: silentLogger,
      operationTimeout: '2s',
      l1: { timeout: '60s' },
    }),
  );
});
