import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../src/config/resolve.js';
import type { CacheConfig } from '../src/config/types.js';
import { Cache } from '../src/core/cache.js';
import type { CacheEventBase } from '../src/core/events.js';
import { createCache } from '../src/core/registry.js';

/** A clock the test moves by hand (milliseconds). */
class FakeClock {
  ms = 1_700_000_000_000;
  readonly now = (): number => this.ms;
  advance(seconds: number): void {
    this.ms += seconds * 1000;
  }
}

/** A memory cache on a fresh location (or the one given), on `clock` if given. */
function memoryCache(config: Partial<CacheConfig> = {}, clock?: FakeClock): Cache {
  const resolved = resolveConfig(
    { backend: 'memory', location: `memory-test-${randomUUID()}`, ...config },
    'mem',
  );
  return new Cache(resolved, clock ? { now: clock.now } : {});
}

/** How many entries the store holds, expired ones included (the raw client's size). */
function rawSize(cache: Cache): number {
  const client = cache.connection() as { size: number };
  expect(typeof client.size).toBe('number');
  return client.size;
}

async function present(cache: Cache, keys: string[]): Promise<string[]> {
  const flags = await Promise.all(keys.map((key) => cache.has(key)));
  return keys.filter((_, index) => flags[index]);
}

describe('LRU bound: maxEntries', () => {
  it('evicts the least recently used entry, not the oldest written', async () => {
    const cache = memoryCache({ options: { maxEntries: 3 } });
    await cache.set('a', 1);
    await cache.set('b', 2);
    await cache.set('c', 3);
    expect(await cache.get('a')).toBe(1); // a is now the most recently used
    await cache.set('d', 4);
    expect(await present(cache, ['a', 'b', 'c', 'd'])).toEqual(['a', 'c', 'd']);
    expect(rawSize(cache)).toBe(3);
  });

  it('keeps exactly maxEntries entries, evicting one at a time', async () => {
    const cache = memoryCache({ options: { maxEntries: 5 } });
    for (let i = 0; i < 12; i++) await cache.set(`k${i}`, i);
    expect(rawSize(cache)).toBe(5);
    expect(await present(cache, ['k6', 'k7', 'k8', 'k9', 'k10', 'k11'])).toEqual([
      'k7',
      'k8',
      'k9',
      'k10',
      'k11',
    ]);
  });

  it('an overwrite counts as a use', async () => {
    const cache = memoryCache({ options: { maxEntries: 3 } });
    await cache.set('a', 1);
    await cache.set('b', 2);
    await cache.set('c', 3);
    await cache.set('a', 10);
    await cache.set('d', 4);
    expect(await present(cache, ['a', 'b', 'c', 'd'])).toEqual(['a', 'c', 'd']);
    expect(await cache.get('a')).toBe(10);
  });

  it('strict LRU order: an entry read after another was written outlives it', async () => {
    const cache = memoryCache({ options: { maxEntries: 4 } });
    for (const key of ['a', 'b', 'c', 'd']) await cache.set(key, key);
    expect(await cache.get('c')).toBe('c'); // use order now: a, b, d, c
    await cache.set('e', 'e'); // evicts a
    await cache.set('f', 'f'); // evicts b
    await cache.set('g', 'g'); // evicts d, the least recently used; c was read after d was set
    expect(await present(cache, ['a', 'b', 'c', 'd', 'e', 'f', 'g'])).toEqual(['c', 'e', 'f', 'g']);
  });

  it('with maxEntries 2, reading the older entry protects it from the next eviction', async () => {
    const cache = memoryCache({ options: { maxEntries: 2 } });
    await cache.set('a', 1);
    await cache.set('b', 2);
    expect(await cache.get('a')).toBe(1); // b is now the least recently used
    await cache.set('c', 3);
    expect(await present(cache, ['a', 'b', 'c'])).toEqual(['a', 'c']);
  });

  it('getOrSet hits and getMany reads count as uses', async () => {
    const cache = memoryCache({ options: { maxEntries: 3 } });
    await cache.set('a', 1);
    await cache.set('b', 2);
    await cache.set('c', 3);
    expect(await cache.getOrSet('a', () => 99)).toBe(1); // use order: b, c, a
    await cache.set('d', 4); // evicts b
    expect(await present(cache, ['a', 'b', 'c', 'd'])).toEqual(['a', 'c', 'd']);
    expect((await cache.getMany(['c'])).get('c')).toBe(3); // use order: a, d, c
    await cache.set('e', 5); // evicts a
    expect(await present(cache, ['a', 'c', 'd', 'e'])).toEqual(['c', 'd', 'e']);
  });

  it('the bound is per location, shared by every cache on it', async () => {
    const location = `memory-shared-bound-${randomUUID()}`;
    const one = memoryCache({ location, keyPrefix: 'one', options: { maxEntries: 2 } });
    const two = memoryCache({ location, keyPrefix: 'two', options: { maxEntries: 2 } });
    await one.set('a', 1);
    await two.set('a', 2);
    await two.set('b', 3);
    expect(await one.has('a')).toBe(false);
    expect(rawSize(one)).toBe(2);
  });
});

