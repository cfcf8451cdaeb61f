import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { CacheConfig } from '../src/config/types.js';
import { MapStore } from './fixtures/custom-backend.js';

type Registry = typeof import('../src/core/registry.js');
type CacheModule = typeof import('../src/core/cache.js');

/** A fresh module graph: a registry nobody has initialised yet, and its own Cache class. */
async function fresh(): Promise<Registry & { Cache: CacheModule['Cache'] }> {
  vi.resetModules();
  const registry = await import('../src/core/registry.js');
  const { Cache } = await import('../src/core/cache.js');
  return { ...registry, Cache };
}

/** The error thrown by `fn`, or fails. */
function thrownBy(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the call to throw');
}

/** A config whose stores record being closed. */
function closingBackend(): { config: CacheConfig; stores: MapStore[] } {
  const stores: MapStore[] = [];
  return {
    stores,
    config: {
      backend: (context) => {
        const store = new MapStore(context.now);
        stores.push(store);
        return store;
      },
    },
  };
}

const memory = (): string => `memory://registry-${randomUUID()}`;

// The environment: CACHE_* variables are removed for each test and restored afterwards.
let savedEnv: Record<string, string | undefined> = {};
beforeEach(() => {
  savedEnv = {};
  for (const name of Object.keys(process.env)) {
    if (/^CACHE_/.test(name)) {
      savedEnv[name] = process.env[name];
      delete process.env[name];
    }
  }
});
afterEach(() => {
  for (const name of Object.keys(process.env)) if (/^CACHE_/.test(name)) delete process.env[name];
  Object.assign(process.env, savedEnv);
});

describe('initCaches and caches', () => {
  it('accepts object, URL and upper-case configs side by side', async () => {
    const { initCaches, caches } = await fresh();
    initCaches({
      default: { backend: 'memory', location: randomUUID(), keyPrefix: 'obj' },
      sessions: `${memory()}?keyPrefix=sess&timeout=1h`,
      legacy: { BACKEND: 'django.core.cache.backends.locmem.LocMemCache', KEY_PREFIX: 'old' },
      off: 'dummy://',
    });
    expect(caches.aliases()).toEqual(['default', 'sessions', 'legacy', 'off']);
    expect(caches.get().keyPrefix).toBe('obj');
    expect(caches.get('sessions')).toMatchObject({ keyPrefix: 'sess', defaultTimeout: 3600 });
    expect(caches.get('legacy')).toMatchObject({ backend: 'memory', keyPrefix: 'old' });
    expect(caches.get('off').backend).toBe('dummy');
    expect(caches.get('sessions').alias).toBe('sessions');
    expect(caches.has('sessions')).toBe(true);
    expect(caches.has('nope')).toBe(false);
  });

  it('caches.get returns the same instance every time; default alias is "default"', async () => {
    const { initCaches, caches } = await fresh();
    initCaches({ default: memory(), other: memory() });
    expect(caches.get('other')).toBe(caches.get('other'));
    expect(caches.get()).toBe(caches.get('default'));
    expect(caches.get()).not.toBe(caches.get('other'));
  });

  it('an unknown alias is a ConfigError listing the known aliases', async () => {
    const { initCaches, caches } = await fresh();
    initCaches({ default: memory(), sessions: memory() });
    const error = thrownBy(() => caches.get('sesions'));
    expect(error).toMatchObject({ code: 'ERR_CACHE_CONFIG', name: 'ConfigError' });
    expect(error.message).toContain('sesions');
    expect(error.message).toContain('default');
    expect(error.message).toContain('sessions');
  });

  it('an invalid entry is a ConfigError naming its alias', async () => {
    const { initCaches } = await fresh();
    const error = thrownBy(() =>
      initCaches({ default: memory(), broken: { backend: 'memory', version: 1.5 } }),
    );
    expect(error).toMatchObject({ code: 'ERR_CACHE_CONFIG' });
    expect(error.message).toContain('broken');
  });

  it('caches.connection() returns the raw client of the store, shared per memory location', async () => {
    const { initCaches, caches } = await fresh();
    const location = randomUUID();
    initCaches({
      default: { backend: 'memory', location },
      same: { backend: 'memory', location, keyPrefix: 'p' },
      other: memory(),
    });
    const client = caches.connection() as { size: number };
    expect(client).toBeTypeOf('object');
    expect(client).toBe(caches.connection('default'));
    expect(caches.connection('same')).toBe(client);
    expect(caches.connection('other')).not.toBe(client);
    const before = client.size;
    await caches.get().set('a', 1);
    await caches.get('same').set('a', 1);
    expect(client.size).toBe(before + 2);
  });

  it('caches.connection() of a custom backend is its client', async () => {
    const { initCaches, caches } = await fresh();
    const { config, stores } = closingBackend();
    initCaches({ default: config });
    const client = caches.connection();
    expect(stores).toHaveLength(1);
    expect(client).toBe(stores[0]!.client);
  });

  it('caches.connection() of an unknown alias is a ConfigError', async () => {
    const { initCaches, caches } = await fresh();
    initCaches({ default: memory() });
    expect(thrownBy(() => caches.connection('x'))).toMatchObject({ code: 'ERR_CACHE_CONFIG' });
  });
});

