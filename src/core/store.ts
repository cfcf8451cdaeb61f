/**
 * The backend contract: the small interface every store implements.
 *
 * A store speaks only its own language. It receives *made* keys (prefix, version and hashing are
 * already applied), encoded payloads and absolute expiry times; it never sees user values, default
 * timeouts or versions. Every semantic rule (timeout 0, versions, `getOrSet`, events) lives once in
 * the core (docs/architecture.md). See docs/backends.md for the full guide to writing one.
 */
import type { Logger } from './logger.js';

/**
 * What the serializer produced. Text payloads (JSON, integers) are strings; binary ones are
 * Buffers. A store may hand back a Buffer holding the UTF-8 bytes of a string it was given, but
 * must return Buffers byte for byte.
 */
export type Payload = string | Buffer;

/** A value that is either ready now or later. Sync-capable stores always return it ready. */
export type MaybePromise<T> = T | Promise<T>;

/**
 * Which keys an operation covers: those that start with `prefix` (compared literally) and whose
 * remainder matches `pattern` (the glob dialect of `core/glob.ts`; `'*'` means "all of them").
 */
export interface KeyMatch {
  readonly prefix: string;
  readonly pattern: string;
}

/** A per-key object the Cache keeps between calls; see {@link Store.get}. */
export interface KeyHint {
  slot?: unknown;
}

/**
 * What becomes of a store call's answer, for a store that hands it on itself ({@link Store.getThen},
 * {@link Store.setThen}) instead of returning a promise of its own.
 */
export interface Continuation<R> {
  /** Called with the call's result; what it returns (or throws) settles the call. */
  value(result: unknown): R | PromiseLike<R>;
  /** Called with the call's failure instead; what it returns (or throws) settles the call. */
  error(error: unknown): R | PromiseLike<R>;
}

/** What a store can do beyond the required methods. */
export interface StoreCapabilities {
  /**
   * Every method returns its result synchronously (never a Promise), so the Cache can offer the
   * `…Sync` twins. Memory, dummy and disk stores are sync; network stores are not.
   */
  readonly sync: boolean;
  /**
   * The store keeps JavaScript values as they are (the memory backend's `serialize: false`). The
   * Cache then hands it values unserialized, typed as `Payload` only nominally, and `incr` must
   * work on stored numbers.
   */
  readonly references?: boolean;
  /**
   * The store bounds every operation by `BackendContext.operationTimeoutMs` itself (its driver has
   * a deadline per command), so the Cache does not add a timer of its own per call.
   */
  readonly boundsOperations?: boolean;
  /** Entries with the same made key are shared by every process using the store (locks, single-flight across processes). */
  readonly shared?: boolean;
  /**
   * The store guards the calls that reach its shared part itself (a tiered store: L1 in front of a
   * guarded L2, `src/tiers/`), so the cache calls it without a guard of its own: L1 hits then
   * neither wait for nor count toward the breaker.
   */
  readonly guarded?: boolean;
  /**
   * The store uses the `hint` of {@link Store.get} (an in-process store keeps a handle there). The
   * Cache then memoizes made keys with their hints, so a hit makes no key; for other stores it
   * makes the key afresh, which costs less than a memo the working set does not fit in.
   */
  readonly hints?: boolean;
}

/**
 * A store. Expiry times are absolute milliseconds on the clock in {@link BackendContext.now}
 * (`null` = never expires); a store must treat an entry whose expiry is `<= now()` as absent.
 *
 * Every method may throw (or reject); the Cache wraps foreign errors in `BackendError` and lets
 * skycache's own errors (`KeyNotFoundError`, `InvalidValueError`) through unchanged.
 */
export interface Store {
  readonly capabilities: StoreCapabilities;

