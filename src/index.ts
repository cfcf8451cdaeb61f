/**
 * skycache: one cache API over memory, disk (SQLite), Redis and PostgreSQL, with the semantics of
 * Django's cache framework.
 */
export { Cache } from './core/cache.js';
export type {
  GetOptions,
  GetOrSetOptions,
  SetManyEntries,
  StoreOptions,
  ValueOrLoader,
  VersionOptions,
} from './core/cache/options.js';
export type { LoadOutcome, LoadSource } from './core/load/decisions.js';
export type { LockOptions } from './core/coordination/run-once.js';
export { cached, canonicalJson } from './core/cached.js';
export type { CachedOptions } from './core/cached.js';
export { Lock } from './core/coordination/locks.js';
export { operationChannel } from './core/tracing.js';
export type { OperationTraceContext } from './core/tracing.js';
export type { LoadLockOptions, LoadOptions } from './core/load/options.js';
export {
  cache,
  caches,
  closeCaches,
  configFromEnvironment,
  createCache,
  initCaches,
} from './core/registry.js';
export {
  BackendError,
  CacheError,
  ConfigError,
  InvalidKeyError,
  InvalidValueError,
  KeyNotFoundError,
  LoaderTimeoutError,
  LockTimeoutError,
  SerializationError,
  UnsupportedOperationError,
} from './core/errors.js';
export type { CacheErrorCode } from './core/errors.js';
export type { Duration, Timeout } from './core/duration.js';
export type {
  CacheEventBase,
  CacheEventName,
  CacheEvents,
  CacheStats,
  CircuitState,
  DeleteEvent,
  LockAction,
  StaleReason,
} from './core/events.js';
export type { Logger } from './core/logger.js';
export type {
  BackendContext,
  BackendFactory,
  Continuation,
  KeyHint,
  KeyMatch,
  MaybePromise,
  Payload,
  Store,
  StoreCapabilities,
} from './core/store.js';
export type {
  CacheConfig,
  CacheConfigInput,
  KeyFunction,
  UpperCaseCacheSettings,
} from './config/types.js';
export type { Serializer } from './serializers/serializer.js';
export { parseGlob, makeKeyMatcher, escapeGlob } from './core/glob.js';
export type { GlobToken } from './core/glob.js';
