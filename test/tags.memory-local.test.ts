/**
 * A memory store skips the tag check on reads until a tagged entry is written to it; the flag is
 * shared by every cache on the location, so a cache that never wrote tags still never revives an
 * entry another cache tagged and invalidated.
 */
import { afterEach, describe, expect, it } from 'vitest';

import type { Cache } from '../src/core/cache.js';
import { createCache } from '../src/core/registry.js';
import { freshLocation } from './fixtures/resilience-helpers.js';

const caches: Cache[] = [];
afterEach(async () => {
  await Promise.all(caches.splice(0).map((cache) => cache.close()));
});

function memory(location: string, serialize: boolean): Cache {
  const cache = createCache({ backend: 'memory', location, options: { serialize } });
  caches.push(cache);
  return cache;
}

describe('memory: tag checks shared by the caches on one location', () => {
  for (const serialize of [true, false]) {
    it(`a cache that never wrote tags sees another's invalidation (serialize: ${serialize})`, async () => {
      const location = freshLocation();
      const reader = memory(location, serialize);
      const writer = memory(location, serialize);
      await reader.set('plain', { n: 0 });
      expect(await reader.get('plain')).toEqual({ n: 0 });
      expect(reader.getSync('plain')).toEqual({ n: 0 });

      await writer.set('t', { n: 1 }, { tags: ['x'] });
      expect(await reader.get('t')).toEqual({ n: 1 });
      expect(reader.getSync('t')).toEqual({ n: 1 });
      await writer.deleteByTag('x');
      expect(await reader.get('t')).toBeUndefined();
      expect(reader.getSync('t')).toBeUndefined();
      expect(await reader.getOrSet('t', () => ({ n: 2 }))).toEqual({ n: 2 });
      expect(await reader.get('plain')).toEqual({ n: 0 });
    });
  }

  it('a fresh cache on a location already holding tagged entries checks them', async () => {
    const location = freshLocation();
    const first = memory(location, false);
    await first.set('t', 'v', { tags: ['y'] });
    await first.deleteByTag('y');
    const later = memory(location, false);
    expect(await later.get('t')).toBeUndefined();
    expect(later.getSync('t')).toBeUndefined();
  });
});
