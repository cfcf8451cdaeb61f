/**
 * Memoization: `cached(fn, options)` and the `@cached(options)` method decorator (TypeScript's
 * standard decorators). Results go through `getOrSet`, so concurrent calls with the same
 * arguments share one call of `fn`, and every `getOrSet` option applies.
 *
 * Key format: `[keyPrefix:]name:` + canonical JSON of the arguments (object keys sorted), with the
 * JSON part replaced by its SHA-256 hex when the key would be longer than 200 characters. The
 * cache's own prefix and version apply on top, as for any key.
 */
import { createHash } from 'node:crypto';
import type { Cache } from './cache.js';
import type { GetOrSetOptions } from './cache/options.js';
import type { Timeout } from './duration.js';
import { ConfigError, InvalidValueError } from './errors.js';
import type { LoadOptions } from './load/options.js';
import { caches } from './registry.js';

/** Options of `cached` and `@cached`. */
export interface CachedOptions<A extends unknown[] = unknown[]> extends LoadOptions {
  /** A name replacing the function's name, or a function of the arguments returning the whole key. */
  key?: string | ((...args: A) => string);
  /** Put before the name: `${keyPrefix}:${name}:…`. */
  keyPrefix?: string;
  /** How long results are kept (seconds, a duration string, `null` = forever). Default: the cache's. */
  timeout?: Timeout;
  /** Key version. Default: the cache's. */
  version?: number;
  /** The registry alias of the cache to use. Default `'default'`. Looked up at each call. */
  alias?: string;
  /** The cache to use, instead of an alias. */
  cache?: Cache;
}

/** Keys longer than this get their argument part hashed. */
const MAX_PLAIN_KEY = 200;

/** JSON with object keys sorted, so equal arguments make equal keys whatever their key order. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) => {
    if (typeof item === 'bigint') return `${item}n`;
    if (item instanceof Map) return { $map: [...item.entries()] };
    if (item instanceof Set) return { $set: [...item.values()] };
    if (typeof item === 'function' || typeof item === 'symbol') {
      throw new InvalidValueError(
        `cached: a ${typeof item} argument cannot be part of a cache key; give a key function`,
      );
    }
    if (
      item !== null &&
      typeof item === 'object' &&
      !Array.isArray(item) &&
      !(item instanceof Date)
    ) {
      const sorted: Record<string, unknown> = {};
      for (const name of Object.keys(item).sort())
        sorted[name] = (item as Record<string, unknown>)[name];
      return sorted;
    }
    return item;
  });
}

function makeKeyBuilder<A extends unknown[]>(
  name: string | undefined,
  options: CachedOptions<A>,
): (args: A) => string {
  const { key, keyPrefix } = options;
  if (typeof key === 'function') return (args) => key(...args);
  const base = typeof key === 'string' ? key : name;
  if (!base) throw new ConfigError('cached: an anonymous function needs a `key` option');
  const head = `${keyPrefix ? `${keyPrefix}:` : ''}${base}:`;
  return (args) => {
    const json = canonicalJson(args);
    return head.length + json.length > MAX_PLAIN_KEY
      ? head + createHash('sha256').update(json).digest('hex')
      : head + json;
  };
}

function wrap<A extends unknown[], R>(
  fn: (this: unknown, ...args: A) => R,
  name: () => string | undefined,
  options: CachedOptions<A>,
): (this: unknown, ...args: A) => Promise<Awaited<R>> {
  const { key: _key, keyPrefix: _prefix, alias, cache, timeout, version, ...load } = options;
  let buildKey: ((args: A) => string) | undefined;
  const getOrSetOptions: GetOrSetOptions = { timeout, version, ...load };
  return async function (this: unknown, ...args: A): Promise<Awaited<R>> {
    buildKey ??= makeKeyBuilder(name(), options);
    const target = cache ?? caches.get(alias ?? 'default');
    return target.getOrSet<Awaited<R>>(
      buildKey(args),
      () => fn.apply(this, args) as Awaited<R> | Promise<Awaited<R>>,
      getOrSetOptions,
    );
  };
}

/** Memoizes `fn` in a cache; see {@link CachedOptions} for the key format. */
export function cached<A extends unknown[], R>(
  fn: (...args: A) => R,
  options?: CachedOptions<A>,
): (...args: A) => Promise<Awaited<R>>;
/** The same, as a standard method decorator: `@cached({ timeout: '1m' })`. The name is `Class.method`. */
export function cached<A extends unknown[], R>(
  options?: CachedOptions<A>,
): (
  method: (...args: A) => R,
  context: ClassMethodDecoratorContext,
) => (...args: A) => Promise<Awaited<R>>;
export function cached<A extends unknown[], R>(
  fnOrOptions?: ((...args: A) => R) | CachedOptions<A>,
  maybeOptions?: CachedOptions<A>,
): unknown {
  if (typeof fnOrOptions === 'function') {
    const fn = fnOrOptions;
    if (
      !fn.name &&
      typeof maybeOptions?.key !== 'string' &&
      typeof maybeOptions?.key !== 'function'
    ) {
      throw new ConfigError('cached: an anonymous function needs a `key` option');
    }
    return wrap(fn, () => fn.name, maybeOptions ?? {});
  }
  const options = fnOrOptions ?? {};
  return (method: (...args: A) => R, context: ClassMethodDecoratorContext) => {
    let className: string | undefined;
    context.addInitializer(function (this: unknown) {
      className ??= context.static
        ? (this as { name?: string }).name
        : (this as { constructor?: { name?: string } }).constructor?.name;
    });
    const methodName = String(context.name);
    return wrap(method, () => (className ? `${className}.${methodName}` : methodName), options);
  };
}
