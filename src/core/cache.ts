/**
 * The Cache facade: Django's cache API over one store. Each method is one line handing its work to
 * the owner of that concern: `cache/` (context, views, the `get` hot path), `program/` (operations
 * written once for the async and sync runners), `guard/` (breaker, timeouts, failOpen, tracing),
 * `entry/` (entry format), `load/` (getOrSet), `coordination/` (locks). See docs/architecture.md.
 */
import type { ResolvedConfig } from '../config/types.js';
import { CacheContext } from './cache/context.js';
import {
  type GetOptions,
  type GetOrSetOptions,
  type SetManyEntries,
  type StoreOptions,
  type ValueOrLoader,
  type VersionOptions,
} from './cache/options.js';
import { CacheView } from './cache/view.js';
import { acquireNamedLock, runOnce, type LockOptions } from './coordination/run-once.js';
import type { Lock } from './coordination/locks.js';
import type { CacheEventName, CacheEvents, CacheStats } from './events.js';
import { FAIL_OPEN } from './guard/operations.js';
import { assertKey } from './keys.js';
import type { LoadOutcome } from './load/decisions.js';
import { getOrSetOutcome, getOrSetValue } from './load/get-or-set.js';
import { getOrSetSync } from './load/get-or-set-sync.js';
import { processStoreStates, type StoreStates } from './load/in-flight.js';
import * as batch from './program/batches.js';
import * as counter from './program/counters.js';
import { listKeys } from './program/key-listing.js';
import { runOperation as run, runOperationSync as runSync } from './program/runner.js';
import { getValue, getValueSync } from './cache/get-path.js';
import { setValue, setValueSync } from './cache/set-path.js';
import * as single from './program/single-key.js';

export type { LoadOutcome, LoadSource } from './load/decisions.js';
export type { LockOptions } from './coordination/run-once.js';

/**
 * A cache: Django's cache API over one store, async with `…Sync` twins on sync backends.
 * Make one with `createCache()` or get a configured one with `caches.get(alias)`.
 */
export class Cache {
  readonly #view: CacheView;

  /**
   * @internal Use `createCache()` or `caches.get()`.
   * @param options.now the clock (ms since the epoch); `options.stores` the directory of shared
   *   in-flight loads (default: this process's)
   */
  constructor(
    config: ResolvedConfig,
    options: { now?: () => number; stores?: StoreStates } = {},
    view?: CacheView,
  ) {
    const stores = options.stores ?? processStoreStates;
    this.#view = view ?? new CacheView(new CacheContext(config, options.now ?? Date.now, stores));
  }

