/**
 * The Cache: every semantic rule of the public API, defined once over the store contract.
 *
 * Each data operation is written once, as a generator that validates its input, then yields the
 * store calls it needs (`(store) => store.get(key)`). Two small drivers run those programs: one
 * awaiting each call (the async API), one calling straight through (the `…Sync` twins on sync
 * stores). So the async and sync APIs cannot drift, and input errors are thrown before the store
 * is even opened. `get` and `getOrSet` have hand-written paths because they are the hot ones.
 */
import type { ResolvedConfig } from '../config/types.js';
import { createCodec, type Codec } from '../serializers/codec.js';
import { expiryFrom, resolveTimeout, type ResolvedTimeout, type Timeout } from './duration.js';
import {
  CacheError,
  InvalidKeyError,
  InvalidValueError,
  KeyNotFoundError,
  UnsupportedOperationError,
  toBackendError,
} from './errors.js';
import { CacheObserver, type CacheEventName, type CacheEvents, type CacheStats } from './events.js';
import { assertKey, assertVersion, KeyMaker, MadeKeyMemo, type MadeKey } from './keys.js';
import type { Logger } from './logger.js';
import type { MaybePromise, Payload, Store } from './store.js';
import { StoreHandle } from './store-handle.js';

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
export type StoreOptions = Timeout | { timeout?: Timeout; version?: number };

/** Options of `getOrSet`. */
export type GetOrSetOptions = StoreOptions;

/** A loader for `getOrSet`, or the value itself. */
export type ValueOrLoader<T> = T | (() => T | Promise<T>);

/**
 * `getOrSet` loads in flight, per store and made key. Module-wide so that caches sharing one store
 * (memory caches with the same location) share their loads; keyed by the store's client object.
 */
const flightsByStore = new WeakMap<object, Map<string, Promise<unknown>>>();

/** What `#decode` returns for an absent or undecodable entry. */
const MISS: unique symbol = Symbol('miss');

/** One store call in an operation's program. */
type StoreCall = (store: Store) => MaybePromise<unknown>;
type Program<R> = Generator<StoreCall, R, unknown>;

/** What every view of one cache object shares: configuration, store, counters, in-flight loads. */
class CacheCore {
  readonly keys: KeyMaker;
  readonly handle: StoreHandle;
  readonly observer = new CacheObserver();
  readonly codec: Codec;
  /** Values are kept as references (memory `serialize: false`): nothing to decode. */
  readonly references: boolean;
  readonly logger: Logger;

  constructor(
    readonly config: ResolvedConfig,
    readonly now: () => number,
  ) {
    this.keys = new KeyMaker(config);
    this.handle = new StoreHandle(config, now);
    this.logger = config.logger;
    this.references = config.backendName === 'memory' && config.options.serialize === false;
    this.codec = createCodec(config.serializer, this.references);
  }
}

function isStoreOptionsObject(opts: unknown): opts is { timeout?: Timeout; version?: number } {
  return opts !== null && typeof opts === 'object';
}

function parseStoreOptions(opts: StoreOptions | undefined): {
  timeout: Timeout | undefined;
  version: number | undefined;
} {
  if (opts === undefined) return { timeout: undefined, version: undefined };
  if (isStoreOptionsObject(opts)) return { timeout: opts.timeout, version: opts.version };
  return { timeout: opts, version: undefined };
}

function toArray<T>(items: Iterable<T>, what: string): T[] {
  if (
    typeof items === 'string' ||
    items === null ||
    typeof (items as Iterable<T>)?.[Symbol.iterator] !== 'function'
  ) {
    throw new InvalidKeyError(
      `${what} must be an iterable of keys (an array, a Set…), got ${typeof items}`,
    );
  }
  return Array.isArray(items) ? items : [...items];
}

function toEntries(entries: unknown): Array<[string, unknown]> {
  if (entries instanceof Map) return [...entries.entries()];
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

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === 'function';
}

/**
 * A cache: Django's cache API over one store, async with `…Sync` twins on sync backends.
 * Make one with `createCache()` or get a configured one with `caches.get(alias)`.
 */
