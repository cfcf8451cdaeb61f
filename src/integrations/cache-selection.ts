/**
 * Which caches an operator integration (dashboard, metrics) looks at. Both take the same `caches`
 * option and resolve it each time they ask, so a later `initCaches` is followed.
 */
import type { Cache } from '../core/cache.js';
import { caches as registryCaches } from '../core/registry.js';

/**
 * Caches by alias (`{ default: cache }`), a list of caches and registry aliases, or (omitted)
 * every cache of the registry.
 */
export type CacheSelection = ReadonlyArray<Cache | string> | Readonly<Record<string, Cache>>;

/** A cache with the alias it is shown under. */
export interface NamedCache {
  readonly alias: string;
  readonly cache: Cache;
}

/** The caches `selection` points at, now. */
export function selectCaches(selection: CacheSelection | undefined): NamedCache[] {
  if (selection === undefined)
    return registryCaches.aliases().map((alias) => ({ alias, cache: registryCaches.get(alias) }));
  if (Array.isArray(selection)) {
    return (selection as ReadonlyArray<Cache | string>).map((entry) =>
      typeof entry === 'string'
        ? { alias: entry, cache: registryCaches.get(entry) }
        : { alias: entry.alias, cache: entry },
    );
  }
  return Object.entries(selection as Record<string, Cache>).map(([alias, cache]) => ({
    alias,
    cache,
  }));
}
