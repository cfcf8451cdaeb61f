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
import { createCodec, parseIntegerPayload, samePayload, type Codec } from '../serializers/codec.js';
import {
  durationToMs,
  expiryFrom,
  resolveTimeout,
  type Duration,
  type ResolvedTimeout,
  type Timeout,
} from './duration.js';
import {
  BackendError,
  CacheError,
  InvalidKeyError,
  InvalidValueError,
  KeyNotFoundError,
  LockTimeoutError,
  UnsupportedOperationError,
  toBackendError,
} from './errors.js';
import { CacheObserver, type CacheEventName, type CacheEvents, type CacheStats } from './events.js';
import { assertKey, assertVersion, KeyMaker, MadeKeyMemo, type MadeKey } from './keys.js';
import type { Logger } from './logger.js';
import type { MaybePromise, Payload, Store } from './store.js';
import { StoreHandle } from './store-handle.js';
import { operationChannel } from './tracing.js';

/** The tracing channel's start events: one cheap check tells whether anyone traces. */
const operationStarts = operationChannel.start;
import { CircuitBreaker } from './resilience/breaker.js';
import {
  applyJitter,
  callLoader,
  DEFAULT_LOCK_MS,
  delay,
  resolveLoadOptions,
  type LoadOptions,
  type ResolvedLoadOptions,
} from './resilience/load-options.js';
import { acquireLock, backoff, type Lock, type LockPrimitives } from './locks.js';
import { isWrapped, StaleBox, staleBoxesMade, unwrapStale, wrapStale } from './resilience/stale.js';

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

/** Options of `getOrSet`: a timeout, or `{ timeout?, version?, ...resilience options }`. */
export type GetOrSetOptions = Timeout | ({ timeout?: Timeout; version?: number } & LoadOptions);

/** What the read before a load found. */
interface LoadRead {
  /** An expired value still kept for a stale window, and when it expired (ms). */
  stale: { value: unknown; expiredAt: number } | undefined;
  /** Something is stored under the key (stale or undecodable): replace it rather than add. */
  found: boolean;
  /** The read failed: the backend is likely down. */
  failed: boolean;
}

/** Lock names used by `getOrSet`'s `lock` option, before key making. */
const LOCK_KEY_PREFIX = 'skycache:lock:';

/** Suffix of a background refresh's entry in the in-flight map (never stored). */
const REFRESH_FLIGHT = '\u0000refresh';

/** A loader for `getOrSet`, or the value itself. */
export type ValueOrLoader<T> = T | (() => T | Promise<T>);

/**
 * `getOrSet` loads in flight, per store and made key. Module-wide so that caches sharing one store
 * (memory caches with the same location) share their loads; keyed by the store's client object.
 */
const flightsByStore = new WeakMap<object, Map<string, Promise<unknown>>>();

function flightsFor(owner: object): Map<string, Promise<unknown>> {
  let flights = flightsByStore.get(owner);
  if (!flights) flightsByStore.set(owner, (flights = new Map()));
  return flights;
}

/**
 * What operations return under `failOpen` when the backend fails (SPEC's table). `get` and
 * `setMany` pass theirs at the call site; `incr`, `decr`, `incrVersion`, `decrVersion` have none
 * (no honest value exists) and still throw.
 */
const FAIL_OPEN: Record<string, () => unknown> = {
  set: () => undefined,
  add: () => false,
  delete: () => false,
  has: () => false,
  touch: () => false,
  ttl: () => undefined,
  getMany: () => new Map(),
  deleteMany: () => 0,
  clear: () => undefined,
  deletePattern: () => 0,
};

/** A failure of the store itself, as opposed to skycache's own errors thrown through it. */
function isBackendFailure(error: unknown): boolean {
  return !(error instanceof CacheError) || error instanceof BackendError;
}

/** Rejects with `BackendError` if `promise` takes longer than `ms`. */
function withTimeout<T>(promise: PromiseLike<T>, ms: number, operation: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new BackendError(`${operation} took longer than operationTimeout (${ms} ms)`)),
      ms,
    );
    timer.unref?.();
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/**
 * Stores (by client object) that this process wrote stale-window entries to, so `keys()` on a
 * process-private store can skip reading payloads when there cannot be any.
 */
const staleWrittenTo = new WeakSet<object>();

/** How many keys `keys()` checks per `getMany` when stale-window entries may exist. */
const KEYS_CHECK_BATCH = 100;