describe('byte bound: maxSize', () => {
  // Each entry: the made key ':1:kN' (5 bytes) + the JSON of a 40-character string (42 bytes).
  const value = (ch: string): string => ch.repeat(40);

  it('keeps the entries within maxSize bytes, evicting the least recently used', async () => {
    const cache = memoryCache({ options: { maxSize: 100 } });
    await cache.set('k1', value('a'));
    await cache.set('k2', value('b'));
    expect(await present(cache, ['k1', 'k2'])).toEqual(['k1', 'k2']);
    await cache.set('k3', value('c'));
    expect(await present(cache, ['k1', 'k2', 'k3'])).toEqual(['k2', 'k3']);
    expect(await cache.get('k2')).toBe(value('b'));
    await cache.set('k4', value('d'));
    expect(await present(cache, ['k2', 'k3', 'k4'])).toEqual(['k2', 'k4']);
  });

  it('small entries are not limited by maxSize while they fit', async () => {
    const cache = memoryCache({ options: { maxSize: 10_000 } });
    for (let i = 0; i < 50; i++) await cache.set(`k${i}`, i);
    expect(rawSize(cache)).toBe(50);
  });

  it('an entry larger than maxSize on its own is refused: setMany reports it', async () => {
    const cache = memoryCache({ options: { maxSize: 100 } });
    const failed = await cache.setMany({ small: 'x', big: 'y'.repeat(200) });
    expect(failed).toEqual(['big']);
    expect(await cache.get('small')).toBe('x');
    expect(await cache.has('big')).toBe(false);
  });

  it('an oversized value never leaves the previous value readable', async () => {
    const cache = memoryCache({ options: { maxSize: 100 } });
    await cache.set('k', 'old');
    await cache.set('k', 'z'.repeat(500)).catch(() => undefined);
    expect(await cache.get('k')).not.toBe('old');
  });

  it('an incr that grows a number keeps the byte bound', async () => {
    const cache = memoryCache({ options: { maxSize: 30 } });
    await cache.set('n', 9);
    await cache.set('pad', 'p'.repeat(10));
    await cache.incr('n', 999_999_999);
    expect(await cache.get('n')).toBe(1_000_000_008);
  });
});

