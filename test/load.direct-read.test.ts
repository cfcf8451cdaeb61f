/**
 * The direct read of `getOrSet` and `getOrSetWithSource` on a sync store, with an options object
 * too: a fresh hit is served at once, options are still validated, anything else takes the full
 * path (misses, stale windows, versions).
 */
import { afterEach, describe, expect, it } from 'vitest';

import type { Cache } from '../src/core/cache.js';
import { InvalidValueError } from '../src/core/errors.js';
import { createCache } from '../src/core/registry.js';
import { freshLocation } from './fixtures/resilience-helpers.js';

const caches: Cache[] = [];
afterEach(async () => {
  await Promise.all(caches.splice(0).map((cache) => cache.close()));
});

function memory(serialize = true): Cache {
  const cache = createCache({
    backend: 'memory',
    location: freshLocation(),
    options: { serialize },
  });
  caches.push(cache);
  return cache;
}

describe('getOrSetWithSource and getOrSet with options on a sync store', () => {
  for (const serialize of [true, false]) {
    it(`a fresh hit is a hit whatever the load options say (serialize: ${serialize})`, async () => {
      const cache = memory(serialize);
      await cache.set('k', { n: 1 });
      const loader = () => ({ n: 2 });
      const opts = { timeout: 60, lock: true, staleWhileRevalidate: 30, staleIfError: 30 };
      expect(await cache.getOrSetWithSource('k', loader, opts)).toEqual({
        value: { n: 1 },
        source: 'hit',
      });
      expect(await cache.getOrSetWithSource('k', loader)).toEqual({
        value: { n: 1 },
        source: 'hit',
      });
      expect(await cache.getOrSet('k', loader, opts)).toEqual({ n: 1 });
      expect(cache.stats().hits).toBe(3);
      expect(cache.stats().loads).toBe(0);
    });
  }

  it('invalid options are refused on a hit too', async () => {
    const cache = memory();
    await cache.set('k', 1);
    await expect(cache.getOrSetWithSource('k', () => 2, { jitter: 2 })).rejects.toBeInstanceOf(
      InvalidValueError,
    );
    await expect(cache.getOrSet('k', () => 2, { jitter: 2 })).rejects.toBeInstanceOf(
      InvalidValueError,
    );
  });

  it('reads the version the options name', async () => {
    const cache = memory();
    await cache.set('k', 'v3', { version: 3 });
    expect(await cache.getOrSetWithSource('k', () => 'loaded', { version: 3 })).toEqual({
      value: 'v3',
      source: 'hit',
    });
    expect(await cache.getOrSetWithSource('k', () => 'loaded', { version: 4 })).toEqual({
      value: 'loaded',
      source: 'loaded',
    });
    expect(await cache.get('k', { version: 4 })).toBe('loaded');
  });

  it('a miss loads once and stores, then hits', async () => {
    const cache = memory();
    let calls = 0;
    const loader = () => ++calls;
    expect(await cache.getOrSetWithSource('k', loader, { timeout: 60 })).toEqual({
      value: 1,
      source: 'loaded',
    });
    expect(await cache.getOrSetWithSource('k', loader, { timeout: 60 })).toEqual({
      value: 1,
      source: 'hit',
    });
    expect(calls).toBe(1);
  });
});
