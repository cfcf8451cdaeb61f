/**
 * getOrSetWithSource (SPEC, "Load outcome"): every source, plus the `load` event and the stats
 * fields the metrics exporters read (RULES: "Contract the core re-cut provides").
 */
import { afterEach, describe, expect, it, vi } from 'vitest';

import { resolveConfig } from '../src/config/resolve.js';
import { Cache } from '../src/core/cache.js';
import type { CacheEvents } from '../src/core/events.js';
import { StoreStates } from '../src/core/load/in-flight.js';
import { createCache } from '../src/core/registry.js';
import { silentLogger } from '../src/core/logger.js';
import {
  cacheWithClock,
  deferred,
  faultyNetworkStore,
  freshLocation,
  liveClock,
  makeClock,
  sleep,
} from './fixtures/resilience-helpers.js';

const caches: Cache[] = [];
afterEach(async () => {
  await Promise.all(caches.splice(0).map((cache) => cache.close()));
});
function track(cache: Cache): Cache {
  caches.push(cache);
  return cache;
}

describe('getOrSetWithSource', () => {
  it("'hit': the value was in the cache", async () => {
    const cache = track(createCache({ backend: 'memory', location: freshLocation() }));
    await cache.set('k', 'stored');
    const loader = vi.fn(() => 'loaded');
    expect(await cache.getOrSetWithSource('k', loader)).toEqual({ value: 'stored', source: 'hit' });
    expect(loader).not.toHaveBeenCalled();
  });

  it("'loaded': this call ran the loader (and stored its value)", async () => {
    const cache = track(createCache({ backend: 'memory', location: freshLocation() }));
    expect(await cache.getOrSetWithSource('k', () => 'v')).toEqual({
      value: 'v',
      source: 'loaded',
    });
    expect(await cache.get('k')).toBe('v');
    // A loader result of undefined and a timeout of 0 are loads too, with nothing kept.
    expect(await cache.getOrSetWithSource('u', () => undefined)).toEqual({
      value: undefined,
      source: 'loaded',
    });
    expect(await cache.getOrSetWithSource('z', () => 'z', 0)).toEqual({
      value: 'z',
      source: 'loaded',
    });
  });

  it("'joined': concurrent callers in this process shared one load", async () => {
    const cache = track(createCache({ backend: 'memory', location: freshLocation() }));
    const gate = deferred<string>();
    const loader = vi.fn(() => gate.promise);
    const first = cache.getOrSetWithSource('k', loader);
    const second = cache.getOrSetWithSource('k', loader);
    gate.resolve('v');
    expect(await first).toEqual({ value: 'v', source: 'loaded' });
    expect(await second).toEqual({ value: 'v', source: 'joined' });
    expect(loader).toHaveBeenCalledTimes(1);
  });

  it("'joined': with lock, a waiter found the value the lock holder stored", async () => {
    const location = freshLocation();
    const clock = liveClock();
    // Separate in-flight directories: the two caches meet only through the store's lock.
    const config = resolveConfig({ backend: 'memory', location, logger: silentLogger }, 'a');
    const holder = track(new Cache(config, { now: clock.read, stores: new StoreStates() }));
    const waiter = track(new Cache(config, { now: clock.read, stores: new StoreStates() }));
    const gate = deferred<string>();
    const held = holder.getOrSetWithSource('k', () => gate.promise, { lock: true });
    await sleep(20);
    const waiting = waiter.getOrSetWithSource('k', () => 'second loader', { lock: true });
    await sleep(30);
    gate.resolve('first');
    expect(await held).toEqual({ value: 'first', source: 'loaded' });
    expect(await waiting).toEqual({ value: 'first', source: 'joined' });
    expect(waiter.stats().lockWaits).toBe(1);
    expect(waiter.stats().loads).toBe(0);
  });

  it("'stale': served from a stale-while-revalidate or stale-if-error window", async () => {
    const clock = makeClock();
    const cache = track(
      cacheWithClock({ backend: 'memory', location: freshLocation(), logger: silentLogger }, clock),
    );
    const opts = { timeout: 10, staleWhileRevalidate: 60 };
    await cache.getOrSet('swr', () => 'old', opts);
    clock.advance(15_000);
    expect(await cache.getOrSetWithSource('swr', () => 'new', opts)).toEqual({
      value: 'old',
      source: 'stale',
    });

    const errorOpts = { timeout: 10, staleIfError: 60 };
    await cache.getOrSet('sie', () => 'old', errorOpts);
    clock.advance(15_000);
    const outcome = await cache.getOrSetWithSource(
      'sie',
      () => Promise.reject(new Error('down')),
      errorOpts,
    );
    expect(outcome).toEqual({ value: 'old', source: 'stale' });
    await vi.waitFor(() =>
      expect(cache.stats().staleServed).toEqual({ revalidate: 1, error: 1, 'soft-timeout': 0 }),
    );
  });

  it("'fallback': the backend failed; the loader's value is returned unstored", async () => {
    const { factory, control } = faultyNetworkStore();
    const cache = track(createCache({ backend: factory, logger: silentLogger }));
    control.mode = 'throw';
    expect(await cache.getOrSetWithSource('k', () => 'v')).toEqual({
      value: 'v',
      source: 'fallback',
    });
    // A read that works and a write that fails: still the loader's value, unstored.
    control.mode = 'ok';
    control.methodModes.set('add', 'throw');
    expect(await cache.getOrSetWithSource('k2', () => 'v2')).toEqual({
      value: 'v2',
      source: 'fallback',
    });
    control.methodModes.clear();
    expect(await cache.has('k2')).toBe(false);
    expect(cache.stats().errorsByOperation.getOrSet).toBeGreaterThanOrEqual(2);
  });
});