describe('locations', () => {
  it('caches with the same location share entries', async () => {
    const location = `memory-shared-${randomUUID()}`;
    const one = createCache({ backend: 'memory', location });
    const two = createCache({ backend: 'memory', location });
    await one.set('k', { v: 1 });
    expect(await two.get('k')).toEqual({ v: 1 });
    await two.delete('k');
    expect(await one.has('k')).toBe(false);
  });

  it('caches with different locations do not', async () => {
    const one = createCache({ backend: 'memory', location: `memory-a-${randomUUID()}` });
    const two = createCache({ backend: 'memory', location: `memory-b-${randomUUID()}` });
    await one.set('k', 1);
    expect(await two.has('k')).toBe(false);
    await two.clear();
    expect(await one.get('k')).toBe(1);
  });

  it('the same location through a URL and an object is one store', async () => {
    const location = `memory-url-${randomUUID()}`;
    const one = createCache(`memory://${location}`);
    const two = createCache({ backend: 'memory', location });
    await one.set('k', 'url');
    expect(await two.get('k')).toBe('url');
  });

  it('closing one cache does not affect another on the same location, nor its own entries', async () => {
    const location = `memory-close-${randomUUID()}`;
    const one = createCache({ backend: 'memory', location });
    const two = createCache({ backend: 'memory', location });
    await one.set('k', 1);
    await two.set('j', 2);
    await one.close();
    expect(await two.get('k')).toBe(1);
    await two.set('l', 3);
    expect(await one.get('l')).toBe(3);
    expect(await one.get('k')).toBe(1);
    expect(two.getSync('j')).toBe(2);
  });

  it('clear() with a prefix leaves other prefixes on the location alone', async () => {
    const location = `memory-clear-${randomUUID()}`;
    const one = createCache({ backend: 'memory', location, keyPrefix: 'one' });
    const two = createCache({ backend: 'memory', location, keyPrefix: 'two' });
    await one.set('k', 1);
    await two.set('k', 2);
    await one.clear();
    expect(await one.has('k')).toBe(false);
    expect(await two.get('k')).toBe(2);
  });
});

describe('serialize: false', () => {
  it('stores references: a mutation after set is visible (the documented trade-off)', async () => {
    const cache = memoryCache({ options: { serialize: false } });
    const value = { list: [1] };
    await cache.set('k', value);
    value.list.push(2);
    const got = await cache.get<{ list: number[] }>('k');
    expect(got).toBe(value);
    expect(got!.list).toEqual([1, 2]);
    expect(cache.getSync('k')).toBe(value);
  });

  it('keeps values JSON could not write (functions, class instances)', async () => {
    const cache = memoryCache({ options: { serialize: false } });
    const fn = () => 42;
    const date = new Date(0);
    await cache.set('fn', fn);
    await cache.set('date', date);
    expect(await cache.get('fn')).toBe(fn);
    expect(await cache.get('date')).toBe(date);
  });

  it('still enforces expiry on the injected clock', async () => {
    const clock = new FakeClock();
    const cache = memoryCache({ options: { serialize: false } }, clock);
    await cache.set('k', { a: 1 }, 10);
    clock.advance(9.999);
    expect(await cache.has('k')).toBe(true);
    clock.advance(0.001);
    expect(await cache.get('k')).toBeUndefined();
    expect(await cache.has('k')).toBe(false);
  });

  it('incr works on stored numbers', async () => {
    const cache = memoryCache({ options: { serialize: false } });
    await cache.set('n', 41);
    expect(await cache.incr('n')).toBe(42);
    expect(await cache.get('n')).toBe(42);
  });
});