  get #ctx(): CacheContext {
    return this.#view.ctx;
  }

  /** The alias this cache is registered under (`'default'` for `createCache` without one). */
  get alias(): string {
    return this.#ctx.config.alias;
  }

  /** The backend's name: `'memory'`, `'disk'`, `'redis'`, `'postgres'`, `'dummy'`, or `'custom'`. */
  get backend(): string {
    return this.#ctx.config.backendName;
  }

  /** Default timeout of storing calls, in seconds; `null` = never expires. */
  get defaultTimeout(): number | null {
    const ms = this.#ctx.config.defaultTimeoutMs;
    return ms === null ? null : ms / 1000;
  }

  get keyPrefix(): string {
    return this.#ctx.keys.keyPrefix;
  }

  get version(): number {
    return this.#ctx.keys.version;
  }

  /** Whether the `…Sync` methods work (memory, disk, dummy). */
  get supportsSync(): boolean {
    return this.#ctx.supportsSync;
  }

  /** @internal The location with secrets redacted, for the CLI and messages. */
  get redactedLocation(): string {
    return this.#ctx.config.redactedLocation;
  }

  /** @internal The raw client of the store (`caches.connection(alias)`), opening it if needed. */
  connection(): unknown {
    return this.#ctx.handle.openSync().client;
  }

  /** The key the store sees: `${keyPrefix}:${version}:${key}` by default. @throws InvalidKeyError */
  makeKey(key: string, version?: number): string {
    return this.#view.make(key, version);
  }

  /** A view whose keys are `name:key`; its `clear()` removes only that namespace. Nestable. */
  namespace(name: string): Cache {
    assertKey(name);
    return new Cache(this.#ctx.config, {}, this.#view.child(name));
  }

  // ---- observability ----------------------------------------------------------------------

  /**
   * Listens to an event of this cache (and its views): `hit`, `miss`, `set`, `delete` (batch
   * deletes emit one event with a `count`), `error` (a problem that did not fail the call), `stale`
   * (`getOrSet` served an expired value; `reason`), `lock` (`action`) and `load` (a loader call
   * `getOrSet` ran: `durationMs`, `ok`). Payloads are typed in {@link CacheEvents}.
   */
  on<E extends CacheEventName>(event: E, listener: (payload: CacheEvents[E]) => void): this {
    this.#ctx.observer.on(event, listener);
    return this;
  }

  off<E extends CacheEventName>(event: E, listener: (payload: CacheEvents[E]) => void): this {
    this.#ctx.observer.off(event, listener);
    return this;
  }

  /** Counters since this cache object was made (shared with its views); see {@link CacheStats}. */
  stats(): CacheStats {
    return this.#ctx.observer.stats();
  }

  // ---- get: the hot path (cache/get-path.ts) ----------------------------------------------

  /** The value under `key`; `opts.default` (else `undefined`) on a miss. A stored `null` is returned as `null`. */
  get<T = unknown>(key: string, opts?: GetOptions<T>): Promise<T | undefined> {
    return getValue(this.#view, key, opts);
  }

  getSync<T = unknown>(key: string, opts?: GetOptions<T>): T | undefined {
    return getValueSync(this.#view, key, opts);
  }

  // ---- single-key operations --------------------------------------------------------------

  /** Stores `value` under `key`. `undefined` is an `InvalidValueError`; timeout `0` removes the key instead. */
  set(key: string, value: unknown, opts?: StoreOptions): Promise<void> {
    return setValue(this.#view, key, value, opts);
  }

  setSync(key: string, value: unknown, opts?: StoreOptions): void {
    setValueSync(this.#view, key, value, opts);
  }

  /** Stores only if `key` is absent or expired, atomically. `true` if stored (and, with timeout 0, if it was absent). */
  add(key: string, value: unknown, opts?: StoreOptions): Promise<boolean> {
    return run(this.#view, 'add', single.addProgram, [key, value, opts], FAIL_OPEN.add, true);
  }

  addSync(key: string, value: unknown, opts?: StoreOptions): boolean {
    return runSync(this.#view, 'add', single.addProgram, [key, value, opts], FAIL_OPEN.add, true);
  }

  /** Removes `key`; `true` if something was removed. */
  delete(key: string, opts?: VersionOptions): Promise<boolean> {
    return run(this.#view, 'delete', single.deleteProgram, [key, opts], FAIL_OPEN.delete, true);
  }

  deleteSync(key: string, opts?: VersionOptions): boolean {
    return runSync(this.#view, 'delete', single.deleteProgram, [key, opts], FAIL_OPEN.delete, true);
  }

  /** Whether `key` is present and not expired (a stored `null` counts). */
  has(key: string, opts?: VersionOptions): Promise<boolean> {
    return run(this.#view, 'has', single.hasProgram, [key, opts], FAIL_OPEN.has, true);
  }

  hasSync(key: string, opts?: VersionOptions): boolean {
    return runSync(this.#view, 'has', single.hasProgram, [key, opts], FAIL_OPEN.has, true);
  }

  /** Sets a new timeout from now; `false` if absent. Timeout 0 removes the entry (and returns `true` if it was there). */
  touch(key: string, opts?: StoreOptions): Promise<boolean> {
    return run(this.#view, 'touch', single.touchProgram, [key, opts], FAIL_OPEN.touch, true);
  }

  touchSync(key: string, opts?: StoreOptions): boolean {
    return runSync(this.#view, 'touch', single.touchProgram, [key, opts], FAIL_OPEN.touch, true);
  }

  /** Seconds left (fractional), `null` if it never expires, `undefined` if absent. */
  ttl(key: string, opts?: VersionOptions): Promise<number | null | undefined> {
    return run(this.#view, 'ttl', single.ttlProgram, [key, opts], FAIL_OPEN.ttl, true);
  }

  ttlSync(key: string, opts?: VersionOptions): number | null | undefined {
    return runSync(this.#view, 'ttl', single.ttlProgram, [key, opts], FAIL_OPEN.ttl, true);
  }

  // ---- counters and versions --------------------------------------------------------------

  /**
   * Adds `delta` to the integer under `key`, atomically, keeping its expiry.
   * @throws KeyNotFoundError if absent; InvalidValueError if the value is not an integer
   */
  incr(key: string, delta = 1, opts?: VersionOptions): Promise<number> {
    return run(this.#view, 'incr', counter.incrProgram, [key, delta, opts]);
  }

  incrSync(key: string, delta = 1, opts?: VersionOptions): number {
    return runSync(this.#view, 'incr', counter.incrProgram, [key, delta, opts]);
  }

  /** `incr(key, -delta)`. */
  decr(key: string, delta = 1, opts?: VersionOptions): Promise<number> {
    return run(this.#view, 'decr', counter.incrProgram, [key, -delta, opts]);
  }

  decrSync(key: string, delta = 1, opts?: VersionOptions): number {
    return runSync(this.#view, 'decr', counter.incrProgram, [key, -delta, opts]);
  }

  /**
   * Moves the value and its remaining timeout from `version` to `version + delta`.
   * @returns the new version
   * @throws KeyNotFoundError if absent
   */
  incrVersion(key: string, delta = 1, opts?: VersionOptions): Promise<number> {
    return run(this.#view, 'incrVersion', counter.incrVersionProgram, [key, delta, opts]);
  }

  decrVersion(key: string, delta = 1, opts?: VersionOptions): Promise<number> {
    return run(this.#view, 'decrVersion', counter.incrVersionProgram, [key, -delta, opts]);
  }

  // ---- batches, patterns, clearing --------------------------------------------------------

  /** The values found, in request order, keyed by the caller's keys. One round trip on network backends. */
  getMany<T = unknown>(keys: Iterable<string>, opts?: VersionOptions): Promise<Map<string, T>> {
    return batch.getMany<T>(this.#view, keys, opts);
  }

  getManySync<T = unknown>(keys: Iterable<string>, opts?: VersionOptions): Map<string, T> {
    return batch.getManySync<T>(this.#view, keys, opts);
  }

  /**
   * Stores every entry with one timeout. Keys and values are all validated before anything is
   * written. @returns the keys the store could not keep (`[]` on success)
   */
  setMany(entries: SetManyEntries, opts?: StoreOptions): Promise<string[]> {
    return batch.setMany(this.#view, entries, opts);
  }

  setManySync(entries: SetManyEntries, opts?: StoreOptions): string[] {
    return batch.setManySync(this.#view, entries, opts);
  }

  /** Removes the keys; returns how many were there. Emits one `delete` event for the batch. */
  deleteMany(keys: Iterable<string>, opts?: VersionOptions): Promise<number> {
    return batch.deleteMany(this.#view, keys, opts);
  }

  deleteManySync(keys: Iterable<string>, opts?: VersionOptions): number {
    return batch.deleteManySync(this.#view, keys, opts);
  }

  /**
   * Removes this cache's (or view's) entries. With a `keyPrefix`, only entries under it (all
   * versions); with no prefix, every entry in the store. A namespace view removes only its namespace
   * (at the cache's version).
   */
  clear(): Promise<void> {
    return run(this.#view, 'clear', batch.clearProgram, [], FAIL_OPEN.clear);
  }

  clearSync(): void {
    runSync(this.#view, 'clear', batch.clearProgram, [], FAIL_OPEN.clear);
  }

  /**
   * Removes the caller's keys matching a glob (`*`, `?`, `[abc]`, `\` escapes); returns how many.
   * Emits one `delete` event (`key`: the pattern, `count`).
   */
  deletePattern(pattern: string, opts?: VersionOptions): Promise<number> {
    return batch.deletePattern(this.#view, pattern, opts);
  }

  /**
   * Removes every entry stored with any of `tags` (by any cache with this `keyPrefix` on this
   * store, in any process): from then on they are absent to every read, for good (README "Tags").
   * Fails with `BackendError` when the store fails, also under `failOpen` (nothing honest to
   * return: the entries would stay).
   */
  deleteByTag(tags: string | readonly string[]): Promise<void> {
    return run(this.#view, 'deleteByTag', batch.deleteByTagProgram, [tags]);
  }

  deleteByTagSync(tags: string | readonly string[]): void {
    runSync(this.#view, 'deleteByTag', batch.deleteByTagProgram, [tags]);
  }

  /**
   * Iterates the caller's keys matching a glob (relative to a namespace view), expired ones
   * excluded. With a custom `keyFunction` it yields stored keys; with `hashKeys`, stored hashes.
   */
  keys(pattern = '*', opts?: VersionOptions): AsyncIterableIterator<string> {
    return listKeys(this.#view, pattern, opts);
  }

  // ---- getOrSet ---------------------------------------------------------------------------

  /**
   * The value under `key`, or, on a miss, the loader's value, which is then added (a stored `null`
   * is a hit). Concurrent callers for one store and made key in this process share one read and,
   * on a miss, one loader call; with `lock`, one loader call across every process sharing the
   * store. Loader errors propagate and nothing is stored; an `undefined` result is returned and
   * not stored. A failing backend never fails this call: the loader's value is returned and the
   * failure reported. See `LoadOptions` for stale windows, jitter, `nullTimeout` and loader timeouts.
   */
  getOrSet<T>(key: string, valueOrLoader: ValueOrLoader<T>, opts?: GetOrSetOptions): Promise<T> {
    return getOrSetValue(this.#view, key, valueOrLoader, opts);
  }

  /**
   * `getOrSet`, resolving to `{ value, source }`: `'hit'`, `'stale'` (served from a stale window),
   * `'loaded'` (this call ran the loader), `'joined'` (it shared another caller's load, in this
   * process or, with `lock`, another) or `'fallback'` (the backend failed; the loader's value is
   * returned, unstored).
   */
  getOrSetWithSource<T>(
    key: string,
    valueOrLoader: ValueOrLoader<T>,
    opts?: GetOrSetOptions,
  ): Promise<LoadOutcome<T>> {
    return getOrSetOutcome(this.#view, key, valueOrLoader, opts);
  }

  /**
   * `getOrSet` with a synchronous loader, on sync backends. Supports `timeout`, `version`,
   * `jitter`, `nullTimeout` and `staleIfError`; the other options need the async API.
   */
  getOrSetSync<T>(key: string, valueOrLoader: T | (() => T), opts?: GetOrSetOptions): T {
    return getOrSetSync(this.#view, key, valueOrLoader, opts);
  }

  // ---- locks and run-once -----------------------------------------------------------------

  /**
   * Acquires the lock `name` (through key making, so prefixes isolate locks), waiting up to `wait`.
   * @param opts `ttl`: the lock's lifetime (default 10 s); `wait`: how long to try (default 10 s; 0 = once)
   * @throws LockTimeoutError after `wait`
   */
  lock(name: string, opts: LockOptions = {}): Promise<Lock> {
    return acquireNamedLock(this.#view, name, opts);
  }

  /**
   * Leader election: exactly one caller across the processes sharing the store runs `fn`; the
   * others wait for its done flag (`${name}:done`) and return `{ ran: false }`. The leader's lock
   * (`${name}:lock`) lives `ttl` (default 60 s) and is renewed while `fn` runs, so a crashed
   * leader is replaced within `ttl`; the done flag also lasts `ttl`. If `fn` throws, the leader
   * rejects with that error, no flag is written, and one waiter runs `fn` next.
   * @throws LockTimeoutError when `wait` (default `ttl`) runs out
   */
  runOnce(name: string, fn: () => unknown, opts: LockOptions = {}): Promise<{ ran: boolean }> {
    return runOnce(this.#view, name, fn, opts);
  }

  // ---- lifecycle --------------------------------------------------------------------------

  /** Releases connections and files; a later operation opens them again. Idempotent. */
  close(): Promise<void> {
    return this.#ctx.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