/** The key a single-key operation addressed, for reports of failures `failOpen` swallowed. */
interface FailureTarget {
  readonly key: string;
  readonly opts: unknown;
}

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
  /** `undefined` when the config turns it off. */
  readonly breaker: CircuitBreaker | undefined;
  readonly failOpen: boolean;

  /** Whether `get` may call a sync store directly (nothing to guard, nothing to load first). */
  get direct(): boolean {
    return this.unguarded && !this.keys.pending && !operationStarts.hasSubscribers;
  }

  /** No breaker and no failOpen: nothing wraps a store call. */
  readonly unguarded: boolean;

  constructor(
    readonly config: ResolvedConfig,
    readonly now: () => number,
  ) {
    this.failOpen = config.failOpen;
    this.unguarded = config.circuitBreaker === undefined && !config.failOpen;
    this.breaker = config.circuitBreaker
      ? new CircuitBreaker(config.circuitBreaker, now, config.alias)
      : undefined;
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

  /**
   * The made key with the store's hint: the memo entry at the default version, a fresh one for an
   * explicit version (so the store never caches a handle for it across versions).
   */
  #keyWithHint(key: string, version: number | undefined): MadeKey {
    return version === undefined
      ? this.#madeKey(key)
      : { made: this.#make(key, version), slot: undefined };
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

  /** Reports a failure that `failOpen` turned into a result, naming the key when there is one. */
  #reportFailOpen(error: unknown, operation: string, target: FailureTarget | undefined): void {
    let madeKey = '';
    if (target) {
      try {
        madeKey = this.#make(
          target.key,
          isStoreOptionsObject(target.opts) ? target.opts.version : undefined,
        );
      } catch {
        // The key was valid enough to reach the store; if making it again fails, report without.
      }
    }
    this.#report(error, operation, target?.key ?? '', madeKey);
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
    if (isWrapped(payload, this.#core.references)) {
      // Kept for getOrSet's stale windows: everyone else sees it only until its logical expiry.
      const unwrapped = unwrapStale(payload, this.#core.references);
      if (unwrapped.expiresAt! <= this.#core.now()) return MISS;
      payload = unwrapped.payload;
    }
    if (this.#core.references) return payload;
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

  /**
   * One async store call, through the circuit breaker and (for network stores) the operation
   * timeout. Failures come out as `BackendError`; skycache's own errors from the store
   * (`KeyNotFoundError`…) pass unchanged and do not count against the breaker.
   */
  #call(store: Store, operation: string, call: StoreCall): Promise<unknown> {
    if (!operationChannel.hasSubscribers) return this.#guardedCall(store, operation, call);
    const { alias, backendName } = this.#core.config;
    return operationChannel.tracePromise(() => this.#guardedCall(store, operation, call), {
      operation,
      alias,
      backend: backendName,
    });
  }

  async #guardedCall(store: Store, operation: string, call: StoreCall): Promise<unknown> {
    const { breaker, config } = this.#core;
    breaker?.admit(operation);
    try {
      let result = call(store);
      if (isPromiseLike(result)) {
        result = await (store.capabilities.sync || store.capabilities.boundsOperations
          ? result
          : withTimeout(result, config.operationTimeoutMs, operation));
      }
      breaker?.succeeded();
      return result;
    } catch (error) {
      if (isBackendFailure(error)) breaker?.failed();
      else breaker?.succeeded();
      throw toBackendError(error, `${operation} on cache "${config.alias}"`);
    }
  }

  /** Opens the store (lazily, once), through the breaker: a backend that will not open is a failure. */
  async #open(operation: string): Promise<Store> {
    const { handle, breaker, config } = this.#core;
    if (handle.current) return handle.current;
    breaker?.admit(operation);
    try {
      const store = await handle.open();
      breaker?.succeeded();
      return store;
    } catch (error) {
      if (isBackendFailure(error)) breaker?.failed();
      throw toBackendError(error, `${operation} on cache "${config.alias}"`);
    }
  }

  /**
   * Runs an operation's program on the async API. With `failOpen`, a `BackendError` becomes the
   * operation's fail-open result (SPEC's table) and a report, for operations that have one.
   */
  async #run<R>(
    operation: string,
    program: () => Program<R>,
    failOpenResult: (() => R) | undefined = FAIL_OPEN[operation] as (() => R) | undefined,
    target?: FailureTarget,
  ): Promise<R> {
    const core = this.#core;
    try {
      if (core.keys.pending) await core.keys.load();
      const steps = program();
      let step = steps.next();
      let store = core.handle.current;
      while (!step.done) {
        let input: unknown;
        let failure: CacheError | undefined;
        try {
          store ??= await this.#open(operation);
          input = await this.#call(store, operation, step.value);
        } catch (error) {
          failure = error as CacheError;
        }
        step = failure ? steps.throw(failure) : steps.next(input);
      }
      return step.value;
    } catch (error) {
      if (failOpenResult && core.config.failOpen && error instanceof BackendError) {
        this.#reportFailOpen(error, operation, target);
        return failOpenResult();
      }
      throw error;
    }
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

  /** One sync store call, through the breaker, its failures wrapped like the async ones. */
  #callSync<T>(operation: string, call: () => MaybePromise<T>): T {
    if (!operationChannel.hasSubscribers) return this.#guardedCallSync(operation, call);
    const { alias, backendName } = this.#core.config;
    return operationChannel.traceSync(() => this.#guardedCallSync(operation, call), {
      operation,
      alias,
      backend: backendName,
    });
  }

  #guardedCallSync<T>(operation: string, call: () => MaybePromise<T>): T {
    const breaker = this.#core.breaker;
    breaker?.admit(operation);
    try {
      const result = call();
      if (isPromiseLike(result)) throw new TypeError('a sync store returned a Promise');
      breaker?.succeeded();
      return result;
    } catch (error) {
      if (isBackendFailure(error)) breaker?.failed();
      else breaker?.succeeded();
      throw toBackendError(error, `${operation}Sync on cache "${this.alias}"`);
    }
  }

  #runSync<R>(
    operation: string,
    program: () => Program<R>,
    failOpenResult: (() => R) | undefined = FAIL_OPEN[operation] as (() => R) | undefined,
    target?: FailureTarget,
  ): R {
    try {
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
    } catch (error) {
      if (failOpenResult && this.#core.config.failOpen && error instanceof BackendError) {
        this.#reportFailOpen(error, operation, target);
        return failOpenResult();
      }
      throw error;
    }
  }

  // ---- get --------------------------------------------------------------------------------

  /** The value under `key`; `opts.default` (else `undefined`) on a miss. A stored `null` is returned as `null`. */
  get<T = unknown>(key: string, opts?: GetOptions<T>): Promise<T | undefined> {
    const core = this.#core;
    const store = core.handle.current;
    if (store?.capabilities.sync && core.direct) {
      try {
        return Promise.resolve(this.#getFrom(store, key, opts));
      } catch (error) {
        return Promise.reject(error);
      }
    }
    if (store !== undefined && !core.keys.pending) return this.#getAsync(store, key, opts);
    return this.#run(
      'get',
      () => this.#getProgram(key, opts),
      () => opts?.default,
      { key, opts },
    );
  }

  /** `get` on an open store without the generator driver: the network backends' hot path. */
  async #getAsync<T>(
    store: Store,
    key: string,
    opts: GetOptions<T> | undefined,
  ): Promise<T | undefined> {
    const hint = this.#keyWithHint(key, opts?.version);
    const made = hint.made;
    let payload: Payload | undefined;
    try {
      payload = (await this.#call(store, 'get', (s) => s.get(made, hint))) as Payload | undefined;
    } catch (error) {
      if (this.#core.failOpen && error instanceof BackendError) {
        this.#reportFailOpen(error, 'get', { key, opts });
        return opts?.default;
      }
      throw error;
    }
    return this.#finishGet(payload, key, made, opts);
  }

  getSync<T = unknown>(key: string, opts?: GetOptions<T>): T | undefined {
    // Kept tiny so that it is inlined into callers; everything unusual is in #getSyncGuarded.
    const core = this.#core;
    const current = core.handle.current;
    if (current !== undefined && current.capabilities.sync && core.direct) {
      return this.#getFrom(current, key, opts);
    }
    return this.#getSyncGuarded(key, opts);
  }

  #getSyncGuarded<T>(key: string, opts: GetOptions<T> | undefined): T | undefined {
    if (!this.#core.direct) {
      return this.#runSync(
        'get',
        () => this.#getProgram(key, opts),
        () => opts?.default,
        { key, opts },
      );
    }
    return this.#getFrom(this.#syncStore('get'), key, opts);
  }

  #getFrom<T>(store: Store, key: string, opts: GetOptions<T> | undefined): T | undefined {
    const hint = this.#keyWithHint(key, opts?.version);
    const made = hint.made;
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
    // The hot case, kept small: a stored reference (memory `serialize: false`) is the value.
    if (
      core.references &&
      payload !== undefined &&
      (!staleBoxesMade || !((payload as unknown) instanceof StaleBox))
    ) {
      core.observer.hits++;
      if (core.observer.listensToHit) this.#emitHit(key, made);
      return payload as T;
    }
    return this.#decodeGet(payload, key, made, opts);
  }

  #emitHit(key: string, madeKey: string): void {
    this.#core.observer.emit('hit', { key, madeKey });
  }

  #decodeGet<T>(
    payload: Payload | undefined,
    key: string,
    made: string,
    opts: GetOptions<T> | undefined,
  ): T | undefined {
    const value = this.#decode(payload, key, made, 'get');
    if (value === MISS) {
      this.#counted('miss', key, made);
      return opts?.default;
    }
    const observer = this.#core.observer;
    observer.hits++;
    if (observer.listensToHit) this.#emitHit(key, made);
    return value as T;
  }

  // ---- single-key writes ------------------------------------------------------------------

  /** Stores `value` under `key`. `undefined` is an `InvalidValueError`; timeout `0` removes the key instead. */
  set(key: string, value: unknown, opts?: StoreOptions): Promise<void> {
    return this.#run('set', () => this.#setProgram(key, value, opts), undefined, { key, opts });
  }

  setSync(key: string, value: unknown, opts?: StoreOptions): void {
    this.#runSync('set', () => this.#setProgram(key, value, opts), undefined, { key, opts });
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
    return this.#run('add', () => this.#addProgram(key, value, opts), undefined, { key, opts });
  }

  addSync(key: string, value: unknown, opts?: StoreOptions): boolean {
    return this.#runSync('add', () => this.#addProgram(key, value, opts), undefined, { key, opts });
  }

  *#addProgram(key: string, value: unknown, opts: StoreOptions | undefined): Program<boolean> {
    const { timeout, version } = parseStoreOptions(opts);
    const made = this.#make(key, version);
    const resolved = this.#expiry(timeout);
    const payload = this.#encode(value);
    if (resolved === 'discard') {
      return !this.#isLive((yield (store) => store.get(made)) as Payload | undefined);
    }
    const expiresAt = expiryFrom(this.#core.now(), resolved);
    let added = (yield (store) => store.add(made, payload, expiresAt)) as boolean;
    if (!added) {
      // An entry kept only for getOrSet's stale window is absent: swap it out, if it is still the
      // same entry (compare-and-delete), then add as usual.
      const held = (yield (store) => store.get(made)) as Payload | undefined;
      if (held !== undefined && !this.#isLive(held)) {
        const removed = (yield (store) => this.#deleteIfValue(store, made, held)) as boolean;
        if (removed) added = (yield (store) => store.add(made, payload, expiresAt)) as boolean;
      }
    }
    if (added) this.#counted('set', key, made);
    return added;
  }

  /** Compare-and-delete: the store's atomic one, else (custom stores without it) two steps. */
  #deleteIfValue(store: Store, made: string, value: Payload): MaybePromise<boolean> {
    if (store.deleteIfValue) return store.deleteIfValue(made, value);
    const held = store.get(made);
    const compareAndDelete = (current: Payload | undefined) =>
      current !== undefined && samePayload(current, value) ? store.delete(made) : false;
    return isPromiseLike(held)
      ? Promise.resolve(held).then(compareAndDelete)
      : compareAndDelete(held);
  }

  /** Removes `key`; `true` if something was removed. */
  delete(key: string, opts?: VersionOptions): Promise<boolean> {
    return this.#run('delete', () => this.#deleteProgram(key, opts), undefined, { key, opts });
  }

  deleteSync(key: string, opts?: VersionOptions): boolean {
    return this.#runSync('delete', () => this.#deleteProgram(key, opts), undefined, { key, opts });
  }

  *#deleteProgram(key: string, opts: VersionOptions | undefined): Program<boolean> {
    const made = this.#make(key, opts?.version);
    const removed = (yield (store) => store.delete(made)) as boolean;
    if (removed) this.#counted('delete', key, made);
    return removed;
  }

  /** Whether `key` is present and not expired (a stored `null` counts). */
  has(key: string, opts?: VersionOptions): Promise<boolean> {
    return this.#run('has', () => this.#hasProgram(key, opts), undefined, { key, opts });
  }

  hasSync(key: string, opts?: VersionOptions): boolean {
    return this.#runSync('has', () => this.#hasProgram(key, opts), undefined, { key, opts });
  }

  *#hasProgram(key: string, opts: VersionOptions | undefined): Program<boolean> {
    const made = this.#make(key, opts?.version);
    // Read, not EXISTS: an entry kept only for getOrSet's stale window counts as absent.
    const payload = (yield (store) => store.get(made)) as Payload | undefined;
    return this.#isLive(payload);
  }

  /** Present, and not past the logical expiry of a stale-window entry. */
  #isLive(payload: Payload | undefined): payload is Payload {
    if (payload === undefined) return false;
    return (
      !isWrapped(payload, this.#core.references) ||
      unwrapStale(payload, this.#core.references).expiresAt! > this.#core.now()
    );
  }

  /** Sets a new timeout from now; `false` if absent. Timeout 0 removes the entry (and returns `true` if it was there). */
  touch(key: string, opts?: StoreOptions): Promise<boolean> {
    return this.#run('touch', () => this.#touchProgram(key, opts), undefined, { key, opts });
  }

  touchSync(key: string, opts?: StoreOptions): boolean {
    return this.#runSync('touch', () => this.#touchProgram(key, opts), undefined, { key, opts });
  }

  *#touchProgram(key: string, opts: StoreOptions | undefined): Program<boolean> {
    const { timeout, version } = parseStoreOptions(opts);
    const made = this.#make(key, version);
    const resolved = this.#expiry(timeout);
    // Read first: an entry kept only for a stale window is absent, and one still live carries its
    // logical expiry in the payload, which must move with the new timeout.
    const payload = (yield (store) => store.get(made)) as Payload | undefined;
    if (!this.#isLive(payload)) return false;
    if (resolved === 'discard') {
      yield (store) => store.delete(made);
      return true;
    }
    const expiresAt = expiryFrom(this.#core.now(), resolved);
    if (!isWrapped(payload, this.#core.references))
      return (yield (store) => store.touch(made, expiresAt)) as boolean;
    const { payload: inner, expiresAt: logical } = unwrapStale(payload, this.#core.references);
    const physical = (yield (store) => store.expiry(made)) as number | null | undefined;
    if (physical === undefined) return false;
    if (expiresAt === null) {
      yield (store) => store.set(made, inner, null);
      return true;
    }
    const window = physical === null ? 0 : physical - logical!;
    const rewrapped = wrapStale(inner, expiresAt, this.#core.references);
    yield (store) => store.set(made, rewrapped, expiresAt + window);
    return true;
  }

  /** Seconds left (fractional), `null` if it never expires, `undefined` if absent. */
  ttl(key: string, opts?: VersionOptions): Promise<number | null | undefined> {
    return this.#run('ttl', () => this.#ttlProgram(key, opts), undefined, { key, opts });
  }

  ttlSync(key: string, opts?: VersionOptions): number | null | undefined {
    return this.#runSync('ttl', () => this.#ttlProgram(key, opts), undefined, { key, opts });
  }

  *#ttlProgram(key: string, opts: VersionOptions | undefined): Program<number | null | undefined> {
    const made = this.#make(key, opts?.version);
    const payload = (yield (store) => store.get(made)) as Payload | undefined;
    if (!this.#isLive(payload)) return undefined;
    const expiresAt = isWrapped(payload, this.#core.references)
      ? unwrapStale(payload, this.#core.references).expiresAt!
      : ((yield (store) => store.expiry(made)) as number | null | undefined);
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
    try {
      return (yield (store) => store.incr(made, delta)) as number;
    } catch (error) {
      if (!(error instanceof InvalidValueError)) throw error;
      // Not plain integer text: maybe an integer getOrSet stored with a stale window.
      return yield* this.#incrWrapped(key, made, delta, error);
    }
  }

  /**
   * `incr` of an integer wrapped with its logical expiry: absent past that expiry, otherwise
   * replaced by compare-and-swap (retried if another writer got there first).
   */
  *#incrWrapped(
    key: string,
    made: string,
    delta: number,
    notInteger: InvalidValueError,
  ): Program<number> {
    const references = this.#core.references;
    for (let attempt = 0; attempt < 20; attempt++) {
      const payload = (yield (store) => store.get(made)) as Payload | undefined;
      // Not wrapped: the store's own answer stands.
      if (payload === undefined || !isWrapped(payload, references)) throw notInteger;
      const { payload: inner, expiresAt } = unwrapStale(payload, references);
      if (expiresAt! <= this.#core.now()) throw new KeyNotFoundError(`key "${key}" not found`);
      const current = references
        ? typeof inner === 'number' && Number.isSafeInteger(inner)
          ? (inner as number)
          : undefined
        : parseIntegerPayload(inner);
      if (current === undefined)
        throw new InvalidValueError(`the value under "${key}" is not an integer`);
      const next = current + delta;
      if (!Number.isSafeInteger(next)) {
        throw new InvalidValueError(`incr of "${key}" would leave the safe integer range`);
      }
      const keepUntil = (yield (store) => store.expiry(made)) as number | null | undefined;
      if (keepUntil === undefined) throw new KeyNotFoundError(`key "${key}" not found`);
      const replacement = wrapStale(
        (references ? next : String(next)) as Payload,
        expiresAt!,
        references,
      );
      if ((yield (store) => this.#deleteIfValue(store, made, payload)) as boolean) {
        yield (store) => store.set(made, replacement, keepUntil);
        return next;
      }
    }
    throw new InvalidValueError(`incr of "${key}" kept losing to concurrent writers`);
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
    const expiresAt = !this.#isLive(payload)
      ? undefined
      : ((yield (store) => store.expiry(from)) as number | null | undefined);
    if (payload === undefined || expiresAt === undefined)
      throw new KeyNotFoundError(`key "${key}" not found (version ${version})`);
    if (delta === 0) return version;
    const moved = (yield (store) => (store.move ? store.move(from, to) : undefined)) as
      boolean | undefined;
    if (moved === false) throw new KeyNotFoundError(`key "${key}" not found (version ${version})`);
    if (moved === undefined) {
      yield (store) => store.set(to, payload, expiresAt);
      yield (store) => store.delete(from);
    }
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
    return this.#run(
      'setMany',
      () => this.#setManyProgram(entries, opts),
      () => toEntries(entries).map(([key]) => key),
    );
  }

  setManySync(
    entries: Map<string, unknown> | Record<string, unknown> | Iterable<readonly [string, unknown]>,
    opts?: StoreOptions,
  ): string[] {
    return this.#runSync(
      'setMany',
      () => this.#setManyProgram(entries, opts),
      () => toEntries(entries).map(([key]) => key),
    );
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
    const store = await this.#open('keys');
    const iterable = (await this.#call(store, 'keys', (s) => s.keys(scope.match))) as
      AsyncIterable<string> | Iterable<string>;
    const iterator =
      Symbol.asyncIterator in iterable
        ? iterable[Symbol.asyncIterator]()
        : (iterable as Iterable<string>)[Symbol.iterator]();
    // Entries kept only for a stale window are absent here, and only their payload tells: check
    // in batches, unless this store is private to the process and never held such an entry.
    const check = store.capabilities.shared === true || staleWrittenTo.has(store.client ?? store);
    const batch: string[] = [];
    for (;;) {
      // Pulled step by step through the breaker and the operation timeout, so that a store
      // failing or hanging part-way (a SCAN error) behaves like any other operation.
      const step = (await this.#call(store, 'keys', () =>
        iterator.next(),
      )) as IteratorResult<string>;
      if (!step.done) {
        if (!check) {
          yield scope.toCallerKey(step.value);
          continue;
        }
        batch.push(step.value);
        if (batch.length < KEYS_CHECK_BATCH) continue;
      }
      if (batch.length > 0) {
        const stored = batch.splice(0);
        const payloads = (await this.#call(store, 'keys', (s) => s.getMany(stored))) as Array<
          Payload | undefined
        >;
        for (let i = 0; i < stored.length; i++) {
          if (this.#isLive(payloads[i])) yield scope.toCallerKey(stored[i]!);
        }
      }
      if (step.done) return;
    }
  }

  // ---- getOrSet ---------------------------------------------------------------------------

  /**
   * The value under `key`, or, on a miss, the loader's value, which is then added (a stored `null`
   * is a hit). Concurrent misses in this process share one loader call; with `lock`, one loader
   * call across every process sharing the store. Loader errors propagate and nothing is stored; an
   * `undefined` result is returned and not stored. A failing backend never fails this call: the
   * loader's value is returned and the failure reported. See {@link LoadOptions} for stale
   * windows, jitter, `nullTimeout` and loader timeouts.
   */
  async getOrSet<T>(
    key: string,
    valueOrLoader: ValueOrLoader<T>,
    opts?: GetOrSetOptions,
  ): Promise<T> {
    const { timeout, version } = parseStoreOptions(opts);
    const core = this.#core;
    const resolved = this.#expiry(timeout);
    const load = resolveLoadOptions(
      isStoreOptionsObject(opts) ? opts : {},
      core.config.defaultTimeoutMs,
    );
    if (core.keys.pending) await core.keys.load();
    const made = this.#make(key, version);
    const lockMade = load.lock ? this.#make(LOCK_KEY_PREFIX + key, version) : '';

    let store: Store | undefined;
    try {
      store = await this.#open('getOrSet');
    } catch (error) {
      if (!(error instanceof BackendError)) throw error;
      this.#report(error, 'getOrSet', key, made);
    }
    const flights = flightsFor(store?.client ?? store ?? core);
    const joined = flights.get(made);
    if (joined) return joined as Promise<T>;

    const read: LoadRead = { stale: undefined, found: false, failed: store === undefined };
    if (store) {
      try {
        const payload = (await this.#call(store, 'getOrSet', (s) => s.get(made))) as
          Payload | undefined;
        if (payload !== undefined) {
          read.found = true;
          const { payload: inner, expiresAt } = unwrapStale(payload, this.#core.references);
          const value = this.#decode(inner, key, made, 'getOrSet');
          if (value !== MISS) {
            if (expiresAt === undefined || expiresAt > core.now()) {
              this.#counted('hit', key, made);
              return value as T;
            }
            read.stale = { value, expiredAt: expiresAt };
          }
        }
      } catch (error) {
        this.#report(error, 'getOrSet', key, made);
        read.failed = true;
      }
    }
    this.#counted('miss', key, made);

    const staleAge = read.stale ? core.now() - read.stale.expiredAt : Infinity;
    if (store && read.stale && staleAge <= load.staleWhileRevalidateMs) {
      // Serve the stale value now; one background refresh per store and key.
      this.#emitStale(key, made, 'revalidate');
      const refreshKey = made + REFRESH_FLIGHT;
      if (!flights.has(refreshKey) && !flights.has(made)) {
        const refresh = this.#load(store, key, made, lockMade, valueOrLoader, resolved, load, read);
        flights.set(refreshKey, refresh);
        refresh.then(
          () => flights.delete(refreshKey),
          (error: unknown) => {
            flights.delete(refreshKey);
            this.#report(error, 'getOrSet', key, made);
          },
        );
      }
      return read.stale.value as T;
    }
    const refreshing = flights.get(made + REFRESH_FLIGHT) as Promise<T> | undefined;
    if (refreshing && read.stale)
      return this.#joinRefresh(refreshing, key, made, read.stale, staleAge, load);
    const again = flights.get(made);
    if (again) return again as Promise<T>;
    const flight = this.#load(store, key, made, lockMade, valueOrLoader, resolved, load, read);
    flights.set(made, flight);
    const done = () => flights.delete(made);
    flight.then(done, done);
    return flight;
  }

  /**
   * A caller holding a stale value while a background load for the key runs (after another caller's
   * soft timeout): wait for it within this call's own soft timeout, or fall back to the stale value
   * if it fails within this call's `staleIfError` window.
   */
  async #joinRefresh<T>(
    refreshing: Promise<T>,
    key: string,
    made: string,
    stale: NonNullable<LoadRead['stale']>,
    staleAge: number,
    load: ResolvedLoadOptions,
  ): Promise<T> {
    try {
      if (load.softTimeoutMs !== undefined && staleAge <= load.keepStaleMs) {
        const first = await Promise.race([
          refreshing.then((loaded) => ({ loaded })),
          delay(load.softTimeoutMs),
        ]);
        if (first !== undefined) return first.loaded;
        this.#emitStale(key, made, 'soft-timeout');
        return stale.value as T;
      }
      return await refreshing;
    } catch (error) {
      if (staleAge <= load.staleIfErrorMs) {
        this.#emitStale(key, made, 'error');
        return stale.value as T;
      }
      throw error;
    }
  }

  /** The fresh value under `made`, or `MISS` (absent, stale, undecodable, or the store failed). */
  async #readFresh(store: Store, key: string, made: string): Promise<unknown> {
    try {
      return this.#decode(
        (await this.#call(store, 'getOrSet', (s) => s.get(made))) as Payload | undefined,
        key,
        made,
        'getOrSet',
      );
    } catch (error) {
      this.#report(error, 'getOrSet', key, made);
      return MISS;
    }
  }

  /** Runs the loader for a miss (under the cross-process lock if asked) and stores its value. */
  async #load<T>(
    store: Store | undefined,
    key: string,
    made: string,
    lockMade: string,
    valueOrLoader: ValueOrLoader<T>,
    resolved: ResolvedTimeout,
    load: ResolvedLoadOptions,
    read: LoadRead,
  ): Promise<T> {
    let lock: Lock | undefined;
    if (load.lock && store && !read.failed) {
      let found: unknown = MISS;
      try {
        // Waiters re-check the cache between attempts: the holder's value ends the wait.
        lock = await acquireLock(
          this.#lockPrimitives(),
          key,
          lockMade,
          load.lock.ttlMs,
          load.lock.waitMs,
          this.#core.now,
          async () => (found = await this.#readFresh(store, key, made)) !== MISS,
        );
      } catch (error) {
        // Waited long enough (LockTimeoutError) or the store failed: load without the lock.
        if (!(error instanceof LockTimeoutError)) this.#report(error, 'getOrSet', key, made);
      }
      if (found !== MISS) return found as T;
      if (lock) {
        const fresh = await this.#readFresh(store, key, made);
        if (fresh !== MISS) {
          await this.#releaseQuietly(lock, key, made);
          return fresh as T;
        }
      }
    }
    try {
      return await this.#callLoaderAndStore(store, key, made, valueOrLoader, resolved, load, read);
    } finally {
      if (lock) await this.#releaseQuietly(lock, key, made);
    }
  }

  async #releaseQuietly(lock: Lock, key: string, made: string): Promise<void> {
    try {
      await lock.release();
    } catch (error) {
      this.#report(error, 'getOrSet', key, made);
    }
  }

  async #callLoaderAndStore<T>(
    store: Store | undefined,
    key: string,
    made: string,
    valueOrLoader: ValueOrLoader<T>,
    resolved: ResolvedTimeout,
    load: ResolvedLoadOptions,
    read: LoadRead,
  ): Promise<T> {
    const loader =
      typeof valueOrLoader === 'function'
        ? (valueOrLoader as () => T | Promise<T>)
        : () => valueOrLoader;
    const staleAge = read.stale ? this.#core.now() - read.stale.expiredAt : Infinity;
    const pending = callLoader(loader, load.hardTimeoutMs, key);
    let value: T;
    try {
      if (read.stale && load.softTimeoutMs !== undefined && staleAge <= load.keepStaleMs) {
        const first = await Promise.race([
          pending.then((loaded) => ({ loaded })),
          delay(load.softTimeoutMs),
        ]);
        if (first === undefined) {
          // Slow loader: answer with the stale value; the loader finishes and stores on its own,
          // registered as the key's background refresh so later callers join it, not start another.
          this.#emitStale(key, made, 'soft-timeout');
          const flights = flightsFor(store?.client ?? store ?? this.#core);
          const refreshKey = made + REFRESH_FLIGHT;
          const continuation = pending.then((loaded) =>
            this.#storeLoaded(store, key, made, loaded, resolved, load, read),
          );
          flights.set(refreshKey, continuation);
          continuation.then(
            () => flights.delete(refreshKey),
            (error: unknown) => {
              flights.delete(refreshKey);
              this.#report(error, 'getOrSet', key, made);
            },
          );
          return read.stale.value as T;
        }
        value = first.loaded;
      } else {
        value = await pending;
      }
    } catch (error) {
      if (read.stale && staleAge <= load.staleIfErrorMs) {
        this.#report(error, 'getOrSet', key, made);
        this.#emitStale(key, made, 'error');
        return read.stale.value as T;
      }
      throw error;
    }
    return this.#storeLoaded(store, key, made, value, resolved, load, read);
  }

  /** Stores a loaded value; returns it, or what another writer stored first. */
  async #storeLoaded<T>(
    store: Store | undefined,
    key: string,
    made: string,
    value: T,
    resolved: ResolvedTimeout,
    load: ResolvedLoadOptions,
    read: LoadRead,
  ): Promise<T> {
    if (value === undefined || !store) return value;
    const entry = this.#loadedEntry(store, value, resolved, load);
    if (!entry) return value;
    const { payload, keepUntil } = entry;
    // An entry kept for its stale window (or undecodable) is still there: replace it, not add.
    const replace = read.found;
    const write = async (): Promise<boolean> => {
      try {
        if (!replace) {
          return (await this.#call(store, 'getOrSet', (s) =>
            s.add(made, payload, keepUntil),
          )) as boolean;
        }
        await this.#call(store, 'getOrSet', (s) => s.set(made, payload, keepUntil));
        return true;
      } catch (error) {
        this.#report(error, 'getOrSet', key, made);
        return true;
      }
    };
    // After a failed read the backend is likely down: do not make the caller wait for the write too.
    if (read.failed) {
      void write();
      return value;
    }
    if (await write()) {
      this.#counted('set', key, made);
      return value;
    }
    // Someone else stored first: return what the cache holds, as Django's get_or_set does.
    const held = await this.#readFresh(store, key, made);
    return held === MISS ? value : (held as T);
  }

  /**
   * What `getOrSet` stores for a loaded value: its payload (wrapped with its logical expiry when the
   * call keeps a stale window) and how long the store keeps it; `undefined` when nothing is kept
   * (timeout 0). Applies `nullTimeout` and `jitter` (the stale window itself is not jittered).
   */
  #loadedEntry(
    store: Store,
    value: unknown,
    resolved: ResolvedTimeout,
    load: ResolvedLoadOptions,
  ): { payload: Payload; keepUntil: number | null } | undefined {
    const core = this.#core;
    const timeout = applyJitter(
      value === null && load.nullTimeout !== undefined ? load.nullTimeout : resolved,
      load.jitter,
    );
    if (timeout === 'discard') return undefined;
    const payload = this.#encode(value);
    const expiresAt = expiryFrom(core.now(), timeout);
    if (load.keepStaleMs === 0 || expiresAt === null) return { payload, keepUntil: expiresAt };
    staleWrittenTo.add(store.client ?? store);
    return {
      payload: wrapStale(payload, expiresAt, core.references),
      keepUntil: expiresAt + load.keepStaleMs,
    };
  }

  #emitStale(key: string, madeKey: string, reason: 'revalidate' | 'error' | 'soft-timeout'): void {
    const observer = this.#core.observer;
    if (observer.listens('stale')) observer.emit('stale', { key, madeKey, reason });
  }

  /**
   * `getOrSet` with a synchronous loader, on sync backends. Supports `timeout`, `version`,
   * `jitter`, `nullTimeout` and `staleIfError`; the other options need the async API.
   */
  getOrSetSync<T>(key: string, valueOrLoader: T | (() => T), opts?: GetOrSetOptions): T {
    const { timeout, version } = parseStoreOptions(opts);
    const core = this.#core;
    const resolved = this.#expiry(timeout);
    const load = resolveLoadOptions(
      isStoreOptionsObject(opts) ? opts : {},
      core.config.defaultTimeoutMs,
    );
    if (
      load.lock ||
      load.staleWhileRevalidateMs ||
      load.softTimeoutMs !== undefined ||
      load.hardTimeoutMs !== undefined
    ) {
      throw new InvalidValueError(
        'lock, staleWhileRevalidate, softTimeout and hardTimeout need getOrSet()',
      );
    }
    const store = this.#syncStore('getOrSet');
    const made = this.#make(key, version);
    const payload = this.#callSync('getOrSet', () => store.get(made));
    let stale: LoadRead['stale'];
    if (payload !== undefined) {
      const { payload: inner, expiresAt } = unwrapStale(payload, this.#core.references);
      const found = this.#decode(inner, key, made, 'getOrSet');
      if (found !== MISS) {
        if (expiresAt === undefined || expiresAt > core.now()) {
          this.#counted('hit', key, made);
          return found as T;
        }
        stale = { value: found, expiredAt: expiresAt };
      }
    }
    this.#counted('miss', key, made);
    let value: T;
    try {
      value = typeof valueOrLoader === 'function' ? (valueOrLoader as () => T)() : valueOrLoader;
    } catch (error) {
      if (stale && core.now() - stale.expiredAt <= load.staleIfErrorMs) {
        this.#report(error, 'getOrSet', key, made);
        this.#emitStale(key, made, 'error');
        return stale.value as T;
      }
      throw error;
    }
    if (isPromiseLike(value)) {
      throw new InvalidValueError('getOrSetSync needs a synchronous loader; use getOrSet()');
    }
    if (value === undefined) return value;
    const entry = this.#loadedEntry(store, value, resolved, load);
    if (!entry) return value;
    const { payload: stored, keepUntil } = entry;
    if (payload !== undefined) {
      this.#callSync('getOrSet', () => store.set(made, stored, keepUntil));
      this.#counted('set', key, made);
      return value;
    }
    if (this.#callSync('getOrSet', () => store.add(made, stored, keepUntil))) {
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

  // ---- locks and run-once -----------------------------------------------------------------

  /** Atomic store calls for locks; compare-and-delete falls back to two steps on stores without it. */
  #lockPrimitives(): LockPrimitives {
    const token = (value: string) => this.#encode(value);
    const run = <R>(operation: string, call: StoreCall) =>
      this.#run(operation, function* (): Program<R> {
        return (yield call) as R;
      });
    return {
      tryAdd: (made, value, ttlMs) =>
        run<boolean>('lock', (s) => s.add(made, token(value), this.#core.now() + ttlMs)),
      deleteIfToken: (made, value) =>
        run<boolean>('lock', (s) => this.#deleteIfValue(s, made, token(value))),
      touchIfToken: (made, value, ttlMs) =>
        run<boolean>('lock', async (s) => {
          const expiresAt = this.#core.now() + ttlMs;
          if (s.touchIfValue) return s.touchIfValue(made, token(value), expiresAt);
          const held = await s.get(made);
          return (
            held !== undefined &&
            samePayload(held, token(value)) &&
            (await s.touch(made, expiresAt))
          );
        }),
      event: (name, madeKey, action) => {
        const observer = this.#core.observer;
        if (observer.listens('lock')) observer.emit('lock', { key: name, madeKey, action });
      },
    };
  }

  /**
   * Acquires the lock `name` (through key making, so prefixes isolate locks), waiting up to `wait`.
   * @param opts `ttl`: the lock's lifetime (default 10 s); `wait`: how long to try (default 10 s; 0 = once)
   * @throws LockTimeoutError after `wait`
   */
  async lock(name: string, opts: { ttl?: Duration; wait?: Duration } = {}): Promise<Lock> {
    const ttlMs = opts.ttl === undefined ? DEFAULT_LOCK_MS : durationToMs(opts.ttl, 'ttl');
    const waitMs = opts.wait === undefined ? DEFAULT_LOCK_MS : durationToMs(opts.wait, 'wait');
    if (ttlMs <= 0) throw new InvalidValueError(`ttl must be positive, got ${String(opts.ttl)}`);
    const made = this.#make(name, undefined);
    return (await acquireLock(this.#lockPrimitives(), name, made, ttlMs, waitMs, this.#core.now))!;
  }

  /**
   * Leader election: exactly one caller across the processes sharing the store runs `fn`; the
   * others wait for its done flag (`${name}:done`) and return `{ ran: false }`. The leader's lock
   * (`${name}:lock`) lives `ttl` (default 60 s) and is renewed while `fn` runs, so a crashed
   * leader is replaced within `ttl`; the done flag also lasts `ttl`. If `fn` throws, the leader
   * rejects with that error, no flag is written, and one waiter runs `fn` next.
   * @throws LockTimeoutError when `wait` (default `ttl`) runs out
   */
  async runOnce(
    name: string,
    fn: () => unknown,
    opts: { ttl?: Duration; wait?: Duration } = {},
  ): Promise<{ ran: boolean }> {
    const ttlMs = opts.ttl === undefined ? 60_000 : durationToMs(opts.ttl, 'ttl');
    const waitMs = opts.wait === undefined ? ttlMs : durationToMs(opts.wait, 'wait');
    if (ttlMs <= 0) throw new InvalidValueError(`ttl must be positive, got ${String(opts.ttl)}`);
    const doneKey = `${name}:done`;
    const lockName = `${name}:lock`;
    const now = this.#core.now;
    const deadline = now() + waitMs;
    for (let attempt = 0; ; attempt++) {
      if (await this.has(doneKey)) return { ran: false };
      let lock: Lock | undefined;
      try {
        lock = await this.lock(lockName, { ttl: ttlMs / 1000, wait: 0 });
      } catch (error) {
        if (!(error instanceof LockTimeoutError)) throw error;
      }
      if (lock) {
        try {
          if (await this.has(doneKey)) return { ran: false };
          const renewal = setInterval(() => {
            lock.extend().catch((error: unknown) => this.#report(error, 'runOnce', name, ''));
          }, ttlMs / 3);
          renewal.unref();
          try {
            await fn();
          } finally {
            clearInterval(renewal);
          }
          await this.set(doneKey, true, ttlMs / 1000);
          return { ran: true };
        } finally {
          await lock.release().catch((error: unknown) => this.#report(error, 'runOnce', name, ''));
        }
      }
      if (now() >= deadline) {
        throw new LockTimeoutError(
          `runOnce "${name}": no done flag and no lock within ${waitMs} ms`,
        );
      }
      await backoff(attempt);
    }
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