describe('initCaches() from the environment', () => {
  it('with nothing set, default is memory://default', async () => {
    const { initCaches, caches, configFromEnvironment } = await fresh();
    expect(configFromEnvironment({})).toEqual({ default: 'memory://default' });
    initCaches();
    expect(caches.aliases()).toEqual(['default']);
    expect(caches.get()).toMatchObject({ backend: 'memory', keyPrefix: '' });
  });

  it('reads CACHE_URL for default and CACHE_<ALIAS>_URL for other aliases, lower-cased', async () => {
    process.env.CACHE_URL = `${memory()}?keyPrefix=envd`;
    process.env.CACHE_SESSIONS_URL = 'dummy://';
    process.env.CACHE_RATE_LIMITS_URL = `${memory()}?keyPrefix=rl`;
    const { initCaches, caches } = await fresh();
    initCaches();
    expect(caches.aliases().sort()).toEqual(['default', 'rate_limits', 'sessions']);
    expect(caches.get().keyPrefix).toBe('envd');
    expect(caches.get('sessions').backend).toBe('dummy');
    expect(caches.get('rate_limits').keyPrefix).toBe('rl');
  });

  it('without CACHE_URL but with an alias, default is still memory://default', async () => {
    process.env.CACHE_SESSIONS_URL = 'dummy://';
    const { initCaches, caches } = await fresh();
    initCaches();
    expect(caches.aliases().sort()).toEqual(['default', 'sessions']);
    expect(caches.get().backend).toBe('memory');
  });

  it('an empty CACHE_URL counts as unset', async () => {
    process.env.CACHE_URL = '';
    const { initCaches, caches } = await fresh();
    initCaches();
    expect(caches.get().backend).toBe('memory');
  });

  it('an invalid CACHE_<ALIAS>_URL is a ConfigError naming the alias', async () => {
    process.env.CACHE_BROKEN_URL = 'memory://x?bogus=1';
    const { initCaches } = await fresh();
    const error = thrownBy(() => initCaches());
    expect(error).toMatchObject({ code: 'ERR_CACHE_CONFIG' });
    expect(error.message).toContain('broken');
  });

  it('configFromEnvironment ignores variables that are not CACHE_*_URL', async () => {
    const { configFromEnvironment } = await fresh();
    expect(
      configFromEnvironment({ CACHE_URL: 'dummy://', CACHE_TIMEOUT: '5', MY_CACHE_URL: 'x' }),
    ).toEqual({ default: 'dummy://' });
  });
});

