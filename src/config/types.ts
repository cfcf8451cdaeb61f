/**
 * The configuration shapes users write, and the resolved form the Cache runs on.
 */
import type { Duration, Timeout } from '../core/duration.js';
import type { Logger } from '../core/logger.js';
import type { BackendFactory } from '../core/store.js';
import type { Serializer } from '../serializers/serializer.js';
import type { ResolvedBus, ResolvedL1 } from './tiers.js';

/** The in-process first tier of a cache on a shared store (README "Two tiers"). */
export interface L1Config {
  /** Most entries kept in this process. Default 10000. */
  maxEntries?: number;
  /** Most bytes (UTF-8 keys + payloads) kept in this process. Default: no byte limit. */
  maxSize?: number;
  /**
   * Longest an L2 value is kept in L1, in seconds or a duration string (`'30s'`); never longer
   * than the entry's own expiry. Bounds staleness when invalidations cannot arrive. Default 30 s.
   */
  timeout?: Duration;
}

/** Builds the stored key from the caller's key. Must be deterministic. */
export type KeyFunction = (key: string, keyPrefix: string, version: number) => string;

/** One cache, as written in `initCaches({...})` or `createCache(...)`. */
export interface CacheConfig {
  /**
   * `'memory' | 'disk' | 'redis' | 'postgres' | 'dummy'`, a module specifier with an optional
   * `#export` (`'my-pkg#MyBackend'`, loaded on first use), or a {@link BackendFactory}.
   */
  backend: 'memory' | 'disk' | 'redis' | 'postgres' | 'dummy' | (string & {}) | BackendFactory;
  /** memory: a name (same name = one shared store in the process); disk: a directory; redis/postgres: a URL. Default `''`. */
  location?: string;
  /** Default timeout of storing calls, in seconds or a duration string; `null` = forever. Default 300 (s). */
  timeout?: Timeout;
  /** Prepended to every key as `${keyPrefix}:${version}:${key}`. Default `''`. */
  keyPrefix?: string;
  /** Default key version, an integer. Default 1. */
  version?: number;
  /** Replaces the default key making; a function or a `'module#export'` specifier. */
  keyFunction?: KeyFunction | string;
  /** How values become bytes. Default `'json'`. */
  serializer?: 'json' | 'v8' | 'msgpack' | Serializer;
  /** Longest made key accepted, in UTF-8 bytes. Default 1024. */
  maxKeyLength?: number;
  /** Store `sha256(key)` (hex) instead of the key itself, keeping prefix and version. Default `false`. */
  hashKeys?: boolean;
  /** Where swallowed problems are reported; pino-compatible. Default: warnings to stderr. */
  logger?: Logger;
  /**
   * Network backends: an operation slower than this fails with `BackendError`. Seconds or a
   * duration string. Default 250 ms.
   */
  operationTimeout?: Duration;
  /**
   * After `failures` consecutive backend failures, operations fail fast with `BackendError` for
   * `openFor` (seconds or a duration string), then one trial operation decides. `false` turns it
   * off. Default `{ failures: 5, openFor: '5s' }` for redis and postgres, off for the others.
   */
  circuitBreaker?: { failures: number; openFor: Duration } | false;
  /**
   * On a backend failure, `get` returns the miss value, `has` `false`, writes and deletes resolve
   * as no-ops, and the failure is reported instead of thrown (`incr`, `decr`, `incrVersion`,
   * `decrVersion` still throw). Default `false`.
   */
  failOpen?: boolean;
  /**
   * An in-process first tier in front of a redis, postgres or disk store, or `false` (default).
   * URL form: `?l1MaxEntries=10000&l1MaxSize=67108864&l1Timeout=30s`.
   */
  l1?: L1Config | false;
  /**
   * Where invalidations travel between the L1s of all processes: a `redis://` or `postgres://`
   * URL, or `false` (staleness then bounded by `l1.timeout`). Default: the store's own server for
   * redis and postgres; none for disk. Only with `l1`.
   */
  bus?: string | false;
  /** Backend-specific options, documented per backend. */
  options?: Record<string, unknown>;
}

/**
 * The settings shape of the original Python framework (Django's `CACHES` entries), accepted as is:
 * `{ BACKEND: 'fastapp.cache.redis.RedisCache', LOCATION: 'redis://…', TIMEOUT: 300, … }`.
 */
export interface UpperCaseCacheSettings {
  BACKEND: string;
  LOCATION?: string;
  DIRECTORY?: string;
  TIMEOUT?: Timeout;
  KEY_PREFIX?: string;
  VERSION?: number;
  KEY_FUNCTION?: KeyFunction | string;
  OPTIONS?: Record<string, unknown>;
}

/** Anything accepted where a cache config is expected: an object, a URL string, or upper-case settings. */
export type CacheConfigInput = CacheConfig | UpperCaseCacheSettings | string;

/** A validated configuration. Timeouts are in milliseconds here. */
export interface ResolvedConfig {
  readonly alias: string;
  /** A built-in backend name, `'custom'` for factories and module specifiers. */
  readonly backendName: string;
  /** The factory, or a module specifier still to be imported. */
  readonly backend: BackendFactory | string;
  readonly location: string;
  /** The location with any password replaced by `***`, for messages and the CLI. */
  readonly redactedLocation: string;
  /** Default timeout in ms (`<= 0` = do not keep), or `null` for forever. */
  readonly defaultTimeoutMs: number | null;
  readonly keyPrefix: string;
  readonly version: number;
  readonly keyFunction: KeyFunction | string | undefined;
  readonly serializer: Serializer;
  readonly maxKeyLength: number;
  readonly hashKeys: boolean;
  readonly logger: Logger;
  /** Network backends' per-operation time limit, in ms. */
  readonly operationTimeoutMs: number;
  /** `undefined` when off. */
  readonly circuitBreaker: { readonly failures: number; readonly openForMs: number } | undefined;
  readonly failOpen: boolean;
  readonly options: Readonly<Record<string, unknown>>;
  /** The first tier; `undefined` without one. */
  readonly l1: ResolvedL1 | undefined;
  /** The invalidation bus; `undefined` without one. */
  readonly bus: ResolvedBus | undefined;
  /** Whether the backend is known to be synchronous before it is opened. */
  readonly sync: boolean;
}
