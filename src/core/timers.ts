/**
 * Timers that mean what they say at any length.
 *
 * Node's `setTimeout` fires after 1 ms (and prints `TimeoutOverflowWarning`) when asked for more
 * than 2^31−1 ms (about 24.8 days). Every duration skycache turns into a timer goes through here:
 * a long delay is chained in steps below that limit, so `hardTimeout: '30d'` waits thirty days.
 */

/** The longest delay Node's timers accept, in ms. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** A pending timer made by {@link setLongTimeout}. */
export interface LongTimer {
  /** Cancels the timer; idempotent. */
  clear(): void;
  /** Lets the process exit while the timer is pending (as `Timeout.unref()`); returns itself. */
  unref(): LongTimer;
}

/**
 * Calls `callback(...args)` once, `ms` milliseconds from now, however large `ms` is. Non-finite or
 * negative delays fire as soon as possible (as `setTimeout` does with 0).
 */
export function setLongTimeout<A extends unknown[]>(
  callback: (...args: A) => void,
  ms: number,
  ...args: A
): LongTimer {
  const due = Date.now() + (Number.isFinite(ms) && ms > 0 ? ms : 0);
  let unref = false;
  let handle: NodeJS.Timeout | undefined;
  const arm = (delay: number): void => {
    handle = setTimeout(step, Math.min(Math.max(delay, 0), MAX_TIMER_MS));
    if (unref) handle.unref();
  };
  const step = (): void => {
    const left = due - Date.now();
    // A chained step wakes up early on purpose; only the last one runs the callback.
    if (left > 0) arm(left);
    else {
      handle = undefined;
      callback(...args);
    }
  };
  arm(due - Date.now());
  const timer: LongTimer = {
    clear() {
      if (handle !== undefined) clearTimeout(handle);
      handle = undefined;
    },
    unref() {
      unref = true;
      handle?.unref();
      return timer;
    },
  };
  return timer;
}

/** Resolves after `ms` milliseconds, however large (see {@link setLongTimeout}). */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setLongTimeout(resolve, ms));
}

/**
 * A repeating timer whose period may exceed Node's limit (a `runOnce` lock renewal for a ttl of
 * months renews every few weeks, never every millisecond). Returns a function that stops it.
 */
export function setLongInterval(callback: () => void, ms: number): { clear(): void } {
  let current: LongTimer | undefined;
  let stopped = false;
  const tick = (): void => {
    if (stopped) return;
    current = setLongTimeout(tick, ms);
    callback();
  };
  current = setLongTimeout(tick, ms);
  return {
    clear() {
      stopped = true;
      current?.clear();
    },
  };
}
