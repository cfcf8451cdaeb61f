/**
 * KeyvSkycache beyond the Keyv suite: TTL units, what `opts` tells Keyv, the three ways to name a
 * cache, namespace-only clear, error events and the failure values, and Redis outages.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Keyv, { type KeyvStoreAdapter } from 'keyv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../src/core/logger.js';
import { caches, closeCaches, createCache, initCaches } from '../src/core/registry.js';
import { KeyvSkycache, keyvTtlToTimeout } from '../src/integrations/keyv/index.js';
import { POSTGRES_URL } from './fixtures/postgres-helpers.js';
import {
  makeRedisCache,
  probeRedis,
  startRedisServer,
  type RedisServer,
} from './fixtures/redis-servers.js';
import { describeWithService } from './support/services.js';

const memoryCache = (timeout?: number | null) =>
  createCache({
    backend: 'memory',
    location: `keyv-store-${randomUUID()}`,
    ...(timeout !== undefined && { timeout }),
  });

describe('TTL units', () => {
  it('reads Keyv TTLs as milliseconds', async () => {
    const cache = memoryCache();
    const keyv = new Keyv({ store: new KeyvSkycache(cache) });
    await keyv.set('short', 'v', 15_000);
    const left = await cache.ttl('keyv:short');
    expect(left).toBeGreaterThan(10);
    expect(left).toBeLessThanOrEqual(15);
  });

  it("leaves the cache's default timeout in charge when Keyv passes no TTL (or 0)", async () => {
    const cache = memoryCache(120);
    const keyv = new Keyv({ store: new KeyvSkycache(cache) });
    await keyv.set('default', 'v');
    await keyv.set('zero', 'v', 0);
    for (const key of ['keyv:default', 'keyv:zero']) {
      const left = await cache.ttl(key);
      expect(left).toBeGreaterThan(119);
      expect(left).toBeLessThanOrEqual(120);
    }
    const forever = memoryCache(null);
    await new Keyv({ store: new KeyvSkycache(forever) }).set('k', 'v');
    expect(await forever.ttl('keyv:k')).toBeNull();
  });

  it('maps the edge values', () => {
    expect(keyvTtlToTimeout(undefined)).toBeUndefined();
    expect(keyvTtlToTimeout(0)).toBeUndefined();
    expect(keyvTtlToTimeout(250)).toBe(0.25);
    expect(keyvTtlToTimeout(Number.POSITIVE_INFINITY)).toBeNull();
    expect(keyvTtlToTimeout(Number.MAX_SAFE_INTEGER)).toBeNull();
    expect(keyvTtlToTimeout(365 * 24 * 3600 * 1000)).toBe(365 * 24 * 3600);
    expect(keyvTtlToTimeout(-5)).toBe(-0.005);
  });

  it('keeps nothing for a negative TTL', async () => {
    const cache = memoryCache();
    const store = new KeyvSkycache(cache);
    await cache.set('gone', 1);
    expect(await store.set('gone', 2, -1)).toBe(true);
    expect(await cache.has('gone')).toBe(false);
  });

  it('stores setMany entries with their own TTLs', async () => {
    const cache = memoryCache(300);
    const store = new KeyvSkycache(cache);
    await store.setMany([
      { key: 'a', value: 1, ttl: 2000 },
      { key: 'b', value: 2 },
      { key: 'c', value: 3, ttl: 2000 },
    ]);
    expect(await cache.ttl('a')).toBeLessThanOrEqual(2);
    expect(await cache.ttl('b')).toBeGreaterThan(299);
    expect(await store.getMany(['a', 'b', 'c', 'd'])).toEqual([1, 2, 3, undefined]);
  });
});

describe('opts for Keyv', () => {
  let directory: string;
  beforeAll(() => {
    directory = mkdtempSync(join(tmpdir(), 'skycache-keyv-opts-'));
  });
  afterAll(() => rmSync(directory, { recursive: true, force: true }));

  it('gives url and dialect for every backend, the password redacted', () => {
    const name = `opts-${randomUUID()}`;
    expect(new KeyvSkycache(createCache(`memory://${name}`)).opts).toMatchObject({
      url: `memory://${name}`,
      dialect: 'memory',
    });
    expect(new KeyvSkycache(createCache({ backend: 'disk', location: directory })).opts).toEqual({
      url: `disk://${directory}`,
      dialect: 'sqlite',
    });
    const redis = new KeyvSkycache(createCache('redis://:hunter2@127.0.0.1:6379/3'));
    expect(redis.opts.dialect).toBe('redis');
    expect(redis.opts.url).toMatch(/^redis:\/\/.*127\.0\.0\.1:6379\/3$/);
    expect(redis.opts.url).not.toContain('hunter2');
    expect(new KeyvSkycache(createCache(POSTGRES_URL)).opts.dialect).toBe('postgres');
  });

  it('lets Keyv wire its iterator where Keyv knows the dialect, without crashing where not', async () => {
    const disk = new Keyv({
      store: new KeyvSkycache(createCache({ backend: 'disk', location: directory })),
    });
    expect(typeof disk.iterator).toBe('function');
    const memory = new Keyv({ store: new KeyvSkycache(memoryCache()) });
    expect(memory.iterator).toBeUndefined();
  });

  it('is a KeyvStoreAdapter', () => {
    const adapter: KeyvStoreAdapter = new KeyvSkycache(memoryCache());
    expect(adapter.opts).toBeDefined();
  });
});

describe('naming the cache', () => {
  afterAll(closeCaches);

  it('takes a registry alias and follows a later initCaches', async () => {
    initCaches({ kv: `memory://first-${randomUUID()}` });
    const keyv = new Keyv({ store: new KeyvSkycache('kv') });
    await keyv.set('k', 'one');
    expect(await caches.get('kv').get('keyv:k')).toEqual(expect.any(String));
    initCaches({ kv: `memory://second-${randomUUID()}` });
    expect(await keyv.get('k')).toBeUndefined();
    await keyv.set('k', 'two');
    expect(await keyv.get('k')).toBe('two');
  });

  it('rejects an unknown alias at construction', () => {
    initCaches({ kv: 'memory://x' });
    expect(() => new KeyvSkycache('nope')).toThrow(
      expect.objectContaining({ code: 'ERR_CACHE_CONFIG' }),
    );
  });

  it('refuses a bad URL at construction instead of falling back to memory', () => {
    for (const url of ['bogus://x', 'memory://x?unknownOption=1']) {
      expect(() => new KeyvSkycache(url)).toThrow(
        expect.objectContaining({ code: 'ERR_CACHE_CONFIG' }),
      );
    }
  });

  it('takes a URL, with skycache query parameters', async () => {
    const store = new KeyvSkycache(`memory://url-${randomUUID()}?keyPrefix=app&timeout=90`);
    expect(store.cache.keyPrefix).toBe('app');
    await store.set('k', 'v');
    expect(await store.cache.ttl('k')).toBeGreaterThan(89);
    await store.disconnect();
  });
});

describe('clear', () => {
  it('removes only its Keyv namespace, even one with glob characters', async () => {
    const cache = memoryCache();
    const mine = new Keyv({ store: new KeyvSkycache(cache), namespace: 'a*[b]' });
    const theirs = new Keyv({ store: new KeyvSkycache(cache), namespace: 'a' });
    await mine.set('x', 1);
    await theirs.set('x', 2);
    await cache.set('a*[b]-not-keyv', 3);
    await mine.clear();
    expect(await mine.get('x')).toBeUndefined();
    expect(await theirs.get('x')).toBe(2);
    expect(await cache.get('a*[b]-not-keyv')).toBe(3);
  });

  it('clears the whole cache without a namespace, and nothing outside its keyPrefix', async () => {
    const location = `clear-${randomUUID()}`;
    const cache = createCache({ backend: 'memory', location, keyPrefix: 'mine' });
    const other = createCache({ backend: 'memory', location, keyPrefix: 'other' });
    const store = new KeyvSkycache(cache);
    await store.set('k', 1);
    await other.set('k', 2);
    await store.clear();
    expect(await store.get('k')).toBeUndefined();
    expect(await other.get('k')).toBe(2);
  });
});

describe('iterator', () => {
  it('reads in batches and yields every entry of the namespace', async () => {
    const cache = memoryCache();
    const store = new KeyvSkycache(cache, { iterationBatchSize: 2 });
    for (let i = 0; i < 5; i++) await store.set(`ns:${i}`, i);
    await store.set('elsewhere:1', 1);
    const seen = new Map<string, unknown>();
    for await (const [key, value] of store.iterator('ns')) seen.set(key, value);
    expect(seen).toEqual(new Map([0, 1, 2, 3, 4].map((i) => [`ns:${i}`, i])));
  });
});

/** A TCP server that accepts connections and never answers: a frozen Redis. */
async function silentServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