describe('expiry on the injected clock', () => {
  it('an entry is live until its timeout has fully passed, then absent', async () => {
    const clock = new FakeClock();
    const cache = memoryCache({}, clock);
    await cache.set('k', 'v', 10);
    expect(await cache.ttl('k')).toBe(10);
    clock.advance(4);
    expect(await cache.ttl('k')).toBe(6);
    clock.advance(5.999);
    expect(await cache.get('k')).toBe('v');
    clock.advance(0.001);
    expect(await cache.get('k')).toBeUndefined();
    expect(await cache.ttl('k')).toBeUndefined();
    expect(cache.hasSync('k')).toBe(false);
  });

  it('the default timeout is 300 s; a configured one is used', async () => {
    const clock = new FakeClock();
    const byDefault = memoryCache({}, clock);
    const configured = memoryCache({ timeout: '1m' }, clock);
    await byDefault.set('k', 1);
    await configured.set('k', 1);
    clock.advance(60);
    expect(await configured.has('k')).toBe(false);
    expect(await byDefault.has('k')).toBe(true);
    clock.advance(240);
    expect(await byDefault.has('k')).toBe(false);
  });

  it('null never expires, even after 100 years', async () => {
    const clock = new FakeClock();
    const cache = memoryCache({}, clock);
    await cache.set('k', 1, null);
    clock.advance(100 * 365 * 86_400);
    expect(await cache.get('k')).toBe(1);
    expect(await cache.ttl('k')).toBeNull();
  });

  it('touch restarts the timeout from now; incr keeps it', async () => {
    const clock = new FakeClock();
    const cache = memoryCache({}, clock);
    await cache.set('k', 1, 10);
    clock.advance(8);
    expect(await cache.touch('k', 10)).toBe(true);
    clock.advance(8);
    expect(await cache.incr('k')).toBe(2);
    expect(await cache.ttl('k')).toBe(2);
    clock.advance(2);
    expect(await cache.has('k')).toBe(false);
  });

  it('an expired key can be added again', async () => {
    const clock = new FakeClock();
    const cache = memoryCache({}, clock);
    await cache.set('k', 'old', 1);
    clock.advance(1);
    expect(await cache.add('k', 'new')).toBe(true);
    expect(await cache.get('k')).toBe('new');
  });

  it('caches on one location each use their own clock for their reads', async () => {
    const location = `memory-clocks-${randomUUID()}`;
    const early = new FakeClock();
    const late = new FakeClock();
    late.advance(100);
    const writer = memoryCache({ location }, early);
    const reader = memoryCache({ location }, late);
    await writer.set('k', 1, 50);
    expect(await writer.has('k')).toBe(true);
    expect(await reader.has('k')).toBe(false);
  });
});

describe('expired entries are swept on writes', () => {
  it('expired entries do not keep their slots: writes remove them', async () => {
    const clock = new FakeClock();
    const cache = memoryCache({ options: { maxEntries: 20 } }, clock);
    for (let i = 0; i < 10; i++) await cache.set(`old${i}`, i, 1);
    clock.advance(2);
    // Nothing read them since they expired: they are still in the store.
    expect(rawSize(cache)).toBe(10);
    for (let i = 0; i < 10; i++) await cache.set(`new${i}`, i, 60);
    expect(rawSize(cache)).toBe(10);
    expect(
      await present(
        cache,
        Array.from({ length: 10 }, (_, i) => `new${i}`),
      ),
    ).toHaveLength(10);
  });

  it('live entries are never evicted to make room while expired ones remain', async () => {
    const clock = new FakeClock();
    const cache = memoryCache({ options: { maxEntries: 10 } }, clock);
    await cache.set('keeper', 'k', null);
    for (let i = 0; i < 9; i++) await cache.set(`old${i}`, i, 1);
    clock.advance(2);
    for (let i = 0; i < 9; i++) await cache.set(`new${i}`, i, 60);
    expect(await cache.get('keeper')).toBe('k');
    expect(
      await present(
        cache,
        Array.from({ length: 9 }, (_, i) => `new${i}`),
      ),
    ).toHaveLength(9);
  });

  it('setMany and add sweep too', async () => {
    const clock = new FakeClock();
    const cache = memoryCache({ options: { maxEntries: 50 } }, clock);
    for (let i = 0; i < 4; i++) await cache.set(`old${i}`, i, 1);
    clock.advance(2);
    await cache.setMany({ a: 1 });
    await cache.add('b', 2);
    await cache.setMany({ c: 3 });
    await cache.add('d', 4);
    expect(rawSize(cache)).toBe(4);
  });
});

