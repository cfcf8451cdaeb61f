/**
 * What the conformance suite cannot see from the Cache API alone: how entries look in Redis (so
 * other clients can share them), binary safety, the atomic `incr` script's edges, URL and option
 * handling, and the glob translation to `SCAN MATCH`. Uses database 13 of the shared server.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisBackend } from '../src/backends/redis.js';
import { toRedisMatch } from '../src/backends/redis/match.js';
import type { RedisStore } from '../src/backends/redis/store.js';
import { resolveRedisSettings } from '../src/backends/redis/options.js';
import { hashSlot } from '../src/backends/redis/slots.js';
import type { Cache } from '../src/core/cache.js';
import { ConfigError } from '../src/core/errors.js';
import { silentLogger } from '../src/core/logger.js';
import { createCache } from '../src/core/registry.js';
import { makeRedisCache, probeRedis, rawClient, redisUrl } from './fixtures/redis-servers.js';
import { describeWithService } from './support/services.js';

const run = promisify(execFile);
const DB = 13;
const location = redisUrl(DB);

/** A Redis store on this file's database, made by the backend's factory (not through a Cache). */
async function openStore(alias: string, now: () => number = Date.now): Promise<RedisStore> {
  return (await redisBackend.factory({
    alias,
    location,
    options: {},
    now,
    logger: silentLogger,
    operationTimeoutMs: 2000,
  })) as RedisStore;
}

function settings(location: string, options: Record<string, unknown> = {}) {
  return resolveRedisSettings({
    alias: 'test',
    location,
    options,
    now: Date.now,
    logger: silentLogger,
    operationTimeoutMs: 250,
  });
}

