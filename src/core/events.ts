/**
 * Events and counters of one cache object (its namespace views share them). Emitting costs one
 * property read when nobody listens, so the hot path pays nothing for observability it does not use.
 */

/** Payload of every event: the caller's key and the key the store saw. */
export interface CacheEventBase {
  readonly key: string;
  readonly madeKey: string;
}

/** The events a cache emits, by name. */
export interface CacheEvents {
  hit: CacheEventBase;
  miss: CacheEventBase;
  set: CacheEventBase;
  delete: CacheEventBase;
  /** A problem that did not fail the call (an undecodable entry, a write after a loader ran). */
  error: CacheEventBase & { readonly error: Error; readonly operation: string };
  /** `getOrSet` served an expired value: `reason` says which window allowed it. */
  stale: CacheEventBase & { readonly reason: 'revalidate' | 'error' | 'soft-timeout' };
  /** A lock was acquired, released, lost or given up on (`key` is the lock's name). */
  lock: CacheEventBase & { readonly action: 'acquired' | 'released' | 'lost' | 'timeout' };
}

/** The name of a cache event. */
export type CacheEventName = keyof CacheEvents;

/** Counters since the cache object was made. */
export interface CacheStats {
  hits: number;
  misses: number;
  sets: number;
  deletes: number;
  errors: number;
  /** `hits / (hits + misses)`, `0` before any lookup. */
  hitRate: number;
}

type Listener<E extends CacheEventName> = (event: CacheEvents[E]) => void;

/** Listeners and counters. */
export class CacheObserver {
  hits = 0;
  misses = 0;
  sets = 0;
  deletes = 0;
  errors = 0;
  readonly #listeners: { [E in CacheEventName]?: Set<Listener<E>> } = {};

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

  emit<E extends CacheEventName>(event: E, payload: CacheEvents[E]): void {
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

  stats(): CacheStats {
    const lookups = this.hits + this.misses;
    return {
      hits: this.hits,
      misses: this.misses,
      sets: this.sets,
      deletes: this.deletes,
      errors: this.errors,
      hitRate: lookups === 0 ? 0 : this.hits / lookups,
    };
  }
}