export class Cache {
  readonly #core: CacheCore;
  /** `''` for the cache itself, `'a:'`, `'a:b:'` for namespace views. */
  readonly #namespace: string;
  readonly #madeKeys = new MadeKeyMemo();

  /** @internal Use `createCache()` or `caches.get()`. */
  constructor(
    config: ResolvedConfig,
    options: { now?: () => number } = {},
    internal?: { core: CacheCore; namespace: string },
  ) {
    this.#core = internal?.core ?? new CacheCore(config, options.now ?? Date.now);
    this.#namespace = internal?.namespace ?? '';
  }

  /** The alias this cache is registered under (`'default'` for `createCache` without one). */
  get alias(): string {
    return this.#core.config.alias;
  }

  /** The backend's name: `'memory'`, `'disk'`, `'redis'`, `'postgres'`, `'dummy'`, or `'custom'`. */
  get backend(): string {
    return this.#core.config.backendName;
  }

  /** Default timeout of storing calls, in seconds; `null` = never expires. */
  get defaultTimeout(): number | null {
    const ms = this.#core.config.defaultTimeoutMs;
    return ms === null ? null : ms / 1000;
  }

  get keyPrefix(): string {
    return this.#core.keys.keyPrefix;
  }

  get version(): number {
    return this.#core.keys.version;
  }

  /** Whether the `…Sync` methods work (memory, disk, dummy). */
  get supportsSync(): boolean {
    const { handle, config } = this.#core;
    if (handle.current) return handle.current.capabilities.sync;
    if (config.sync) return true;
    if (typeof config.backend !== 'function') return false;
    // A custom factory tells only by making its store; a sync one can be made right away.
    try {
      return handle.openSync().capabilities.sync;
    } catch {
      return false;
    }
  }

  /** @internal The location with secrets redacted, for the CLI and messages. */
  get redactedLocation(): string {
    return this.#core.config.redactedLocation;
  }

  /** @internal The raw client of the store (`caches.connection(alias)`), opening it if needed. */
  connection(): unknown {
    return this.#core.handle.openSync().client;
  }

  // ---- keys -------------------------------------------------------------------------------

  /** The key the store sees: `${keyPrefix}:${version}:${key}` by default. @throws InvalidKeyError */
  makeKey(key: string, version?: number): string {
    return this.#make(key, version);
  }

