/**
 * The store guard: everything that stands between a cache operation and a store call, written
 * once for the async and the sync paths. It
 *
 * - publishes the call on the `skycache:operation` tracing channel (when anyone subscribes);
 * - lets it through the circuit breaker (or fails fast while the breaker is open);
 * - bounds an async call by `operationTimeout` (unless the store bounds its own operations);
 * - wraps the store's failures in `BackendError`, leaving skycache's own errors
 *   (`KeyNotFoundError`, `InvalidValueError`) unchanged and not counting them against the breaker;
 * - decides whether a failure becomes a `failOpen` result ({@link StoreGuard.recover}).
 *
 * "What happens when Redis times out during getOrSet" starts here: the timeout becomes a
 * `BackendError` in {@link StoreGuard.call}; the loading handler (`core/load/`) then reports it and
 * returns the loader's value. To guard one store on its own (a second tier), see `guarded-store.ts`.
 */
import { BackendError, CacheError, toBackendError } from '../errors.js';
import type { CircuitState } from '../events.js';
import type { Continuation, MaybePromise, Store } from '../store.js';
import { withDeadline } from '../deadline.js';
import { isPromiseLike } from '../maybe-promise.js';
import { Watchdog } from '../watchdog.js';
import { operationChannel } from '../tracing.js';
import { CircuitBreaker, type CircuitBreakerOptions } from './breaker.js';
import type { CacheOperation } from './operations.js';

/** One store call in an operation. */
export type StoreCall = (store: Store) => MaybePromise<unknown>;

/** What a guard needs to know about its cache. */
export interface GuardSettings {
  readonly alias: string;
  /** For tracing contexts. */
  readonly backendName: string;
  /** Async calls slower than this fail (ms), unless the store bounds its own operations. */
  readonly operationTimeoutMs: number;
  /** `undefined`: no breaker. */
  readonly circuitBreaker: CircuitBreakerOptions | undefined;
  readonly failOpen: boolean;
  readonly now: () => number;
}

/** A failure of the store itself, as opposed to skycache's own errors thrown through it. */
function isBackendFailure(error: unknown): boolean {
  return !(error instanceof CacheError) || error instanceof BackendError;
}

/** One hot-path store call and what becomes of its outcome ({@link StoreGuard.submit}). */
export interface GuardedRequest<R> {
  /** The store call. */
  call(store: Store): MaybePromise<unknown>;
  /** The answer, from the store's result. */
  value(result: unknown): R | PromiseLike<R>;
  /** The answer when the call failed (its error already wrapped); may rethrow. */
  error(error: CacheError): R;
  /**
   * Optional: the store call made with the store's continuation form (`Store.getThen`), handing
   * its outcome to `next`; `undefined` when the store has none (then {@link call} is used).
   */
  callThen?(store: Store, next: Continuation<R>): Promise<R> | undefined;
}

/** The breaker bookkeeping for a failed call, and the error the caller sees. */
function failureOf(
  breaker: CircuitBreaker | undefined,
  alias: string,
  error: unknown,
  operation: string,
  ticket: number | undefined,
): CacheError {
  if (isBackendFailure(error)) breaker?.failed(ticket);
  else breaker?.succeeded();
  return toBackendError(error, `${operation} on cache "${alias}"`);
}

/**
 * A request's continuation for a store that hands its outcome on itself: the breaker bookkeeping
 * and the error wrapping of {@link StoreGuard.submit}, then the request's own handling.
 */
class GuardedReply<R> implements Continuation<R> {
  constructor(
    private readonly request: GuardedRequest<R>,
    private readonly breaker: CircuitBreaker | undefined,
    private readonly alias: string,
    private readonly operation: CacheOperation,
    private readonly ticket: number | undefined,
  ) {}

  value(result: unknown): R | PromiseLike<R> {
    this.breaker?.succeeded();
    return this.request.value(result);
  }

  error(error: unknown): R {
    const { breaker, alias, operation, ticket } = this;
    return this.request.error(failureOf(breaker, alias, error, operation, ticket));
  }
}

/** `request.error(error)` as a settled promise. */
function settleError<R>(request: GuardedRequest<R>, error: CacheError): Promise<R> {
  try {
    return Promise.resolve(request.error(error));
  } catch (thrown) {
    return Promise.reject(thrown as Error);
  }
}

/** The guard of one cache object (its namespace views share it, and its breaker). */
export class StoreGuard {
  readonly #settings: GuardSettings;
  readonly #breaker: CircuitBreaker | undefined;
  /** Watches the operation timeouts of calls on stores that do not bound their own. */
  readonly #watchdog: Watchdog | undefined;
  /** No breaker and no failOpen: a sync store may be called straight through on the hot path. */
  readonly passThrough: boolean;

  constructor(settings: GuardSettings) {
    this.#settings = settings;
    this.#breaker = settings.circuitBreaker
      ? new CircuitBreaker(settings.circuitBreaker, settings.now, settings.alias)
      : undefined;
    this.passThrough = this.#breaker === undefined && !settings.failOpen;
    this.#watchdog = Watchdog.for(settings.operationTimeoutMs);
  }

  get circuit(): CircuitState {
    return this.#breaker?.state ?? 'closed';
  }

  get failOpen(): boolean {
    return this.#settings.failOpen;
  }

  /** One async store call: traced, through the breaker, bounded in time, failures wrapped. */
  call(store: Store, operation: CacheOperation, call: StoreCall): Promise<unknown> {
    if (store.capabilities.guarded) return this.#unguarded(operation, () => call(store));
    const timed = !(store.capabilities.sync || store.capabilities.boundsOperations);
    if (!operationChannel.hasSubscribers) return this.#guarded(operation, () => call(store), timed);
    return operationChannel.tracePromise(
      () => this.#guarded(operation, () => call(store), timed),
      this.#traceContext(operation),
    );
  }