describe('failures', () => {
  let frozen: Awaited<ReturnType<typeof silentServer>>;
  beforeAll(async () => {
    frozen = await silentServer();
  });
  afterAll(() => frozen.close());

  const frozenCache = () =>
    makeRedisCache({
      location: `redis://127.0.0.1:${frozen.port}/0`,
      operationTimeout: '300ms',
      circuitBreaker: false,
    });

  it('emits one error per failed call through Keyv and resolves the miss values in time', async () => {
    const cache = frozenCache();
    const keyv = new Keyv({ store: new KeyvSkycache(cache) });
    const errors: unknown[] = [];
    keyv.on('error', (error) => errors.push(error));
    try {
      const started = performance.now();
      expect(await keyv.get('k')).toBeUndefined();
      expect(performance.now() - started).toBeLessThan(300 + 2000);
      expect(await keyv.set('k', 'v')).toBe(false);
      expect(await keyv.has('k')).toBe(false);
      expect(await keyv.delete('k')).toBe(false);
      expect(await keyv.get(['a', 'b'])).toEqual([undefined, undefined]);
      await keyv.clear();
      await keyv.setMany([{ key: 'a', value: 1, ttl: 1000 }]);
      expect(errors).toHaveLength(7);
      for (const error of errors) expect(error).toMatchObject({ code: 'ERR_CACHE_BACKEND' });
    } finally {
      await cache.close();
    }
  });

  it('rejects as well with throwOnErrors, and never throws an unheard error event', async () => {
    const cache = frozenCache();
    try {
      const loud = new KeyvSkycache(cache, { throwOnErrors: true });
      await expect(loud.get('k')).rejects.toMatchObject({ code: 'ERR_CACHE_BACKEND' });
      const bare = new KeyvSkycache(cache);
      expect(await bare.get('k')).toBeUndefined();
      const iterate = async () => {
        for await (const entry of bare.iterator()) void entry;
      };
      await expect(iterate()).rejects.toMatchObject({ code: 'ERR_CACHE_BACKEND' });
    } finally {
      await cache.close();
    }
  });

  it('reports an invalid key as an error event and a miss', async () => {
    const store = new KeyvSkycache(memoryCache());
    const errors: unknown[] = [];
    store.on('error', (error) => errors.push(error));
    expect(await store.get('')).toBeUndefined();
    expect(await store.set('', 1)).toBe(false);
    expect(errors).toEqual([
      expect.objectContaining({ code: 'ERR_CACHE_INVALID_KEY' }),
      expect.objectContaining({ code: 'ERR_CACHE_INVALID_KEY' }),
    ]);
  });
});

describeWithService('Redis', await probeRedis(), 'a Redis server that dies', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(() => server.dispose());

  it('serves, then resolves misses within operationTimeout while it is down, then serves again', async () => {
    const cache = makeRedisCache({
      location: `${server.url}/0`,
      operationTimeout: '300ms',
      circuitBreaker: false,
      logger: silentLogger,
    });
    const keyv = new Keyv({ store: new KeyvSkycache(cache) });
    keyv.on('error', () => {});
    try {
      await keyv.set('k', 'v');
      expect(await keyv.get('k')).toBe('v');
      await server.kill();
      const started = performance.now();
      expect(await keyv.get('k')).toBeUndefined();
      expect(performance.now() - started).toBeLessThan(300 + 2000);
      await server.start();
      await expect.poll(() => keyv.set('k', 'again'), { timeout: 10_000 }).toBe(true);
      expect(await keyv.get('k')).toBe('again');
    } finally {
      await cache.close();
    }
  });
});