  /** The made key at the default version, with the store's hint, memoized. */
  #madeKey(key: string): MadeKey {
    let found = this.#madeKeys.get(key);
    if (found === undefined) {
      // `slot` is present from the start so every hint has one shape (monomorphic reads).
      found = {
        made: this.#core.keys.make(key, this.#core.keys.version, this.#namespace),
        slot: undefined,
      };
      this.#madeKeys.set(key, found);
    }
    return found;
  }

  #make(key: string, version: number | undefined): string {
    if (version === undefined) return this.#madeKey(key).made;
    assertVersion(version);
    return this.#core.keys.make(key, version, this.#namespace);
  }

  /** A view whose keys are `name:key`; its `clear()` removes only that namespace. Nestable. */
  namespace(name: string): Cache {
    assertKey(name);
    return new Cache(
      this.#core.config,
      {},
      { core: this.#core, namespace: `${this.#namespace}${name}:` },
    );
  }

  // ---- observability ----------------------------------------------------------------------

  /** Listens to `hit`, `miss`, `set`, `delete` or `error` events of this cache (and its views). */
  on<E extends CacheEventName>(event: E, listener: (payload: CacheEvents[E]) => void): this {
    this.#core.observer.on(event, listener);
    return this;
  }

  off<E extends CacheEventName>(event: E, listener: (payload: CacheEvents[E]) => void): this {
    this.#core.observer.off(event, listener);
    return this;
  }

  /** Counters since this cache object was made. */
  stats(): CacheStats {
    return this.#core.observer.stats();
  }

  /** Counts and announces a problem that does not fail the call. */
  #report(error: unknown, operation: string, key: string, madeKey: string): void {
    const err = error instanceof Error ? error : new Error(String(error));
    const { observer, logger, config } = this.#core;
    observer.errors++;
    logger.warn({ err, alias: config.alias, key, operation }, `cache ${operation} problem`);
    if (observer.listens('error')) observer.emit('error', { key, madeKey, error: err, operation });
  }

  #counted(event: 'hit' | 'miss' | 'set' | 'delete', key: string, madeKey: string): void {
    const observer = this.#core.observer;
    if (event === 'hit') observer.hits++;
    else if (event === 'miss') observer.misses++;
    else if (event === 'set') observer.sets++;
    else observer.deletes++;
    if (observer.listens(event)) observer.emit(event, { key, madeKey });
  }

  /** Decodes a payload read for `key`; absent or undecodable (reported as an `error`) is {@link MISS}. */
  #decode(payload: Payload | undefined, key: string, madeKey: string, operation: string): unknown {
    if (payload === undefined) return MISS;
    try {
      return this.#core.codec.decode(payload);
    } catch (error) {
      const problem = new CacheError(`stored bytes under "${madeKey}" cannot be decoded`, {
        cause: error,
      });
      this.#report(problem, operation, key, madeKey);
      return MISS;
    }
  }

  #expiry(timeout: Timeout | undefined): ResolvedTimeout {
    return resolveTimeout(timeout, this.#core.config.defaultTimeoutMs);
  }

  // ---- drivers ----------------------------------------------------------------------------

  async #run<R>(operation: string, program: () => Program<R>): Promise<R> {
    const core = this.#core;
    if (core.keys.pending) await core.keys.load();
    const steps = program();
    let step = steps.next();
    let store = core.handle.current;
    while (!step.done) {
      let input: unknown;
      let failure: CacheError | undefined;
      try {
        store ??= await core.handle.open();
        input = await step.value(store);
      } catch (error) {
        failure = toBackendError(error, `${operation} on cache "${core.config.alias}"`);
      }
      step = failure ? steps.throw(failure) : steps.next(input);
    }
    return step.value;
  }

  #syncStore(operation: string): Store {
    const handle = this.#core.handle;
    let store = handle.current;
    try {
      store ??= handle.openSync();
    } catch (error) {
      if (!(error instanceof UnsupportedOperationError)) throw error;
    }
    if (!store?.capabilities.sync) {
      throw new UnsupportedOperationError(
        `${operation}Sync: the ${this.backend} backend of cache "${this.alias}" has no synchronous API; use ${operation}()`,
      );
    }
    return store;
  }

  /** One sync store call, its failures wrapped like the drivers wrap them. */
  #callSync<T>(operation: string, call: () => MaybePromise<T>): T {
    try {
      const result = call();
      if (isPromiseLike(result)) throw new TypeError('a sync store returned a Promise');
      return result;
    } catch (error) {
      throw toBackendError(error, `${operation}Sync on cache "${this.alias}"`);
    }
  }

  #runSync<R>(operation: string, program: () => Program<R>): R {
    const store = this.#syncStore(operation);
    const steps = program();
    let step = steps.next();
    while (!step.done) {
      const call = step.value;
      let input: unknown;
      let failure: CacheError | undefined;
      try {
        input = this.#callSync(operation, () => call(store));
      } catch (error) {
        failure = error as CacheError;
      }
      step = failure ? steps.throw(failure) : steps.next(input);
    }
    return step.value;
  }

  // ---- get --------------------------------------------------------------------------------

  /** The value under `key`; `opts.default` (else `undefined`) on a miss. A stored `null` is returned as `null`. */
  get<T = unknown>(key: string, opts?: GetOptions<T>): Promise<T | undefined> {
    const store = this.#core.handle.current;
    if (store?.capabilities.sync && !this.#core.keys.pending) {
      try {
        return Promise.resolve(this.#getFrom(store, key, opts));
      } catch (error) {
        return Promise.reject(error);
      }
    }
    return this.#run('get', () => this.#getProgram(key, opts));
  }

  getSync<T = unknown>(key: string, opts?: GetOptions<T>): T | undefined {
    const current = this.#core.handle.current;
    return this.#getFrom(current?.capabilities.sync ? current : this.#syncStore('get'), key, opts);
  }

  #getFrom<T>(store: Store, key: string, opts: GetOptions<T> | undefined): T | undefined {
    let made: string;
    let hint: MadeKey | undefined;
    if (opts?.version === undefined) {
      hint = this.#madeKey(key);
      made = hint.made;
    } else {
      made = this.#make(key, opts.version);
    }
    let payload: Payload | undefined;
    try {
      payload = store.get(made, hint) as Payload | undefined;
    } catch (error) {
      throw toBackendError(error, `get on cache "${this.alias}"`);
    }
    return this.#finishGet(payload, key, made, opts);
  }

  *#getProgram<T>(key: string, opts: GetOptions<T> | undefined): Program<T | undefined> {
    const made = this.#make(key, opts?.version);
    const payload = (yield (store) => store.get(made)) as Payload | undefined;
    return this.#finishGet(payload, key, made, opts);
  }

  #finishGet<T>(
    payload: Payload | undefined,
    key: string,
    made: string,
    opts: GetOptions<T> | undefined,
  ): T | undefined {
    const core = this.#core;
    const value =
      core.references && payload !== undefined ? payload : this.#decode(payload, key, made, 'get');
    if (value === MISS) {
      this.#counted('miss', key, made);
      return opts?.default;
    }
    core.observer.hits++;
    if (core.observer.listensToHit) core.observer.emit('hit', { key, madeKey: made });
    return value as T;
  }

  // ---- single-key writes ------------------------------------------------------------------

  /** Stores `value` under `key`. `undefined` is an `InvalidValueError`; timeout `0` removes the key instead. */
  set(key: string, value: unknown, opts?: StoreOptions): Promise<void> {
    return this.#run('set', () => this.#setProgram(key, value, opts));
  }

  setSync(key: string, value: unknown, opts?: StoreOptions): void {
    this.#runSync('set', () => this.#setProgram(key, value, opts));
  }

  #encode(value: unknown): Payload {
    if (value === undefined)
      throw new InvalidValueError('undefined cannot be stored; use null or delete the key');
    return this.#core.codec.encode(value);
  }

  *#setProgram(key: string, value: unknown, opts: StoreOptions | undefined): Program<void> {
    const { timeout, version } = parseStoreOptions(opts);
    const made = this.#make(key, version);
    const resolved = this.#expiry(timeout);
    const payload = this.#encode(value);
    if (resolved === 'discard') {
      yield (store) => store.delete(made);
      return;
    }
    yield (store) => store.set(made, payload, expiryFrom(this.#core.now(), resolved));
    this.#counted('set', key, made);
  }

  /** Stores only if `key` is absent or expired, atomically. `true` if stored (and, with timeout 0, if it was absent). */
  add(key: string, value: unknown, opts?: StoreOptions): Promise<boolean> {
    return this.#run('add', () => this.#addProgram(key, value, opts));
  }

  addSync(key: string, value: unknown, opts?: StoreOptions): boolean {
    return this.#runSync('add', () => this.#addProgram(key, value, opts));
  }

  *#addProgram(key: string, value: unknown, opts: StoreOptions | undefined): Program<boolean> {
    const { timeout, version } = parseStoreOptions(opts);
    const made = this.#make(key, version);
    const resolved = this.#expiry(timeout);
    const payload = this.#encode(value);
    if (resolved === 'discard') return !((yield (store) => store.has(made)) as boolean);
    const added = (yield (store) =>
      store.add(made, payload, expiryFrom(this.#core.now(), resolved))) as boolean;
    if (added) this.#counted('set', key, made);
    return added;
  }

  /** Removes `key`; `true` if something was removed. */
  delete(key: string, opts?: VersionOptions): Promise<boolean> {
    return this.#run('delete', () => this.#deleteProgram(key, opts));
  }

  deleteSync(key: string, opts?: VersionOptions): boolean {
    return this.#runSync('delete', () => this.#deleteProgram(key, opts));
  }

  *#deleteProgram(key: string, opts: VersionOptions | undefined): Program<boolean> {
    const made = this.#make(key, opts?.version);
    const removed = (yield (store) => store.delete(made)) as boolean;
    if (removed) this.#counted('delete', key, made);
    return removed;
  }

  /** Whether `key` is present and not expired (a stored `null` counts). */
  has(key: string, opts?: VersionOptions): Promise<boolean> {
    return this.#run('has', () => this.#hasProgram(key, opts));
  }

  hasSync(key: string, opts?: VersionOptions): boolean {
    return this.#runSync('has', () => this.#hasProgram(key, opts));
  }

  *#hasProgram(key: string, opts: VersionOptions | undefined): Program<boolean> {
    const made = this.#make(key, opts?.version);
    return (yield (store) => store.has(made)) as boolean;
  }

  /** Sets a new timeout from now; `false` if absent. Timeout 0 removes the entry (and returns `true` if it was there). */
  touch(key: string, opts?: StoreOptions): Promise<boolean> {
    return this.#run('touch', () => this.#touchProgram(key, opts));
  }

  touchSync(key: string, opts?: StoreOptions): boolean {
    return this.#runSync('touch', () => this.#touchProgram(key, opts));
  }

  *#touchProgram(key: string, opts: StoreOptions | undefined): Program<boolean> {
    const { timeout, version } = parseStoreOptions(opts);
    const made = this.#make(key, version);
    const resolved = this.#expiry(timeout);
    if (resolved === 'discard') return (yield (store) => store.delete(made)) as boolean;
    return (yield (store) => store.touch(made, expiryFrom(this.#core.now(), resolved))) as boolean;
  }

  /** Seconds left (fractional), `null` if it never expires, `undefined` if absent. */
  ttl(key: string, opts?: VersionOptions): Promise<number | null | undefined> {
    return this.#run('ttl', () => this.#ttlProgram(key, opts));
  }

  ttlSync(key: string, opts?: VersionOptions): number | null | undefined {
    return this.#runSync('ttl', () => this.#ttlProgram(key, opts));
  }

  *#ttlProgram(key: string, opts: VersionOptions | undefined): Program<number | null | undefined> {
    const made = this.#make(key, opts?.version);
    const expiresAt = (yield (store) => store.expiry(made)) as number | null | undefined;
    if (expiresAt === null || expiresAt === undefined) return expiresAt;
    const left = (expiresAt - this.#core.now()) / 1000;
    return left > 0 ? left : undefined;
  }

  // ---- counters and versions --------------------------------------------------------------

  /**
   * Adds `delta` to the integer under `key`, atomically, keeping its expiry.
   * @throws KeyNotFoundError if absent; InvalidValueError if the value is not an integer
   */
  incr(key: string, delta = 1, opts?: VersionOptions): Promise<number> {
    return this.#run('incr', () => this.#incrProgram(key, delta, opts));
  }

  incrSync(key: string, delta = 1, opts?: VersionOptions): number {
    return this.#runSync('incr', () => this.#incrProgram(key, delta, opts));
  }

  /** `incr(key, -delta)`. */
  decr(key: string, delta = 1, opts?: VersionOptions): Promise<number> {
    return this.#run('decr', () => this.#incrProgram(key, -delta, opts));
  }

  decrSync(key: string, delta = 1, opts?: VersionOptions): number {
    return this.#runSync('decr', () => this.#incrProgram(key, -delta, opts));
  }

  *#incrProgram(key: string, delta: number, opts: VersionOptions | undefined): Program<number> {
    if (!Number.isSafeInteger(delta))
      throw new InvalidValueError(`delta must be an integer, got ${String(delta)}`);
    const made = this.#make(key, opts?.version);
    return (yield (store) => store.incr(made, delta)) as number;
  }

  /**
   * Moves the value and its remaining timeout from `version` to `version + delta`.
   * @returns the new version
   * @throws KeyNotFoundError if absent
   */
  incrVersion(key: string, delta = 1, opts?: VersionOptions): Promise<number> {
    return this.#run('incrVersion', () => this.#incrVersionProgram(key, delta, opts));
  }

  decrVersion(key: string, delta = 1, opts?: VersionOptions): Promise<number> {
    return this.#run('decrVersion', () => this.#incrVersionProgram(key, -delta, opts));
  }

  *#incrVersionProgram(
    key: string,
    delta: number,
    opts: VersionOptions | undefined,
  ): Program<number> {
    if (!Number.isSafeInteger(delta))
      throw new InvalidValueError(`delta must be an integer, got ${String(delta)}`);
    const version = opts?.version ?? this.version;
    const from = this.#make(key, version);
    const to = this.#make(key, version + delta);
    const payload = (yield (store) => store.get(from)) as Payload | undefined;
    const expiresAt =
      payload === undefined
        ? undefined
        : ((yield (store) => store.expiry(from)) as number | null | undefined);
    if (payload === undefined || expiresAt === undefined)
      throw new KeyNotFoundError(`key "${key}" not found (version ${version})`);
    if (delta === 0) return version;
    yield (store) => store.set(to, payload, expiresAt);
    yield (store) => store.delete(from);
    return version + delta;
  }

  // ---- batches ----------------------------------------------------------------------------

  /** The values found, in request order, keyed by the caller's keys. One round trip on network backends. */
  getMany<T = unknown>(keys: Iterable<string>, opts?: VersionOptions): Promise<Map<string, T>> {
    return this.#run('getMany', () => this.#getManyProgram<T>(keys, opts));
  }

  getManySync<T = unknown>(keys: Iterable<string>, opts?: VersionOptions): Map<string, T> {
    return this.#runSync('getMany', () => this.#getManyProgram<T>(keys, opts));
  }

  *#getManyProgram<T>(
    keys: Iterable<string>,
    opts: VersionOptions | undefined,
  ): Program<Map<string, T>> {
    const wanted = toArray(keys, 'getMany keys');
    const made = wanted.map((key) => this.#make(key, opts?.version));
    const found = new Map<string, T>();
    if (made.length === 0) return found;
    const payloads = (yield (store) => store.getMany(made)) as Array<Payload | undefined>;
    wanted.forEach((key, index) => {
      const madeKey = made[index]!;
      const value = this.#decode(payloads[index], key, madeKey, 'getMany');
      this.#counted(value === MISS ? 'miss' : 'hit', key, madeKey);
      if (value !== MISS) found.set(key, value as T);
    });
    return found;
  }

  /**
   * Stores every entry with one timeout. Keys and values are all validated before anything is
   * written. @returns the keys the store could not keep (`[]` on success)
   */
  setMany(
    entries: Map<string, unknown> | Record<string, unknown> | Iterable<readonly [string, unknown]>,
    opts?: StoreOptions,
  ): Promise<string[]> {
    return this.#run('setMany', () => this.#setManyProgram(entries, opts));
  }

  setManySync(
    entries: Map<string, unknown> | Record<string, unknown> | Iterable<readonly [string, unknown]>,
    opts?: StoreOptions,
  ): string[] {
    return this.#runSync('setMany', () => this.#setManyProgram(entries, opts));
  }

  *#setManyProgram(entries: unknown, opts: StoreOptions | undefined): Program<string[]> {
    const { timeout, version } = parseStoreOptions(opts);
    const resolved = this.#expiry(timeout);
    const pairs = toEntries(entries);
    const callerKeyOf = new Map<string, string>();
    const encoded = pairs.map(([key, value]): [string, Payload] => {
      const made = this.#make(key, version);
      callerKeyOf.set(made, key);
      return [made, this.#encode(value)];
    });
    if (encoded.length === 0) return [];
    if (resolved === 'discard') {
      yield (store) => store.deleteMany(encoded.map(([made]) => made));
      return [];
    }
    const failed = (yield (store) =>
      store.setMany(encoded, expiryFrom(this.#core.now(), resolved))) as string[];
    const failedSet = new Set(failed);
    for (const [made, key] of callerKeyOf)
      if (!failedSet.has(made)) this.#counted('set', key, made);
    return failed.map((made) => callerKeyOf.get(made) ?? made);
  }

  /** Removes the keys; returns how many were there. */
  deleteMany(keys: Iterable<string>, opts?: VersionOptions): Promise<number> {
    return this.#run('deleteMany', () => this.#deleteManyProgram(keys, opts));
  }

  deleteManySync(keys: Iterable<string>, opts?: VersionOptions): number {
    return this.#runSync('deleteMany', () => this.#deleteManyProgram(keys, opts));
  }

  *#deleteManyProgram(keys: Iterable<string>, opts: VersionOptions | undefined): Program<number> {
    const made = toArray(keys, 'deleteMany keys').map((key) => this.#make(key, opts?.version));
    if (made.length === 0) return 0;
    const removed = (yield (store) => store.deleteMany(made)) as number;
    this.#core.observer.deletes += removed;
    return removed;
  }

  // ---- patterns and clearing --------------------------------------------------------------

  /**
   * Removes this cache's (or view's) entries. With a `keyPrefix`, only entries under it (all
   * versions); with no prefix, every entry in the store. A namespace view removes only its namespace
   * (at the cache's version).
   */
  clear(): Promise<void> {
    return this.#run('clear', () => this.#clearProgram());
  }

  clearSync(): void {
    this.#runSync('clear', () => this.#clearProgram());
  }

  *#clearProgram(): Program<void> {
    const keys = this.#core.keys;
    if (this.#namespace !== '') {
      const prefix = keys.namespacePrefix(keys.version, this.#namespace);
      yield (store) => store.deleteMatching({ prefix, pattern: '*' });
      return;
    }
    const prefix = keys.clearPrefix();
    yield prefix === ''
      ? (store) => store.clear()
      : (store) => store.deleteMatching({ prefix, pattern: '*' });
  }

  /** Removes the caller's keys matching a glob (`*`, `?`, `[abc]`, `\` escapes); returns how many. */
  deletePattern(pattern: string, opts?: VersionOptions): Promise<number> {
    return this.#run('deletePattern', () => this.#deletePatternProgram(pattern, opts));
  }

  *#deletePatternProgram(pattern: string, opts: VersionOptions | undefined): Program<number> {
    const { match } = this.#scope(pattern, opts);
    const removed = (yield (store) => store.deleteMatching(match)) as number;
    this.#core.observer.deletes += removed;
    return removed;
  }

  #scope(pattern: unknown, opts: VersionOptions | undefined) {
    if (typeof pattern !== 'string')
      throw new InvalidValueError(`pattern must be a string, got ${typeof pattern}`);
    const version = opts?.version ?? this.version;
    assertVersion(version);
    return this.#core.keys.scope(pattern, version, this.#namespace);
  }

  /**
   * Iterates the caller's keys matching a glob (relative to a namespace view), expired ones
   * excluded. With a custom `keyFunction` it yields stored keys; with `hashKeys`, stored hashes.
   */
  async *keys(pattern = '*', opts?: VersionOptions): AsyncIterableIterator<string> {
    const scope = this.#scope(pattern, opts);
    const core = this.#core;
    if (core.keys.pending) await core.keys.load();
    let iterator: AsyncIterator<string> | Iterator<string>;
    try {
      const store = core.handle.current ?? (await core.handle.open());
      const iterable = store.keys(scope.match);
      iterator =
        Symbol.asyncIterator in iterable
          ? iterable[Symbol.asyncIterator]()
          : (iterable as Iterable<string>)[Symbol.iterator]();
    } catch (error) {
      throw toBackendError(error, `keys on cache "${this.alias}"`);
    }
    // Pull step by step so that a store failing part-way (a SCAN error) is wrapped like any other.
    for (;;) {
      let step: IteratorResult<string>;
      try {
        step = await iterator.next();
      } catch (error) {
        throw toBackendError(error, `keys on cache "${this.alias}"`);
      }
      if (step.done) return;
      yield scope.toCallerKey(step.value);
    }
  }

  // ---- getOrSet ---------------------------------------------------------------------------

  /**
   * The value under `key`, or, on a miss, the loader's value, which is then added (a stored `null`
   * is a hit). Concurrent misses in this process share one loader call. Loader errors propagate and
   * nothing is stored; an `undefined` result is returned and not stored. A failing backend never
   * fails this call: the loader's value is returned and the failure reported.
   */
  async getOrSet<T>(
    key: string,
    valueOrLoader: ValueOrLoader<T>,
    opts?: GetOrSetOptions,
  ): Promise<T> {
    const { timeout, version } = parseStoreOptions(opts);
    const resolved = this.#expiry(timeout);
    const core = this.#core;
    if (core.keys.pending) await core.keys.load();
    const made = this.#make(key, version);

    let store: Store | undefined;
    try {
      store = core.handle.current ?? (await core.handle.open());
    } catch (error) {
      if (error instanceof CacheError && error.code === 'ERR_CACHE_CONFIG') throw error;
      this.#report(error, 'getOrSet', key, made);
    }
    const flightKey: object = store?.client ?? store ?? core;
    let flights = flightsByStore.get(flightKey);
    if (!flights) flightsByStore.set(flightKey, (flights = new Map()));
    const joined = flights.get(made);
    if (joined) return joined as Promise<T>;

    let readFailed = store === undefined;
    if (store) {
      try {
        const value = this.#decode(
          (await store.get(made)) as Payload | undefined,
          key,
          made,
          'getOrSet',
        );
        if (value !== MISS) {
          this.#counted('hit', key, made);
          return value as T;
        }
      } catch (error) {
        this.#report(
          toBackendError(error, `getOrSet on cache "${this.alias}"`),
          'getOrSet',
          key,
          made,
        );
        readFailed = true;
      }
    }
    this.#counted('miss', key, made);
    const again = flights.get(made);
    if (again) return again as Promise<T>;

    const flight = this.#loadAndAdd(store, key, made, valueOrLoader, resolved, readFailed);
    flights.set(made, flight);
    const done = () => flights.delete(made);
    flight.then(done, done);
    return flight;
  }

  async #loadAndAdd<T>(
    store: Store | undefined,
    key: string,
    made: string,
    valueOrLoader: ValueOrLoader<T>,
    resolved: ResolvedTimeout,
    readFailed: boolean,
  ): Promise<T> {
    const value =
      typeof valueOrLoader === 'function'
        ? await (valueOrLoader as () => T | Promise<T>)()
        : valueOrLoader;
    if (value === undefined || resolved === 'discard' || !store) return value;
    const payload = this.#encode(value);
    const add = async (): Promise<boolean> => {
      try {
        return (await store.add(made, payload, expiryFrom(this.#core.now(), resolved))) as boolean;
      } catch (error) {
        this.#report(
          toBackendError(error, `getOrSet on cache "${this.alias}"`),
          'getOrSet',
          key,
          made,
        );
        return true;
      }
    };
    // After a failed read the backend is likely down: do not make the caller wait for the write too.
    if (readFailed) {
      void add();
      return value;
    }
    if (await add()) {
      this.#counted('set', key, made);
      return value;
    }
    // Someone else stored first: return what the cache holds, as Django's get_or_set does.
    try {
      const held = this.#decode(
        (await store.get(made)) as Payload | undefined,
        key,
        made,
        'getOrSet',
      );
      if (held !== MISS) return held as T;
    } catch (error) {
      this.#report(
        toBackendError(error, `getOrSet on cache "${this.alias}"`),
        'getOrSet',
        key,
        made,
      );
    }
    return value;
  }

  /** `getOrSet` with a synchronous loader, on sync backends. */
  getOrSetSync<T>(key: string, valueOrLoader: T | (() => T), opts?: GetOrSetOptions): T {
    const { timeout, version } = parseStoreOptions(opts);
    const resolved = this.#expiry(timeout);
    const store = this.#syncStore('getOrSet');
    const made = this.#make(key, version);
    const found = this.#decode(
      this.#callSync('getOrSet', () => store.get(made)),
      key,
      made,
      'getOrSet',
    );
    if (found !== MISS) {
      this.#counted('hit', key, made);
      return found as T;
    }
    this.#counted('miss', key, made);
    const value =
      typeof valueOrLoader === 'function' ? (valueOrLoader as () => T)() : valueOrLoader;
    if (isPromiseLike(value))
      throw new InvalidValueError('getOrSetSync needs a synchronous loader; use getOrSet()');
    if (value === undefined || resolved === 'discard') return value;
    const payload = this.#encode(value);
    if (
      this.#callSync('getOrSet', () =>
        store.add(made, payload, expiryFrom(this.#core.now(), resolved)),
      )
    ) {
      this.#counted('set', key, made);
      return value;
    }
    const held = this.#decode(
      this.#callSync('getOrSet', () => store.get(made)),
      key,
      made,
      'getOrSet',
    );
    return held === MISS ? value : (held as T);
  }

  // ---- lifecycle --------------------------------------------------------------------------

  /** Releases connections and files; a later operation opens them again. Idempotent. */
  async close(): Promise<void> {
    try {
      await this.#core.handle.close();
    } catch (error) {
      throw toBackendError(error, `close of cache "${this.alias}"`);
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