  /**
   * {@link call} for the hot paths (`get`, `set`): the same breaker, operation timeout and error
   * wrapping, without an async frame of its own, so the store's answer reaches `request.value` (or
   * its wrapped failure `request.error`) in one `then`. One request object per call, no closures
   * of the caller's. A traced call, or one on a store that guards itself, goes through
   * {@link call}.
   */
  submit<R>(store: Store, operation: CacheOperation, request: GuardedRequest<R>): Promise<R> {
    if (store.capabilities.guarded || operationChannel.hasSubscribers) {
      return this.call(store, operation, (s) => request.call(s)).then(
        (value) => request.value(value),
        (error: CacheError) => request.error(error),
      );
    }
    const breaker = this.#breaker;
    let ticket: number | undefined;
    let result: MaybePromise<unknown>;
    try {
      ticket = breaker?.admit(operation);
    } catch (error) {
      return settleError(request, error as CacheError);
    }
    const bounded = store.capabilities.sync || store.capabilities.boundsOperations;
    try {
      if (bounded && request.callThen !== undefined) {
        const reply = new GuardedReply(request, breaker, this.#settings.alias, operation, ticket);
        const answer = request.callThen(store, reply);
        if (answer !== undefined) return answer;
      }
      result = request.call(store);
    } catch (error) {
      return settleError(request, this.#failure(error, operation, ticket));
    }
    if (!isPromiseLike(result)) {
      breaker?.succeeded();
      try {
        return Promise.resolve(request.value(result));
      } catch (error) {
        return Promise.reject(error as Error);
      }
    }
    if (!bounded) {
      const ms = this.#settings.operationTimeoutMs;
      result = withDeadline(result, ms, () => this.#timedOut(operation), this.#watchdog);
    }
    return Promise.resolve(result).then(
      (value) => {
        breaker?.succeeded();
        return request.value(value);
      },
      (error: unknown) => request.error(this.#failure(error, operation, ticket)),
    );
  }

  /** One sync store call: traced, through the breaker, failures wrapped like the async ones. */
  callSync(store: Store, operation: CacheOperation, call: StoreCall): unknown {
    if (store.capabilities.guarded) {
      try {
        return call(store);
      } catch (error) {
        throw toBackendError(error, `${operation}Sync on cache "${this.#settings.alias}"`);
      }
    }
    if (!operationChannel.hasSubscribers) return this.#guardedSync(operation, () => call(store));
    return operationChannel.traceSync(
      () => this.#guardedSync(operation, () => call(store)),
      this.#traceContext(operation),
    );
  }

  /**
   * A call on a store that guards its shared part itself (a tiered store): no breaker, no timer
   * here, so an L1 hit neither waits for L2 nor counts for its breaker; failures still come out as
   * `BackendError`s.
   */
  async #unguarded(operation: CacheOperation, run: () => MaybePromise<unknown>): Promise<unknown> {
    try {
      return await run();
    } catch (error) {
      throw toBackendError(error, `${operation} on cache "${this.#settings.alias}"`);
    }
  }

  /** Opens a store through the breaker: a backend that will not open counts as a failure. */
  open(open: () => Promise<Store>, operation: CacheOperation): Promise<Store> {
    return this.#guarded(operation, open, false) as Promise<Store>;
  }

  /**
   * The failOpen decision, for every operation alike: a `BackendError` becomes `fallback()` (after
   * `report`) when the cache fails open and the operation has a fallback; anything else rethrows.
   */
  recover<R>(error: unknown, fallback: (() => R) | undefined, report: () => void): R {
    if (fallback !== undefined && this.#settings.failOpen && error instanceof BackendError) {
      report();
      return fallback();
    }
    throw error;
  }

  #timedOut(operation: CacheOperation): BackendError {
    const ms = this.#settings.operationTimeoutMs;
    return new BackendError(`${operation} took longer than operationTimeout (${ms} ms)`);
  }

  #traceContext(operation: CacheOperation) {
    return { operation, alias: this.#settings.alias, backend: this.#settings.backendName };
  }

  async #guarded(
    operation: CacheOperation,
    run: () => MaybePromise<unknown>,
    timed: boolean,
  ): Promise<unknown> {
    const ticket = this.#breaker?.admit(operation);
    try {
      let result = run();
      if (isPromiseLike(result)) {
        result = await (timed
          ? withDeadline(
              result,
              this.#settings.operationTimeoutMs,
              () => this.#timedOut(operation),
              this.#watchdog,
            )
          : result);
      }
      this.#breaker?.succeeded();
      return result;
    } catch (error) {
      throw this.#failure(error, operation, ticket);
    }
  }

  #guardedSync(operation: CacheOperation, run: () => MaybePromise<unknown>): unknown {
    const ticket = this.#breaker?.admit(operation);
    try {
      const result = run();
      if (isPromiseLike(result)) throw new TypeError('a sync store returned a Promise');
      this.#breaker?.succeeded();
      return result;
    } catch (error) {
      throw this.#failure(error, `${operation}Sync`, ticket);
    }
  }

  /** Breaker bookkeeping for a failed call, and the error the caller sees. */
  #failure(error: unknown, operation: string, ticket: number | undefined): CacheError {
    return failureOf(this.#breaker, this.#settings.alias, error, operation, ticket);
  }
}
