/**
 * Racing a promise against a deadline, for the operation timeout (store guard) and the loader's
 * hard timeout. Without a watchdog the timer is a long timer (`timers.ts`); with one, the deadline
 * joins the watchdog's list (`watchdog.ts`) and costs no timer of its own. Neither holds the
 * process open.
 */
import { setLongTimeout } from './timers.js';
import type { Watchdog, Watched } from './watchdog.js';

/** One promise's deadline in a watchdog's list. */
class Deadline implements Watched {
  settled = false;
  deadline = 0;
  next: Watched | undefined;
  prev: Watched | undefined;

  constructor(
    private readonly reject: (error: Error) => void,
    private readonly expired: () => Error,
  ) {}

  expire(): void {
    this.settled = true;
    this.reject(this.expired());
  }
}

/**
 * Settles like `promise`, or rejects with `expired()` if that takes longer than `ms`.
 * @param watchdog watches the deadline instead of a timer; its `timeoutMs` must be `ms`
 */
export function withDeadline<T>(
  promise: PromiseLike<T>,
  ms: number,
  expired: () => Error,
  watchdog?: Watchdog,
): Promise<T> {
  if (watchdog !== undefined) return watched(promise, expired, watchdog);
  return new Promise<T>((resolve, reject) => {
    const timer = setLongTimeout(() => reject(expired()), ms).unref();
    promise.then(
      (value) => {
        timer.clear();
        resolve(value);
      },
      (error: unknown) => {
        timer.clear();
        reject(error);
      },
    );
  });
}

function watched<T>(promise: PromiseLike<T>, expired: () => Error, watchdog: Watchdog): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const deadline = new Deadline(reject, expired);
    watchdog.watch(deadline);
    promise.then(
      (value) => {
        if (deadline.settled) return;
        deadline.settled = true;
        watchdog.unwatch(deadline);
        resolve(value);
      },
      (error: unknown) => {
        if (deadline.settled) return;
        deadline.settled = true;
        watchdog.unwatch(deadline);
        reject(error);
      },
    );
  });
}
