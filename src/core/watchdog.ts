/**
 * Deadlines of many calls that share one timeout, watched by a single timer instead of one timer
 * per call: the operation timeout of the store guard, of Redis commands and of PostgreSQL
 * statements. A timer per call costs more than many cache hits do.
 *
 * Calls are kept oldest first in a doubly linked list. Since their timeouts are equal, so are
 * their deadlines: the front always expires first. A call leaves the list as soon as it settles
 * ({@link Watchdog.unwatch}), in any order, so the list holds only calls in flight (one stuck call
 * does not keep those settled after it). The timer fires about once per timeout while calls are in
 * flight.
 */
import { MAX_TIMER_MS } from './timers.js';

/** A call a {@link Watchdog} watches. */
export interface Watched {
  /** Answered, failed or timed out: nothing happens to it afterwards. */
  readonly settled: boolean;
  /** When it times out (`performance.now()`), set by {@link Watchdog.watch}. */
  deadline: number;
  /** The next and the previous call the same watchdog watches (its links; set by the watchdog). */
  next: Watched | undefined;
  prev: Watched | undefined;
  /** Called once its deadline has passed, unless it settled before. */
  expire(): void;
}

export class Watchdog {
  #oldest: Watched | undefined;
  #newest: Watched | undefined;
  #timer: NodeJS.Timeout | undefined;

  /**
   * @param timeoutMs the timeout of every call it watches, at most {@link MAX_TIMER_MS} (callers
   *   with longer timeouts use a long timer per call: such calls are rare and slow anyway)
   */
  constructor(readonly timeoutMs: number) {
    if (!(timeoutMs <= MAX_TIMER_MS)) throw new RangeError(`timeout ${timeoutMs} ms is too long`);
  }

  /** A watchdog for `timeoutMs`, or `undefined` past Node's timer range. */
  static for(timeoutMs: number): Watchdog | undefined {
    return timeoutMs <= MAX_TIMER_MS ? new Watchdog(timeoutMs) : undefined;
  }

  watch(call: Watched): void {
    call.deadline = performance.now() + this.timeoutMs;
    call.prev = this.#newest;
    call.next = undefined;
    if (this.#newest) this.#newest.next = call;
    else this.#oldest = call;
    this.#newest = call;
    // Unref'd: a call in flight keeps the process alive through its socket; the timer alone must
    // not (a closed cache would otherwise hold the process for up to its timeout).
    if (this.#timer === undefined) {
      this.#timer = setTimeout(Watchdog.#check, this.timeoutMs, this).unref();
    }
  }

  /** Takes a call out of the list: call it when the call settles. Idempotent. */
  unwatch(call: Watched): void {
    const { prev, next } = call;
    if (prev) prev.next = next;
    else if (this.#oldest === call) this.#oldest = next;
    else return;
    if (next) next.prev = prev;
    else this.#newest = prev;
    call.prev = undefined;
    call.next = undefined;
  }

  static #check(this: void, watchdog: Watchdog): void {
    watchdog.#timer = undefined;
    const now = performance.now();
    let oldest = watchdog.#oldest;
    while (oldest && (oldest.settled || oldest.deadline <= now)) {
      // Out of the list first: expire() may settle callers that watch new calls at once.
      watchdog.unwatch(oldest);
      if (!oldest.settled) oldest.expire();
      oldest = watchdog.#oldest;
    }
    if (oldest && watchdog.#timer === undefined) {
      watchdog.#timer = setTimeout(Watchdog.#check, oldest.deadline - now, watchdog).unref();
    }
  }
}
