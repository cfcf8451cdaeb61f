/**
 * Deadlines of many calls that share one timeout, watched by a single timer instead of one timer
 * per call: the operation timeout of the store guard, of Redis commands and of PostgreSQL
 * statements. A timer per call costs more than many cache hits do, and so does reading the clock
 * per call.
 *
 * Calls are kept oldest first in a doubly linked list. A call leaves the list as soon as it settles
 * ({@link Watchdog.unwatch}), in any order, so the list holds only calls in flight (one stuck call
 * does not keep those settled after it).
 *
 * The clock is read by the timer, not per call: while calls are in flight the timer ticks every
 * eighth of the timeout and notes the time. A call is stamped with the number of the next tick;
 * it was watched before that tick, so it expires once that tick's time plus the timeout has
 * passed: never early, and late by at most one tick (an eighth of the timeout) plus timer delay.
 */
import { MAX_TIMER_MS } from './timers.js';

/** A call a {@link Watchdog} watches. */
export interface Watched {
  /** Answered, failed or timed out: nothing happens to it afterwards. */
  readonly settled: boolean;
  /** The watchdog's tick its timeout counts from, set by {@link Watchdog.watch}. */
  deadline: number;
  /** The next and the previous call the same watchdog watches (its links; set by the watchdog). */
  next: Watched | undefined;
  prev: Watched | undefined;
  /** Called once its deadline has passed, unless it settled before. */
  expire(): void;
}

/** Ticks per timeout. */
const TICKS = 8;

export class Watchdog {
  #oldest: Watched | undefined;
  #newest: Watched | undefined;
  #timer: NodeJS.Timeout | undefined;
  /** How many ticks there have been. */
  #tick = 0;
  /** When recent ticks happened (`performance.now()`): `#times[i]` is tick `#firstTick + i`. */
  #times: number[] = [];
  #firstTick = 1;
  readonly #periodMs: number;

  /**
   * @param timeoutMs the timeout of every call it watches, at most {@link MAX_TIMER_MS} (callers
   *   with longer timeouts use a long timer per call: such calls are rare and slow anyway)
   */
  constructor(readonly timeoutMs: number) {
    if (!(timeoutMs <= MAX_TIMER_MS)) throw new RangeError(`timeout ${timeoutMs} ms is too long`);
    this.#periodMs = Math.max(1, timeoutMs / TICKS);
  }

  /** A watchdog for `timeoutMs`, or `undefined` past Node's timer range. */
  static for(timeoutMs: number): Watchdog | undefined {
    return timeoutMs <= MAX_TIMER_MS ? new Watchdog(timeoutMs) : undefined;
  }

  watch(call: Watched): void {
    call.deadline = this.#tick + 1;
    call.prev = this.#newest;
    call.next = undefined;
    if (this.#newest) this.#newest.next = call;
    else this.#oldest = call;
    this.#newest = call;
    // Unref'd: a call in flight keeps the process alive through its socket; the timer alone must
    // not (a closed cache would otherwise hold the process for up to its timeout).
    if (this.#timer === undefined) {
      this.#timer = setTimeout(Watchdog.#check, this.#periodMs, this).unref();
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

  /** Whether the timeout of a call stamped with tick `tick` has passed at `now`. */
  #expired(tick: number, now: number): boolean {
    if (tick > this.#tick) return false;
    // Ticks older than the notes are older than every note, which is a timeout old at least.
    const at = this.#times[tick - this.#firstTick] ?? this.#times[0]!;
    return at + this.timeoutMs <= now;
  }

  static #check(this: void, watchdog: Watchdog): void {
    watchdog.#timer = undefined;
    const now = performance.now();
    watchdog.#tick++;
    watchdog.#times.push(now);
    let oldest = watchdog.#oldest;
    while (oldest && (oldest.settled || watchdog.#expired(oldest.deadline, now))) {
      // Out of the list first: expire() may settle callers that watch new calls at once.
      watchdog.unwatch(oldest);
      if (!oldest.settled) oldest.expire();
      oldest = watchdog.#oldest;
    }
    // Only the notes from the oldest call's tick on are needed (none with nothing in flight).
    const keepFrom = watchdog.#oldest?.deadline ?? watchdog.#tick + 1;
    const drop = Math.min(keepFrom - watchdog.#firstTick, watchdog.#times.length);
    if (drop > 0) {
      watchdog.#times.splice(0, drop);
      watchdog.#firstTick += drop;
    }
    if (watchdog.#oldest && watchdog.#timer === undefined) {
      watchdog.#timer = setTimeout(Watchdog.#check, watchdog.#periodMs, watchdog).unref();
    }
  }
}
