/**
 * Working with results that are a value now or a promise of one (`MaybePromise`): sync stores
 * answer at once, network stores later, and code written once serves both without an `await`
 * (which would make every sync answer wait a microtask).
 */
import type { Continuation, MaybePromise } from './store.js';

/** Whether `value` is a promise (or any thenable). */
export function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === 'function';
}

/** Whether a `MaybePromise` is the promise form. */
export function isPromise<T>(value: MaybePromise<T>): value is Promise<T> {
  return isPromiseLike(value);
}

/** `fn(value)` now for a ready value, after it for a promise. (Not named `then`: a module exporting `then` is a thenable to `import()`.) */
export function andThen<T, R>(
  value: MaybePromise<T>,
  fn: (value: T) => MaybePromise<R>,
): MaybePromise<R> {
  return isPromise(value) ? value.then(fn) : fn(value);
}

/** All of `values`, now if none is a promise. */
export function all<T>(values: Array<MaybePromise<T>>): MaybePromise<T[]> {
  return values.some(isPromise) ? Promise.all(values) : (values as T[]);
}

/**
 * `run()`'s outcome handed to `next` (see `Store.getThen`): for a wrapper whose own work on a call
 * is not in the continuation form.
 */
export function continueWith<R>(
  run: () => MaybePromise<unknown>,
  next: Continuation<R>,
): Promise<R> {
  let result: MaybePromise<unknown>;
  try {
    result = run();
  } catch (error) {
    result = Promise.reject(error as Error);
  }
  return Promise.resolve(result).then(
    (value) => next.value(value),
    (error: unknown) => next.error(error),
  );
}