describe('events', () => {
  it('hit, miss, set and delete carry the caller’s key and the made key', async () => {
    const cache = memoryCache({ keyPrefix: 'ev' });
    const events: Array<[string, CacheEventBase]> = [];
    for (const name of ['hit', 'miss', 'set', 'delete'] as const) {
      cache.on(name, (payload) => events.push([name, payload]));
    }
    await cache.get('k');
    await cache.set('k', 1);
    await cache.get('k');
    await cache.delete('k');
    await cache.delete('k'); // nothing removed: no event
    expect(events).toEqual([
      ['miss', { key: 'k', madeKey: 'ev:1:k' }],
      ['set', { key: 'k', madeKey: 'ev:1:k' }],
      ['hit', { key: 'k', madeKey: 'ev:1:k' }],
      ['delete', { key: 'k', madeKey: 'ev:1:k' }],
    ]);
  });

  it('payloads use the made key of the version asked for', async () => {
    const cache = memoryCache({ keyPrefix: 'ev' });
    const sets: CacheEventBase[] = [];
    cache.on('set', (payload) => sets.push(payload));
    await cache.set('k', 1, { version: 3 });
    expect(sets).toEqual([{ key: 'k', madeKey: 'ev:3:k' }]);
  });

  it('add emits set only when it stored; getOrSet emits miss then set, then hit', async () => {
    const cache = memoryCache();
    const names: string[] = [];
    for (const name of ['hit', 'miss', 'set'] as const) cache.on(name, () => names.push(name));
    expect(await cache.add('a', 1)).toBe(true);
    expect(await cache.add('a', 2)).toBe(false);
    await cache.getOrSet('g', () => 1);
    await cache.getOrSet('g', () => 2);
    expect(names).toEqual(['set', 'miss', 'set', 'hit']);
  });

  it('getMany and setMany emit per key; sync twins emit like the async API', async () => {
    const cache = memoryCache();
    const seen: string[] = [];
    for (const name of ['hit', 'miss', 'set', 'delete'] as const) {
      cache.on(name, (payload) => seen.push(`${name}:${payload.key}`));
    }
    await cache.setMany({ a: 1, b: 2 });
    await cache.getMany(['a', 'x', 'b']);
    cache.setSync('s', 1);
    cache.getSync('s');
    cache.getSync('nope');
    cache.deleteSync('s');
    expect(seen).toEqual([
      'set:a',
      'set:b',
      'hit:a',
      'miss:x',
      'hit:b',
      'set:s',
      'hit:s',
      'miss:nope',
      'delete:s',
    ]);
  });

  it('off removes a listener; on and off chain', async () => {
    const cache = memoryCache();
    const seen: string[] = [];
    const listener = (payload: CacheEventBase) => seen.push(payload.key);
    expect(cache.on('set', listener)).toBe(cache);
    await cache.set('one', 1);
    expect(cache.off('set', listener)).toBe(cache);
    await cache.set('two', 2);
    expect(seen).toEqual(['one']);
  });

  it('off of the hit listener stops hit events (the hot path too)', async () => {
    const cache = memoryCache();
    let hits = 0;
    const listener = () => hits++;
    await cache.set('k', 1);
    cache.on('hit', listener);
    await cache.get('k');
    cache.off('hit', listener);
    await cache.get('k');
    cache.getSync('k');
    expect(hits).toBe(1);
    expect(cache.stats().hits).toBe(3);
  });

  it('a throwing listener does not fail the operation, and other listeners still run', async () => {
    const cache = memoryCache();
    const seen: string[] = [];
    cache.on('set', () => {
      throw new Error('listener bug');
    });
    cache.on('set', (payload) => seen.push(payload.key));
    cache.on('hit', () => {
      throw new Error('listener bug');
    });
    cache.on('miss', () => {
      throw new Error('listener bug');
    });
    await expect(cache.set('k', 1)).resolves.toBeUndefined();
    expect(await cache.get('k')).toBe(1);
    expect(await cache.get('nope', { default: 'd' })).toBe('d');
    expect(cache.getSync('k')).toBe(1);
    expect(seen).toEqual(['k']);
  });
});

