/**
 * Deadlines of many calls that share one timeout, watched by a single timer instead of one timer
 * per call: the operation timeout of the store guard, of Redis commands and of PostgreSQL
 * statements. A timer per call costs more than many cache hits do.
 *
 * Calls are kept oldest first. Since their timeouts are equal, so are their deadlines: the front
 * of the list always expires first. Settled calls leave from the front (at once when calls settle
 * in order, as on one Redis connection; otherwise when the ones before them settle or expire), so
 * the list holds at most the calls of one timeout. The timer fires about once per timeout while
 * calls are in flight.
 */
import { MAX_TIMER_MS } from './timers.js';

/** A call a {@link Watchdog} watches. */
export interface Watched {
  /** Answered, failed or timed out: nothing happens to it afterwards. */
  readonly settled: boolean;
  /** When it times out (`performance.now()`), set by {@link Watchdog.watch}. */
  deadline: number;
  /** The next call the same watchdog watches. */
  next: Watched | undefined;
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
    if (this.#newest) this.#newest.next = call;
    else this.#oldest = call;
    this.#newest = call;
    // Unref'd: a call in flight keeps the process alive through its socket; the timer alone must
    // not (a closed cache would otherwise hold the process for up to its timeout).
    if (this.#timer === undefined) {
      this.#timer = setTimeout(Watchdog.#check, this.timeoutMs, this).unref();
    }
  }

  /** Drops settled calls from the front (call after settling one). */
  prune(): void {
    let oldest = this.#oldest;
    while (oldest?.settled) oldest = oldest.next;
    this.#oldest = oldest;
    if (!oldest) this.#newest = undefined;
  }

  static #check(this: void, watchdog: Watchdog): void {
    watchdog.#timer = undefined;
    const now = performance.now();
    let oldest = watchdog.#oldest;
    while (oldest && (oldest.settled || oldest.deadline <= now)) {
      if (!oldest.settled) oldest.expire();
      oldest = oldest.next;
    }
    watchdog.#oldest = oldest;
    if (!oldest) watchdog.#newest = undefined;
    else watchdog.#timer = setTimeout(Watchdog.#check, oldest.deadline - now, watchdog).unref();
  }
}
