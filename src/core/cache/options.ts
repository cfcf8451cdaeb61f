/**
 * The option shapes of the Cache API and their parsing, shared by the facade and the programs.
 */
import type { Timeout } from '../duration.js';
import { InvalidKeyError, InvalidValueError } from '../errors.js';
import type { LoadOptions } from '../load/options.js';
import type { FailureTarget } from './view.js';

/** Options of `get`. */
export interface GetOptions<T> {
  /** Returned on a miss instead of `undefined`. */
  default?: T;
  /** Key version; default the cache's `version`. */
  version?: number;
}

/** Options of calls that only address a key. */
export interface VersionOptions {
  /** Key version; default the cache's `version`. */
  version?: number;
}

/** Options of storing calls: a timeout (seconds, `'5m'`, `null` = forever, `0` = do not keep) or an object. */
export type StoreOptions =
  Timeout | { timeout?: Timeout; version?: number; tags?: readonly string[] };

/** Options of `getOrSet`: a timeout, or `{ timeout?, version?, ...resilience options }`. */
export type GetOrSetOptions =
  Timeout | ({ timeout?: Timeout; version?: number; tags?: readonly string[] } & LoadOptions);

/** A loader for `getOrSet`, or the value itself. */
export type ValueOrLoader<T> = T | (() => T | Promise<T>);

/** What `setMany` accepts. */
export type SetManyEntries =
  Map<string, unknown> | Record<string, unknown> | Iterable<readonly [string, unknown]>;

export function isOptionsObject(opts: unknown): opts is { timeout?: Timeout; version?: number } {
  return opts !== null && typeof opts === 'object';
}

const NO_STORE_OPTIONS = Object.freeze({ timeout: undefined, version: undefined });

/** A storing call's timeout and version. */
export function parseStoreOptions(opts: StoreOptions | GetOrSetOptions | undefined): {
  readonly timeout: Timeout | undefined;
  readonly version: number | undefined;
} {
  if (opts === undefined) return NO_STORE_OPTIONS;
  if (isOptionsObject(opts)) return { timeout: opts.timeout, version: opts.version };
  return { timeout: opts, version: undefined };
}

/** The key and version a single-key call addressed, for failure reports. */
export function targetOf(
  key: string,
  opts: StoreOptions | VersionOptions | undefined,
): FailureTarget {
  return { key, version: isOptionsObject(opts) ? opts.version : undefined };
}

/** The target of a keyed call from its arguments `[key, …, opts]`. */
export function targetOfArgs(args: readonly unknown[]): FailureTarget {
  return targetOf(args[0] as string, args[args.length - 1] as VersionOptions | undefined);
}

/** The caller keys of `setMany` entries (its fail-open result: none stored). */
export function keysOf(entries: unknown): string[] {
  return toEntries(entries).map(([key]) => key);
}

export function toArray<T>(items: Iterable<T>, what: string): T[] {
  if (
    typeof items === 'string' ||
    items === null ||
    typeof (items as Iterable<T> | undefined)?.[Symbol.iterator] !== 'function'
  ) {
    throw new InvalidKeyError(
      `${what} must be an iterable of keys (an array, a Set…), got ${typeof items}`,
    );
  }
  return Array.isArray(items) ? items : [...items];
}

export function toEntries(entries: unknown): Array<[string, unknown]> {
  if (entries instanceof Map) return [...(entries as Map<string, unknown>).entries()];
  if (
    entries !== null &&
    typeof entries === 'object' &&
    typeof (entries as Iterable<unknown>)[Symbol.iterator] === 'function'
  ) {
    return [...(entries as Iterable<unknown>)].map((pair) => {
      if (!Array.isArray(pair) || pair.length !== 2) {
        throw new InvalidValueError('setMany entries must be [key, value] pairs');
      }
      return pair as [string, unknown];
    });
  }
  if (entries !== null && typeof entries === 'object') return Object.entries(entries);
  throw new InvalidValueError(
    `setMany takes a Map, a Record or an iterable of [key, value] pairs, got ${typeof entries}`,
  );
}