describe('stats', () => {
  it('starts at zero with a hitRate of 0', () => {
    expect(memoryCache().stats()).toEqual({
      hits: 0,
      misses: 0,
      sets: 0,
      deletes: 0,
      errors: 0,
      hitRate: 0,
      circuit: 'closed',
      errorsByOperation: {},
      staleServed: { revalidate: 0, error: 0, 'soft-timeout': 0 },
      loads: 0,
      loadFailures: 0,
      lockWaits: 0,
      l1Hits: 0,
      l2Hits: 0,
    });
  });

  it('counts hits, misses, sets and deletes; hitRate = hits / (hits + misses)', async () => {
    const cache = memoryCache();
    await cache.set('a', 1);
    await cache.set('b', 2);
    await cache.get('a');
    await cache.get('a');
    await cache.get('b');
    await cache.get('x');
    await cache.delete('a');
    await cache.delete('a');
    expect(cache.stats()).toEqual({
      hits: 3,
      misses: 1,
      sets: 2,
      deletes: 1,
      errors: 0,
      hitRate: 0.75,
      circuit: 'closed',
      errorsByOperation: {},
      staleServed: { revalidate: 0, error: 0, 'soft-timeout': 0 },
      loads: 0,
      loadFailures: 0,
      lockWaits: 0,
      l1Hits: 0,
      l2Hits: 0,
    });
  });

  it('getMany counts per key, getOrSet counts its lookup, deleteMany its removals', async () => {
    const cache = memoryCache();
    await cache.setMany({ a: 1, b: 2, c: 3 });
    await cache.getMany(['a', 'b', 'x', 'y']);
    await cache.getOrSet('a', () => 0);
    await cache.getOrSet('new', () => 0);
    expect(await cache.deleteMany(['a', 'b', 'zz'])).toBe(2);
    expect(cache.stats()).toMatchObject({ hits: 3, misses: 3, sets: 4, deletes: 2 });
    expect(cache.stats().hitRate).toBe(0.5);
  });

  it('has, ttl and keys are not lookups', async () => {
    const cache = memoryCache();
    await cache.set('a', 1);
    await cache.has('a');
    await cache.has('x');
    await cache.ttl('a');
    for await (const _key of cache.keys()) {
      // iterate
    }
    expect(cache.stats()).toMatchObject({ hits: 0, misses: 0, hitRate: 0 });
  });

  it('stats are per cache object, even on one location', async () => {
    const location = `memory-stats-${randomUUID()}`;
    const one = memoryCache({ location });
    const two = memoryCache({ location });
    await one.set('k', 1);
    await two.get('k');
    expect(one.stats()).toMatchObject({ sets: 1, hits: 0 });
    expect(two.stats()).toMatchObject({ sets: 0, hits: 1 });
  });
});

describe('namespace views', () => {
  it('share their parent’s stats and listeners', async () => {
    const cache = memoryCache({ keyPrefix: 'p' });
    const view = cache.namespace('users');
    const nested = view.namespace('admins');
    const seen: CacheEventBase[] = [];
    cache.on('set', (payload) => seen.push(payload));
    await view.set('k', 1);
    await nested.set('k', 2);
    await view.get('k');
    await nested.get('missing');
    expect(seen).toEqual([
      { key: 'k', madeKey: 'p:1:users:k' },
      { key: 'k', madeKey: 'p:1:users:admins:k' },
    ]);
    for (const target of [cache, view, nested]) {
      expect(target.stats()).toMatchObject({ sets: 2, hits: 1, misses: 1, hitRate: 0.5 });
    }
  });

  it('a listener added on a view hears the parent', async () => {
    const cache = memoryCache();
    const view = cache.namespace('v');
    const keys: string[] = [];
    view.on('set', (payload) => keys.push(payload.key));
    await cache.set('top', 1);
    expect(keys).toEqual(['top']);
  });
});
