/**
 * Events and counters of one cache object (its namespace views share them). This file is the one
 * place that changes a counter or emits an event: every operation reports through
 * {@link CacheObserver}'s methods, so stats and events cannot disagree. Emitting costs one property
 * read when nobody listens, so the hot path pays nothing for observability it does not use.
 */
import type { Logger } from './logger.js';
import { WarningFolder } from './report.js';

/** Payload of every event: the caller's key and the key the store saw. */
export interface CacheEventBase {
  readonly key: string;
  readonly madeKey: string;
}

/** Why `getOrSet` served an expired value. */
export type StaleReason = 'revalidate' | 'error' | 'soft-timeout';

/** What happened to a lock. */
export type LockAction = 'acquired' | 'released' | 'lost' | 'timeout';

/** The state of a cache's circuit breaker (`'closed'` when it has none). */
export type CircuitState = 'closed' | 'open' | 'half-open';

/**
 * Payload of `delete`. A single `delete` emits `{ key, madeKey }` (one entry). `deleteMany` emits one
 * event for the whole batch when it removed something: `key`/`madeKey` are the first requested
 * key, `keys` every requested caller key, `count` how many entries were removed (the store reports
 * a number, not which ones). `deletePattern` emits one event: `key` is the pattern, `madeKey` the
 * stored-key prefix it was matched under, `count` how many were removed.
 */
export interface DeleteEvent extends CacheEventBase {
  /** Batch deletes only: how many entries the event stands for (a single delete is one). */
  readonly count?: number;
  /** `deleteMany` only: every key the call asked to remove. */
  readonly keys?: readonly string[];
}

/** The events a cache emits, by name. */
export interface CacheEvents {
  /**
   * A lookup (`get`, `getMany` per key, `getOrSet`) found a live value. On a cache with `l1`,
   * `get` and `getOrSet` hits say which tier answered.
   */
  hit: CacheEventBase & { readonly tier?: 'l1' | 'l2' };
  /** A lookup found nothing live. */
  miss: CacheEventBase;
  /** A value was stored (`set`, `add` that stored, `setMany` per key, `getOrSet` after a load). */
  set: CacheEventBase;
  /** Entries were removed; see {@link DeleteEvent}. */
  delete: DeleteEvent;
  /** A problem that did not fail the call (an undecodable entry, a write after a loader ran). */
  error: CacheEventBase & { readonly error: Error; readonly operation: string };
  /** `getOrSet` served an expired value: `reason` says which window allowed it. */
  stale: CacheEventBase & { readonly reason: StaleReason };
  /** A lock was acquired, released, lost or given up on (`key` is the lock's name). */
  lock: CacheEventBase & { readonly action: LockAction };
  /**
   * `getOrSet` ran a loader (once per loader call; callers that joined it emit nothing).
   * `durationMs` is in milliseconds; `ok` is `false` when the loader threw or hit `hardTimeout`.
   */
  load: CacheEventBase & { readonly durationMs: number; readonly ok: boolean };
}

/** The name of a cache event. */
export type CacheEventName = keyof CacheEvents;

/** Counters since the cache object was made. Exact: read them at scrape time. */
export interface CacheStats {
  hits: number;
  misses: number;
  sets: number;
  /** Entries removed (batch deletes add how many they removed). */
  deletes: number;
  /** Problems reported (`error` events), failOpen results included. */
  errors: number;
  /** `hits / (hits + misses)`, `0` before any lookup. */
  hitRate: number;
  /** The circuit breaker's state now; `'closed'` without a breaker. */
  circuit: CircuitState;
  /** `errors` by the operation that reported them (`get`, `getOrSet`, `lock`…). */
  errorsByOperation: Record<string, number>;
  /** Stale values served by `getOrSet`, by the window that allowed them. */
  staleServed: Record<StaleReason, number>;
  /** Loader calls `getOrSet` ran (joiners not counted). */
  loads: number;
  /** Loader calls that threw or hit `hardTimeout`. */
  loadFailures: number;
  /** Times a caller had to wait for a lock another holder had. */
  lockWaits: number;
  /** Hits answered from the in-process first tier (`get`, `getMany`, `getOrSet`; `l1` only). */
  l1Hits: number;
  /** Hits answered from the shared store behind L1 (`get`, `getMany`, `getOrSet`; `l1` only). */
  l2Hits: number;
}

type Listener<E extends CacheEventName> = (event: CacheEvents[E]) => void;

/** What the observer needs from its cache to report problems. */
export interface ObserverContext {
  readonly alias: string;
  readonly logger: Logger;
  /** The breaker's state, read when `stats()` is called. */
  circuit(): CircuitState;
}

