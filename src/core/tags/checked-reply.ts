/**
 * A tagged read in the continuation form (`Store.getThen`): the payload's tags are checked before
 * it is handed on, as `TagCheckingStore.get` does.
 */
import { isPromise } from '../maybe-promise.js';
import type { Continuation, MaybePromise, Payload } from '../store.js';
import { isTagged } from './format.js';

/** Hands `next` the payload once its tags are checked (`undefined` if they are not valid). */
export class CheckedReply<R> implements Continuation<R> {
  constructor(
    private readonly check: (payload: Payload) => MaybePromise<Payload | undefined>,
    private readonly next: Continuation<R>,
  ) {}

  value(payload: unknown): R | PromiseLike<R> {
    const next = this.next;
    // Untagged entries (every string, most Buffers) pass straight through.
    if (payload === undefined || typeof payload === 'string' || !isTagged(payload as Payload)) {
      return next.value(payload);
    }
    const checked = this.check(payload as Payload);
    if (!isPromise(checked)) return next.value(checked);
    return checked.then(
      (valid) => next.value(valid),
      (error: unknown) => next.error(error),
    );
  }

  error(error: unknown): R | PromiseLike<R> {
    return this.next.error(error);
  }
}
