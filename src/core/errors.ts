/**
 * Every error skycache throws on purpose. Each class carries a stable `code` that callers can
 * switch on; messages are for humans and may change.
 */

/** Stable error codes, one per error class. */
export type CacheErrorCode =
  | 'ERR_CACHE'
  | 'ERR_CACHE_CONFIG'
  | 'ERR_CACHE_INVALID_KEY'
  | 'ERR_CACHE_INVALID_VALUE'
  | 'ERR_CACHE_KEY_NOT_FOUND'
  | 'ERR_CACHE_SERIALIZATION'
  | 'ERR_CACHE_BACKEND'
  | 'ERR_CACHE_UNSUPPORTED'
  | 'ERR_CACHE_LOADER_TIMEOUT'
  | 'ERR_CACHE_LOCK_TIMEOUT';

/** Base class of every skycache error. */
export class CacheError extends Error {
  readonly code: CacheErrorCode = 'ERR_CACHE';

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Bad configuration or an unknown alias. The message names the alias and the field. */
export class ConfigError extends CacheError {
  override readonly code = 'ERR_CACHE_CONFIG';
}

/** A key that is not a non-empty string, or a made key longer than `maxKeyLength` bytes. */
export class InvalidKeyError extends CacheError {
  override readonly code = 'ERR_CACHE_INVALID_KEY';
}

/** `undefined` as a value, a non-integer under `incr`, or a bad duration passed to a call. */
export class InvalidValueError extends CacheError {
  override readonly code = 'ERR_CACHE_INVALID_VALUE';
}

/** `incr`/`decr`/`incrVersion`/`decrVersion` on an absent key. */
export class KeyNotFoundError extends CacheError {
  override readonly code = 'ERR_CACHE_KEY_NOT_FOUND';
}

/** The serializer cannot write the value (BigInt or cycles under JSON, functions, …). */
export class SerializationError extends CacheError {
  override readonly code = 'ERR_CACHE_SERIALIZATION';
}

/** The store failed or is unreachable; `cause` holds the driver's error. */
export class BackendError extends CacheError {
  override readonly code = 'ERR_CACHE_BACKEND';
}

/** A `…Sync` call on a backend that only works asynchronously (redis, postgres). */
export class UnsupportedOperationError extends CacheError {
  override readonly code = 'ERR_CACHE_UNSUPPORTED';
}

/** A `getOrSet` loader exceeded its `hardTimeout`. */
export class LoaderTimeoutError extends CacheError {
  override readonly code = 'ERR_CACHE_LOADER_TIMEOUT';
}

/** `lock()` could not acquire the lock within `wait`. */
export class LockTimeoutError extends CacheError {
  override readonly code = 'ERR_CACHE_LOCK_TIMEOUT';
}

/**
 * Wraps whatever a store threw into a {@link BackendError}, leaving skycache's own errors (a
 * `KeyNotFoundError` from `incr`, say) untouched so their codes survive.
 */
export function toBackendError(error: unknown, operation: string): CacheError {
  if (error instanceof CacheError) return error;
  const reason = error instanceof Error ? error.message : String(error);
  return new BackendError(`${operation} failed: ${reason}`, { cause: error });
}