describe('replacing caches', () => {
  it('a second initCaches replaces the caches and closes the previous ones', async () => {
    const { initCaches, caches } = await fresh();
    const { config, stores } = closingBackend();
    initCaches({ default: config, keep: memory() });
    const first = caches.get();
    await first.set('a', 1);
    expect(stores).toHaveLength(1);

    initCaches({ default: memory() });
    expect(caches.get()).not.toBe(first);
    expect(caches.get().backend).toBe('memory');
    expect(caches.has('keep')).toBe(false);
    await vi.waitFor(() => expect(stores[0]!.closed).toBe(1));
  });

  it('a call that throws ConfigError leaves the previous caches untouched', async () => {
    const { initCaches, caches } = await fresh();
    const { config, stores } = closingBackend();
    initCaches({ default: config, sessions: memory() });
    const before = caches.get();
    const sessions = caches.get('sessions');
    await before.set('a', 1);

    expect(() =>
      initCaches({ default: memory(), bad: { backend: 'memory', timeout: '5 minutes' } }),
    ).toThrow(/bad/);
    expect(caches.get()).toBe(before);
    expect(caches.get('sessions')).toBe(sessions);
    expect(caches.has('bad')).toBe(false);
    expect(caches.aliases()).toEqual(['default', 'sessions']);
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(stores[0]!.closed).toBe(0);
    expect(await before.get('a')).toBe(1);
  });

  it('closeCaches closes every cache; a later operation reopens it', async () => {
    const { initCaches, caches, closeCaches } = await fresh();
    const { config, stores } = closingBackend();
    initCaches({ default: config });
    const cache = caches.get();
    await cache.set('a', 1);
    await closeCaches();
    expect(stores[0]!.closed).toBe(1);
    // The registry keeps the cache object; it opens a new store on the next operation.
    expect(caches.get()).toBe(cache);
    await cache.set('b', 2);
    expect(stores).toHaveLength(2);
    expect(await cache.get('b')).toBe(2);
  });

  it('closeCaches before any initCaches resolves', async () => {
    const { closeCaches } = await fresh();
    await expect(closeCaches()).resolves.toBeUndefined();
  });
});

describe('the lazy `cache`', () => {
  it('works before any initCaches: the registry initialises from the environment', async () => {
    process.env.CACHE_URL = `${memory()}?keyPrefix=lazy`;
    const { cache, caches } = await fresh();
    await cache.set('k', 'v');
    expect(await cache.get('k')).toBe('v');
    expect(cache.keyPrefix).toBe('lazy');
    expect(cache.makeKey('k')).toBe('lazy:1:k');
    expect(caches.aliases()).toEqual(['default']);
    expect(await caches.get().get('k')).toBe('v');
  });

  it('with nothing configured at all, is memory://default', async () => {
    const { cache } = await fresh();
    expect(cache.backend).toBe('memory');
    expect(cache.alias).toBe('default');
    await cache.set('k', 1);
    expect(await cache.incr('k')).toBe(2);
  });

  it('caches.get before initCaches initialises the registry too', async () => {
    process.env.CACHE_SESSIONS_URL = 'dummy://';
    const { caches } = await fresh();
    expect(caches.get('sessions').backend).toBe('dummy');
  });

  it('follows later initCaches calls', async () => {
    const { cache, initCaches, caches } = await fresh();
    initCaches({ default: `${memory()}?keyPrefix=one` });
    expect(cache.keyPrefix).toBe('one');
    await cache.set('k', 1);
    initCaches({ default: 'dummy://' });
    expect(cache.backend).toBe('dummy');
    expect(await cache.get('k')).toBeUndefined();
    expect(cache.alias).toBe(caches.get().alias);
  });

  it('is an instance of Cache, and its methods keep `this`', async () => {
    const { cache, Cache, initCaches } = await fresh();
    initCaches({ default: memory() });
    expect(cache instanceof Cache).toBe(true);
    const { set, get } = cache;
    await set('detached', 5);
    expect(await get('detached')).toBe(5);
    expect('getOrSet' in cache).toBe(true);
  });

  it('events and namespaces work through the proxy', async () => {
    const { cache, initCaches, caches } = await fresh();
    initCaches({ default: memory() });
    const seen: string[] = [];
    cache.on('set', (event) => seen.push(event.key));
    await cache.namespace('ns').set('k', 1);
    expect(seen).toEqual(['k']);
    expect(await caches.get().get('ns:k')).toBe(1);
  });
});

describe('createCache', () => {
  it('names the cache "default" without an alias, and is not registered', async () => {
    const { createCache, initCaches, caches } = await fresh();
    initCaches({ default: memory() });
    const standalone = createCache(memory());
    expect(standalone.alias).toBe('default');
    expect(createCache(memory(), 'reports').alias).toBe('reports');
    expect(caches.get()).not.toBe(standalone);
    expect(caches.has('reports')).toBe(false);
  });

  it('puts the alias in configuration errors', async () => {
    const { createCache } = await fresh();
    expect(thrownBy(() => createCache({ backend: 'memory', version: 1.5 })).message).toContain(
      'default',
    );
    expect(
      thrownBy(() => createCache({ backend: 'memory', version: 1.5 }, 'reports')).message,
    ).toContain('reports');
  });
});