/** Listeners and counters; the only code that changes either. */
export class CacheObserver {
  hits = 0;
  misses = 0;
  #sets = 0;
  #deletes = 0;
  #errors = 0;
  #loads = 0;
  #loadFailures = 0;
  #lockWaits = 0;
  readonly #errorsByOperation: Record<string, number> = {};
  readonly #staleServed: Record<StaleReason, number> = {
    revalidate: 0,
    error: 0,
    'soft-timeout': 0,
  };
  readonly #listeners: { [E in CacheEventName]?: Set<Listener<E>> } = {};

  /** At most one warning per operation per second reaches the logger; events get every failure. */
  readonly #warnings: WarningFolder;

  constructor(private readonly context: ObserverContext) {
    this.#warnings = new WarningFolder(() => context.logger);
  }

  on<E extends CacheEventName>(event: E, listener: Listener<E>): void {
    let set = this.#listeners[event] as Set<Listener<E>> | undefined;
    if (!set) {
      set = new Set();
      (this.#listeners as Record<string, Set<Listener<E>>>)[event] = set;
    }
    set.add(listener);
    this.listensToHit = this.listens('hit');
  }

  off<E extends CacheEventName>(event: E, listener: Listener<E>): void {
    (this.#listeners[event] as Set<Listener<E>> | undefined)?.delete(listener);
    this.listensToHit = this.listens('hit');
  }

  /** Whether anyone listens to `hit` (a field, read on the hottest path). */
  listensToHit = false;

  /** Whether anyone listens to `event` (checked before building a payload). */
  listens(event: CacheEventName): boolean {
    return (this.#listeners[event]?.size ?? 0) > 0;
  }

  #emit<E extends CacheEventName>(event: E, payload: CacheEvents[E]): void {
    const set = this.#listeners[event] as Set<Listener<E>> | undefined;
    if (!set) return;
    for (const listener of set) {
      try {
        listener(payload);
      } catch {
        // A failing listener must not fail the cache operation that triggered it.
      }
    }
  }

  /** A lookup found a live value. (The hot paths inline `hits++` and call this only when listened.) */
  hit(key: string, madeKey: string, tier?: 'l1' | 'l2'): void {
    this.hits++;
    if (tier !== undefined) this.countTier(tier);
    if (this.listensToHit)
      this.#emit('hit', tier === undefined ? { key, madeKey } : { key, madeKey, tier });
  }

  /** Emits `hit` for a hit the hot path already counted. */
  emitHit(key: string, madeKey: string): void {
    this.#emit('hit', { key, madeKey });
  }

  /** Hits answered by each tier of a cache with `l1` (`get` and `getOrSet`). */
  l1Hits = 0;
  l2Hits = 0;

  /** Counts a hit's tier (the hit itself is counted by {@link hit}). */
  countTier(tier: 'l1' | 'l2'): void {
    if (tier === 'l1') this.l1Hits++;
    else this.l2Hits++;
  }

  miss(key: string, madeKey: string): void {
    this.misses++;
    if (this.listens('miss')) this.#emit('miss', { key, madeKey });
  }

  set(key: string, madeKey: string): void {
    this.#sets++;
    if (this.listens('set')) this.#emit('set', { key, madeKey });
  }

  /** One removed entry (`delete`). */
  deleted(key: string, madeKey: string): void {
    this.#deletes++;
    if (this.listens('delete')) this.#emit('delete', { key, madeKey });
  }

  /** A batch delete that removed `count` entries; see {@link DeleteEvent}. */
  deletedBatch(event: DeleteEvent & { readonly count: number }): void {
    if (event.count <= 0) return;
    this.#deletes += event.count;
    if (this.listens('delete')) this.#emit('delete', event);
  }

  /** Counts, logs and announces a problem that did not fail the call. */
  error(error: unknown, operation: string, key: string, madeKey: string): void {
    const err = error instanceof Error ? error : new Error(String(error));
    this.#errors++;
    this.#errorsByOperation[operation] = (this.#errorsByOperation[operation] ?? 0) + 1;
    this.#warnings.warn(
      operation,
      { err, alias: this.context.alias, key, operation },
      `cache ${operation} problem`,
    );
    if (this.listens('error')) this.#emit('error', { key, madeKey, error: err, operation });
  }

  stale(key: string, madeKey: string, reason: StaleReason): void {
    this.#staleServed[reason]++;
    if (this.listens('stale')) this.#emit('stale', { key, madeKey, reason });
  }

  lock(key: string, madeKey: string, action: LockAction): void {
    if (this.listens('lock')) this.#emit('lock', { key, madeKey, action });
  }

  /** A caller found a lock held by another and waits for it. */
  lockWait(): void {
    this.#lockWaits++;
  }

  /** A loader call `getOrSet` ran, `durationMs` long. */
  load(key: string, madeKey: string, durationMs: number, ok: boolean): void {
    this.#loads++;
    if (!ok) this.#loadFailures++;
    if (this.listens('load')) this.#emit('load', { key, madeKey, durationMs, ok });
  }

  stats(): CacheStats {
    const lookups = this.hits + this.misses;
    return {
      hits: this.hits,
      misses: this.misses,
      sets: this.#sets,
      deletes: this.#deletes,
      errors: this.#errors,
      hitRate: lookups === 0 ? 0 : this.hits / lookups,
      circuit: this.context.circuit(),
      errorsByOperation: { ...this.#errorsByOperation },
      staleServed: { ...this.#staleServed },
      loads: this.#loads,
      loadFailures: this.#loadFailures,
      lockWaits: this.#lockWaits,
      l1Hits: this.l1Hits,
      l2Hits: this.l2Hits,
    };
  }
}
