/**
 * Racing a promise against a deadline, for the operation timeout (store guard) and the loader's
 * hard timeout. The timer is a long timer (`timers.ts`) and does not hold the process open.
 */
import { setLongTimeout } from './timers.js';

/** Settles like `promise`, or rejects with `expired()` if that takes longer than `ms`. */
export function withDeadline<T>(
  promise: PromiseLike<T>,
  ms: number,
  expired: () => Error,
): Promise<T> {
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