describe('redis URLs and options', () => {
  it('reads user, password, host, port, database and client name from the URL', () => {
    const { target } = settings('redis://app:p%40ss@cache.internal:6380/3?name=web');
    expect(target).toMatchObject({
      kind: 'client',
      options: {
        username: 'app',
        password: 'p@ss',
        database: 3,
        name: 'web',
        RESP: 2,
        socket: { host: 'cache.internal', port: 6380, tls: false },
      },
    });
    expect(settings('rediss://:pw@h?db=2').target).toMatchObject({
      options: { password: 'pw', database: 2, socket: { host: 'h', port: 6379, tls: true } },
    });
    expect(settings('redis://[::1]:7000').target).toMatchObject({
      options: { socket: { host: '::1', port: 7000 } },
    });
  });

  it('reads a Cluster from redis+cluster:// host lists', () => {
    const { target } = settings('rediss+cluster://:pw@a:7000,b:7001/0');
    expect(target).toMatchObject({
      kind: 'cluster',
      options: {
        rootNodes: [
          { socket: { host: 'a', port: 7000, tls: true } },
          { socket: { host: 'b', port: 7001, tls: true } },
        ],
        defaults: { password: 'pw', RESP: 2, socket: { tls: true } },
      },
    });
  });

  it('merges clientOptions over its defaults, socket options included', () => {
    const { target } = settings('redis://h:1/2', {
      clientOptions: { socket: { connectTimeout: 1234 }, RESP: 3 },
    });
    expect(target).toMatchObject({
      options: { RESP: 3, database: 2, socket: { host: 'h', port: 1, connectTimeout: 1234 } },
    });
    const { reconnectStrategy } = (
      target as unknown as { options: { socket: Record<string, unknown> } }
    ).options.socket as { reconnectStrategy: (retries: number) => number };
    expect(reconnectStrategy(0)).toBeLessThan(100);
    expect(reconnectStrategy(50)).toBeLessThanOrEqual(2050);
  });

  it('refuses bad locations and options with ConfigError, never showing the password', () => {
    const bad: Array<[string, Record<string, unknown>?]> = [
      ['redis://:secret@h/notanumber'],
      ['redis://:secret@h:99999'],
      ['redis://:secret@h?foo=1'],
      ['redis://:secret@a:1,b:2'],
      ['redis+cluster://:secret@a:1/3'],
      ['http://:secret@h'],
      ['redis://:secret@h', { client: { sendCommand() {} } }],
      ['', { maxEntries: 10 }],
      ['', { cluster: { rootNodes: [] } }],
      ['', { client: {} }],
    ];
    for (const [where, options] of bad) {
      let error: unknown;
      try {
        settings(where, options);
      } catch (caught) {
        error = caught;
      }
      expect(error, where).toBeInstanceOf(ConfigError);
      expect((error as Error).message).not.toContain('secret');
    }
    expect(redisBackend.validate!({ maxEntries: 5 })).toMatch(/maxmemory-policy/);
  });

  it('refuses maxEntries in URLs and upper-case settings', () => {
    expect(() => createCache('redis://127.0.0.1:6379/13?maxEntries=5')).toThrow(/maxmemory/);
    expect(() =>
      createCache({
        BACKEND: 'fastapp.cache.redis.RedisCache',
        LOCATION: location,
        OPTIONS: { MAX_ENTRIES: 5 },
      } as never),
    ).toThrow(ConfigError);
  });

  it('computes Redis hash slots', () => {
    // Values from the Redis Cluster specification and `CLUSTER KEYSLOT`.
    expect(hashSlot('foo')).toBe(12182);
    expect(hashSlot('123456789')).toBe(12739);
    expect(hashSlot('{user1000}.following')).toBe(hashSlot('{user1000}.followers'));
    expect(hashSlot('foo{}{bar}')).toBe(hashSlot('foo{}{bar}'));
  });

  it('translates globs to SCAN MATCH patterns that are exact or wider, with an exact filter', () => {
    expect(toRedisMatch({ prefix: 'a*[b]?\\:1:', pattern: '*' }).pattern).toBe(
      'a\\*\\[b\\]\\?\\\\:1:*',
    );
    expect(toRedisMatch({ prefix: 'p:', pattern: 'user:[a-c]x?' }).pattern).toBe('p:user:[a-c]x?*');
    expect(toRedisMatch({ prefix: '', pattern: '[!a]\\*[é]' }).pattern).toBe('?*\\*?*');
    const { matches } = toRedisMatch({ prefix: 'p:', pattern: '?1' });
    expect(['p:é1', 'p:e1', 'p:ée1', 'q:e1'].map(matches)).toEqual([true, true, false, false]);
  });
});

const unavailable = await probeRedis();