describe('the load event and load counters', () => {
  it('is emitted once per loader call, with its duration in ms and whether it succeeded', async () => {
    const cache = track(createCache({ backend: 'memory', location: freshLocation() }));
    const loads: Array<CacheEvents['load']> = [];
    cache.on('load', (event) => loads.push(event));
    await Promise.all(
      Array.from({ length: 10 }, () =>
        cache.getOrSet('k', async () => {
          await sleep(20);
          return 1;
        }),
      ),
    );
    await expect(cache.getOrSet('bad', () => Promise.reject(new Error('no')))).rejects.toThrow(
      'no',
    );
    expect(cache.getOrSetSync('sync', () => 2)).toBe(2);
    expect(loads.map(({ key, ok }) => [key, ok])).toEqual([
      ['k', true],
      ['bad', false],
      ['sync', true],
    ]);
    expect(loads[0]!.madeKey).toBe(cache.makeKey('k'));
    expect(loads[0]!.durationMs).toBeGreaterThanOrEqual(15);
    expect(cache.stats()).toMatchObject({ loads: 3, loadFailures: 1 });
  });
});

describe('stats contract', () => {
  it("reports the circuit breaker's state", async () => {
    const { factory, control } = faultyNetworkStore();
    const clock = makeClock();
    const cache = track(
      cacheWithClock(
        { backend: factory, logger: silentLogger, circuitBreaker: { failures: 2, openFor: '1s' } },
        clock,
      ),
    );
    expect(cache.stats().circuit).toBe('closed');
    control.mode = 'throw';
    await expect(cache.get('a')).rejects.toThrow();
    await expect(cache.get('a')).rejects.toThrow();
    expect(cache.stats().circuit).toBe('open');
    clock.advance(1000);
    expect(cache.stats().circuit).toBe('half-open');
    control.mode = 'ok';
    await cache.get('a');
    expect(cache.stats().circuit).toBe('closed');
  });

  it('counts errors by operation, failOpen results included', async () => {
    const { factory, control } = faultyNetworkStore();
    const cache = track(createCache({ backend: factory, logger: silentLogger, failOpen: true }));
    control.mode = 'throw';
    expect(await cache.get('a')).toBeUndefined();
    expect(await cache.has('a')).toBe(false);
    expect(await cache.has('b')).toBe(false);
    expect(cache.stats()).toMatchObject({ errors: 3, errorsByOperation: { get: 1, has: 2 } });
  });

  it('batch deletes count exactly and emit one delete event each', async () => {
    const cache = track(
      createCache({ backend: 'memory', location: freshLocation(), keyPrefix: 'b' }),
    );
    const deletes: Array<CacheEvents['delete']> = [];
    cache.on('delete', (event) => deletes.push(event));
    await cache.setMany({ a: 1, b: 2, c: 3, d: 4, x1: 5, x2: 6 });
    expect(await cache.deleteMany(['a', 'b', 'zz'])).toBe(2);
    expect(await cache.deletePattern('x*')).toBe(2);
    expect(await cache.deleteMany(['nothing'])).toBe(0);
    expect(cache.stats().deletes).toBe(4);
    expect(deletes).toEqual([
      { key: 'a', madeKey: 'b:1:a', keys: ['a', 'b', 'zz'], count: 2 },
      { key: 'x*', madeKey: 'b:1:', count: 2 },
    ]);
  });
});
