/**
 * The registry of named caches: Django's `settings.CACHES` / `caches[alias]`, plus a lazy default
 * `cache` that can be imported before anything is configured.
 */
import { resolveConfig } from '../config/resolve.js';
import type { CacheConfigInput } from '../config/types.js';
import { Cache } from './cache.js';
import { ConfigError } from './errors.js';
import { stderrLogger } from './logger.js';

let registry: Map<string, Cache> | undefined;

/**
 * The cache configs the environment describes: `CACHE_URL` for `default`, `CACHE_<ALIAS>_URL` for
 * other aliases (lower-cased); `memory://default` when nothing is set.
 */
export function configFromEnvironment(
  env: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  const config: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (!value) continue;
    if (name === 'CACHE_URL') config.default = value;
    else {
      const match = /^CACHE_(.+)_URL$/.exec(name);
      if (match) config[match[1]!.toLowerCase()] = value;
    }
  }
  config.default ??= 'memory://default';
  return config;
}

/** Makes a standalone cache, not registered anywhere. @throws ConfigError */
export function createCache(config: CacheConfigInput, alias = 'default'): Cache {
  return new Cache(resolveConfig(config, alias));
}

/**
 * Configures the named caches, replacing (and closing) any configured before. With no argument,
 * reads the environment (see {@link configFromEnvironment}). A config that throws `ConfigError`
 * leaves the previous caches in place.
 */
export function initCaches(config?: Record<string, CacheConfigInput>): void {
  const source = config ?? configFromEnvironment();
  if (source === null || typeof source !== 'object')
    throw new ConfigError('initCaches expects an object of aliases');
  const next = new Map<string, Cache>();
  for (const [alias, entry] of Object.entries(source)) next.set(alias, createCache(entry, alias));
  const previous = registry;
  registry = next;
  if (previous) void closeAll(previous);
}

async function closeAll(caches: Map<string, Cache>): Promise<void> {
  const results = await Promise.allSettled([...caches.values()].map((cache) => cache.close()));
  for (const result of results) {
    if (result.status === 'rejected')
      stderrLogger.warn({ err: result.reason }, 'closing a replaced cache failed');
  }
}

function current(): Map<string, Cache> {
  if (!registry) initCaches();
  return registry!;
}

/** The configured caches by alias. */
export const caches = {
  /** The cache registered as `alias` (the same instance every time). @throws ConfigError listing the known aliases */
  get(alias = 'default'): Cache {
    const found = current().get(alias);
    if (!found) {
      throw new ConfigError(
        `no cache with alias "${alias}"; configured: ${[...current().keys()].join(', ') || 'none'}`,
      );
    }
    return found;
  },
  /** Whether `alias` is configured. */
  has(alias: string): boolean {
    return current().has(alias);
  },
  /** The configured aliases, in configuration order. */
  aliases(): string[] {
    return [...current().keys()];
  },
  /**
   * The raw client behind `alias`: the `@redis/client` client, the `pg.Pool`, the better-sqlite3
   * `Database`, the memory backend's `LRUCache`, … An escape hatch: it bypasses key making.
   */
  connection(alias = 'default'): unknown {
    return caches.get(alias).connection();
  },
};

/** Closes every configured cache. The registry keeps them: a later operation reopens. */
export async function closeCaches(): Promise<void> {
  if (registry) await closeAll(registry);
}

/**
 * The default cache, usable before `initCaches` runs (the registry then initialises itself from the
 * environment). Every access goes to `caches.get('default')`, so it follows `initCaches` calls.
 */
export const cache: Cache = new Proxy({} as Cache, {
  get(_target, property) {
    const target = caches.get('default');
    const value: unknown = Reflect.get(target, property, target);
    return typeof value === 'function'
      ? (value as (...args: unknown[]) => unknown).bind(target)
      : value;
  },
  has: (_target, property) => Reflect.has(caches.get('default'), property),
  getPrototypeOf: () => Cache.prototype,
});