describeWithService('Redis', unavailable, 'redis backend in Redis', () => {
  let cache: Cache;
  let raw: Awaited<ReturnType<typeof rawClient>>;
  const cli = async (...args: string[]) =>
    (await run('redis-cli', ['-u', location, ...args])).stdout.trim();

  beforeAll(async () => {
    raw = await rawClient(location);
    await raw.flushDb();
    cache = makeRedisCache({ location, keyPrefix: 'app' });
  });
  afterAll(async () => {
    await cache?.close();
    raw?.destroy();
  });

  it('works from a URL with skycache and driver parameters', async () => {
    const url = `${location}?keyPrefix=url&timeout=5m&name=skycache-url-test&reconnectMaxDelay=1s`;
    const fromUrl = createCache(url);
    try {
      expect(fromUrl.backend).toBe('redis');
      await fromUrl.set('k', [1, 2]);
      expect(await raw.get('url:1:k')).toBe('[1,2]');
      expect(await cli('client', 'list')).toContain('name=skycache-url-test');
      expect(await fromUrl.ttl('k')).toBeGreaterThan(299);
    } finally {
      await fromUrl.clear();
      await fromUrl.close();
    }
  });

  describe('interop', () => {
    it('JSON values read cleanly with redis-cli and jq', async () => {
      const value = { name: 'Ada', tags: ['x', 'ü', '😀'], n: 1.5, ok: true, none: null };
      await cache.set('user', value);
      const { stdout } = await run('sh', [
        '-c',
        `redis-cli -u '${location}' --raw get app:1:user | jq -c .`,
      ]);
      expect(JSON.parse(stdout)).toEqual(value);
    });

    it('integers are plain text that other clients can INCR, and skycache reads back', async () => {
      await cache.set('counter', 41, 60);
      expect(await cli('get', 'app:1:counter')).toBe('41');
      expect(await cli('incr', 'app:1:counter')).toBe('42');
      expect(await cache.get('counter')).toBe(42);
      expect(await cache.incr('counter', 8)).toBe(50);
      await raw.set('app:1:external', '-7');
      expect(await cache.decr('external', 3)).toBe(-10);
    });
  });

  describe('binary safety', () => {
    it('Buffers round-trip byte for byte, small and larger than a socket read', async () => {
      const every = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
      const large = randomBytes(512 * 1024);
      await cache.set('every', every);
      await cache.setMany({ large, also: every });
      expect(await cache.get('every')).toEqual(every);
      const found = await cache.getMany<Buffer>(['large', 'also']);
      expect(found.get('large')!.equals(large)).toBe(true);
      expect(found.get('also')).toEqual(every);
    });

    it('binary serializers round-trip', async () => {
      for (const serializer of ['v8', 'msgpack'] as const) {
        const c = makeRedisCache({ location, keyPrefix: `bin-${serializer}`, serializer });
        const value = { when: new Date(0), map: new Map([[1, 'é']]), big: 2n ** 70n };
        await c.set('v', value);
        expect(await c.get('v')).toEqual(value);
        await c.close();
      }
    });
  });

  describe('incr', () => {
    it('keeps the TTL, and a persistent entry stays persistent', async () => {
      await cache.set('ttl', 1, 100);
      await cache.incr('ttl');
      expect(Number(await cli('pttl', 'app:1:ttl'))).toBeGreaterThan(98_000);
      await cache.set('forever', 1, null);
      await cache.incr('forever');
      expect(await cli('pttl', 'app:1:forever')).toBe('-1');
    });

    it('does not create a missing key, and refuses text that is not an integer', async () => {
      await expect(cache.incr('absent')).rejects.toMatchObject({ code: 'ERR_CACHE_KEY_NOT_FOUND' });
      expect(await raw.exists('app:1:absent')).toBe(0);
      await raw.set('app:1:padded', '007');
      await expect(cache.incr('padded')).rejects.toMatchObject({ code: 'ERR_CACHE_INVALID_VALUE' });
      await cache.set('text', 'abc');
      await expect(cache.incr('text')).rejects.toMatchObject({ code: 'ERR_CACHE_INVALID_VALUE' });
      await raw.set('app:1:huge', '99999999999999999999');
      await expect(cache.incr('huge')).rejects.toMatchObject({ code: 'ERR_CACHE_INVALID_VALUE' });
      await cache.set('edge', Number.MAX_SAFE_INTEGER);
      await expect(cache.incr('edge')).rejects.toMatchObject({ code: 'ERR_CACHE_INVALID_VALUE' });
      expect(await cache.get('edge')).toBe(Number.MAX_SAFE_INTEGER);
    });

    it('works after the server lost its script cache', async () => {
      await cache.set('after-flush', 1);
      await raw.sendCommand(['SCRIPT', 'FLUSH']);
      expect(await cache.incr('after-flush')).toBe(2);
    });
  });

  describe('expiry commands', () => {
    it('touch with no timeout persists; touch of an absent key is false', async () => {
      await cache.set('t', 1, 100);
      expect(await cache.touch('t', null)).toBe(true);
      expect(await cli('pttl', 'app:1:t')).toBe('-1');
      expect(await cache.touch('t', null)).toBe(true);
      expect(await cache.touch('nothing', null)).toBe(false);
      expect(await cache.touch('nothing', 10)).toBe(false);
    });

    it('ttl reads PTTL', async () => {
      await cache.set('p', 1, 10);
      const left = await cache.ttl('p');
      expect(left).toBeGreaterThan(9.5);
      expect(left).toBeLessThanOrEqual(10);
    });
  });

  describe('the PX of a write', () => {
    it("follows each write's own timeout, the same one repeated or not", async () => {
      for (const [key, seconds] of [
        ['a', 100],
        ['b', 100],
        ['c', 20],
        ['d', 100],
        ['e', 5],
      ] as const) {
        await cache.set(`px:${key}`, 1, seconds);
        const pttl = Number(await cli('pttl', `app:1:px:${key}`));
        // Wide margins for a loaded machine; a wrong PX would be another of these timeouts.
        expect(pttl).toBeGreaterThan(seconds * 600);
        expect(pttl).toBeLessThanOrEqual(seconds * 1000);
      }
    });

    it('setThen sends the lifetime it is given as PX, reading no clock', async () => {
      // A clock 30 s behind: set() counts from it, setThen() does not read it at all.
      let reads = 0;
      const store = await openStore('px', () => {
        reads++;
        return Date.now() - 30_000;
      });
      try {
        const next = { value: () => 'stored', error: (error: unknown) => error };
        expect(await store.setThen('px:ttl', 'x', 60_000, next)).toBe('stored');
        expect(await store.setThen('px:forever', 'x', null, next)).toBe('stored');
        expect(reads).toBe(0);
        const ttl = Number(await cli('pttl', 'px:ttl'));
        expect(ttl).toBeGreaterThan(45_000);
        expect(ttl).toBeLessThanOrEqual(60_000);
        expect(Number(await cli('pttl', 'px:forever'))).toBe(-1);
        // set() takes an absolute expiry on the store's clock: 60 s from a clock 30 s behind.
        await store.set('px:absolute', 'x', Date.now() + 30_000);
        expect(reads).toBe(1);
        const absolute = Number(await cli('pttl', 'px:absolute'));
        expect(absolute).toBeGreaterThan(45_000);
        expect(absolute).toBeLessThanOrEqual(60_000);
      } finally {
        await store.deleteMany(['px:ttl', 'px:forever', 'px:absolute']);
        await store.close();
      }
    });
  });

  describe('move (proposed for an atomic incrVersion)', () => {
    it('moves the value with its remaining TTL in one script', async () => {
      const store = await openStore('move');
      try {
        await store.set('mv:a', Buffer.from([0, 255]), Date.now() + 50_000);
        expect(await store.move('mv:a', 'mv:b')).toBe(true);
        expect(await store.get('mv:a')).toBeUndefined();
        expect(await store.get('mv:b')).toEqual(Buffer.from([0, 255]));
        expect(Number(await cli('pttl', 'mv:b'))).toBeGreaterThan(49_000);
        await store.set('mv:c', 'x', null);
        expect(await store.move('mv:c', 'mv:d')).toBe(true);
        expect(await store.expiry('mv:d')).toBeNull();
        expect(await store.move('mv:absent', 'mv:e')).toBe(false);
        expect(await store.has('mv:e')).toBe(false);
      } finally {
        await store.deleteMany(['mv:b', 'mv:d']);
        await store.close();
      }
    });
  });

  describe('keys and deletePattern', () => {
    it('match characters, not bytes, and treat glob characters in the prefix literally', async () => {
      const c = makeRedisCache({ location, keyPrefix: 'we*ird[' });
      const decoy = makeRedisCache({ location, keyPrefix: 'weXird[' });
      await c.setMany({ é1: 1, e1: 1, ée1: 1, 'x:1': 1 });
      await decoy.set('e1', 1);
      const seen: string[] = [];
      for await (const key of c.keys('?1')) seen.push(key);
      expect(seen.sort()).toEqual(['e1', 'é1']);
      expect(await c.deletePattern('[é]*')).toBe(2);
      expect(await decoy.get('e1')).toBe(1);
      await c.clear();
      await decoy.clear();
      await c.close();
      await decoy.close();
    });
  });
});