  /**
   * The payload under `key`, or `undefined` if absent or expired. `hint` is an object the Cache
   * keeps for this key between calls; an in-process store may stash a handle in `hint.slot` to skip
   * its lookup next time (it must check the handle is still valid). Other stores ignore it.
   */
  get(key: string, hint?: KeyHint): MaybePromise<Payload | undefined>;
  /**
   * Optional, for async stores whose driver makes a promise per call (network clients): `get`,
   * with the answer handed to `next` instead of returned. The promise it returns settles as
   * `next.value(payload)` (or, on failure, `next.error(error)`) returns or throws, so the Cache's
   * own handling of the answer costs no promise of its own. Must not throw.
   */
  getThen?<R>(key: string, hint: KeyHint | undefined, next: Continuation<R>): Promise<R>;
  /** Payloads for `keys`, position for position (`undefined` where absent). One round trip. */
  getMany(keys: readonly string[]): MaybePromise<Array<Payload | undefined>>;
  /** Stores unconditionally. */
  set(key: string, value: Payload, expiresAt: number | null): MaybePromise<void>;
  /**
   * Optional: `set`, with its outcome handed to `next` like {@link getThen}'s. Must not throw.
   * Unlike `set`, it takes the entry's lifetime, not its expiry: `ttlMs` is how long the entry
   * lives from this call, in ms (`null` = never expires), so a store that sends a relative TTL
   * (Redis `PX`) reads no clock at all; a store that keeps absolute expiries adds its
   * {@link BackendContext.now} reading.
   */
  setThen?<R>(key: string, value: Payload, ttlMs: number | null, next: Continuation<R>): Promise<R>;
  /** Stores every entry with the same expiry; returns the keys it could not store. One round trip. */
  setMany(
    entries: ReadonlyArray<readonly [string, Payload]>,
    expiresAt: number | null,
  ): MaybePromise<string[]>;
  /** Stores only if absent or expired, atomically; `true` if stored. */
  add(key: string, value: Payload, expiresAt: number | null): MaybePromise<boolean>;
  /** `true` if a live entry was removed. */
  delete(key: string): MaybePromise<boolean>;
  /** How many live entries were removed. */
  deleteMany(keys: readonly string[]): MaybePromise<number>;
  /**
   * Optional: `true` if a live entry exists. The Cache never calls it (`has()` reads the entry,
   * because an entry kept only for a stale window counts as absent); it is kept for tools and
   * wrappers that want a cheap existence check.
   */
  has?(key: string): MaybePromise<boolean>;
  /** Sets a new expiry on a live entry; `false` if absent. */
  touch(key: string, expiresAt: number | null): MaybePromise<boolean>;
  /**
   * Adds `delta` to the integer stored under `key` (decimal text, or a number for reference
   * stores), atomically, keeping its expiry; returns the new value.
   * @throws KeyNotFoundError if absent; InvalidValueError if the value is not an integer
   */
  incr(key: string, delta: number): MaybePromise<number>;
  /** The live entry's expiry (`null` = never), or `undefined` if absent. */
  expiry(key: string): MaybePromise<number | null | undefined>;
  /** Live keys covered by `match`, in no particular order. Must not block the store for long. */
  keys(match: KeyMatch): AsyncIterable<string> | Iterable<string>;
  /** Removes the live and expired entries covered by `match`; returns how many live ones went. */
  deleteMatching(match: KeyMatch): MaybePromise<number>;
  /**
   * Optional: moves the live entry under `from` (value and expiry) to `to`, atomically, replacing
   * what `to` held; `false` if `from` was absent. Makes `incrVersion` atomic; without it the Cache
   * reads, writes and deletes.
   */
  move?(from: string, to: string): MaybePromise<boolean>;
  /**
   * Optional, for locks: deletes `key` only if it holds exactly `value`, atomically (a Lua script,
   * `DELETE … WHERE value = $2`, a transaction). Without it the Cache compares and deletes in two
   * steps, which is not safe between processes.
   */
  deleteIfValue?(key: string, value: Payload): MaybePromise<boolean>;
  /** Optional, for locks: sets a new expiry on `key` only if it holds exactly `value`, atomically. */
  touchIfValue?(key: string, value: Payload, expiresAt: number | null): MaybePromise<boolean>;
  /**
   * Optional: deletes tag records (`deleteByTag`; see `core/tags/`). Without it the cache uses
   * `deleteMany`. A tiered store implements it to drop every process's L1 as well.
   */
  deleteTags?(tagKeys: readonly string[]): MaybePromise<void>;
  /**
   * Optional (tiered stores): which tier answered the latest `get`, set before `get` returns, so a
   * caller reads it right after the call.
   */
  readonly lastTier?: 'l1' | 'l2';
  /** Optional (tiered stores): `lastTier` of each key of the latest `getMany`, in request order. */
  readonly lastTiers?: ReadonlyArray<'l1' | 'l2'>;
  /** Removes every entry in the store (the whole location, database or table). */
  clear(): MaybePromise<void>;
  /** Releases connections and files. The store is not used afterwards. Idempotent. */
  close(): MaybePromise<void>;
  /** The raw client (driver object), for `caches.connection(alias)`. */
  readonly client?: unknown;
}

/** What a backend factory receives. */
export interface BackendContext {
  /** The cache's alias, for messages. */
  readonly alias: string;
  /** `location` from the config (memory: a name; disk: a directory; network: URL or DSN), or `''`. */
  readonly location: string;
  /** Backend-specific options, already validated for built-in backends. */
  readonly options: Readonly<Record<string, unknown>>;
  /** The clock expiry times are measured on: milliseconds since the epoch. */
  readonly now: () => number;
  /** Where to report problems that do not fail an operation. */
  readonly logger: Logger;
  /**
   * Network stores: the most an operation may take, in ms (the config's `operationTimeout`,
   * default 250). Past it, fail the operation (the Cache wraps the error in `BackendError`).
   */
  readonly operationTimeoutMs: number;
}

/**
 * The shape of a backend: config in, store out. Return the store directly when it can be made
 * synchronously (required for the `…Sync` API before the first async call), or a Promise.
 */
export type BackendFactory = (context: BackendContext) => MaybePromise<Store>;
