/**
 * `set`, the write hot path. On an open store (and a loaded key function) the request is validated
 * and encoded at once and the store called through the guard's one-`then` path; `setSync` on a
 * sync store with nothing to guard calls it straight through; everything else (store not open
 * yet, key function still loading, a breaker or failOpen on a sync call) runs the `set` program.
 * All share `setRequest`/`writeSet`, so they cannot drift.
 */
import { FAIL_OPEN } from '../guard/operations.js';
import { toBackendError } from '../errors.js';
import { runOperation, runOperationSync } from '../program/runner.js';
import {
  setProgram,
  setRequest,
  writeSet,
  writeSetThen,
  type SetRequest,
} from '../program/single-key.js';
import { targetOf, type StoreOptions } from './options.js';
import type { CacheView } from './view.js';
import type { CacheError } from '../errors.js';
import type { GuardedRequest } from '../guard/store-guard.js';
import type { Continuation, MaybePromise, Store } from '../store.js';

export function setValue(
  view: CacheView,
  key: string,
  value: unknown,
  opts: StoreOptions | undefined,
): Promise<void> {
  const ctx = view.ctx;
  const store = ctx.handle.current;
  if (store === undefined || ctx.keys.pending) {
    return runOperation(view, 'set', setProgram, [key, value, opts], FAIL_OPEN.set, true);
  }
  let request: SetRequest;
  try {
    request = setRequest(view, key, value, opts);
  } catch (error) {
    return Promise.reject(error as Error);
  }
  return ctx.guard.submit(store, 'set', new GuardedSet(view, key, opts, request));
}

export function setValueSync(
  view: CacheView,
  key: string,
  value: unknown,
  opts: StoreOptions | undefined,
): void {
  const ctx = view.ctx;
  const store = ctx.handle.current;
  if (store === undefined || !store.capabilities.sync || !ctx.direct) {
    runOperationSync(view, 'set', setProgram, [key, value, opts], FAIL_OPEN.set, true);
    return;
  }
  const request = setRequest(view, key, value, opts);
  try {
    writeSet(store, request, ctx.now());
  } catch (error) {
    throw toBackendError(error, `setSync on cache "${ctx.config.alias}"`);
  }
  if (request.resolved !== 'discard') ctx.observer.set(key, request.made);
}

/** One guarded `set`: its store call, and what becomes of the answer. */
class GuardedSet implements GuardedRequest<void> {
  constructor(
    readonly view: CacheView,
    readonly key: string,
    readonly opts: StoreOptions | undefined,
    readonly request: SetRequest,
  ) {}

  call(store: Store): MaybePromise<unknown> {
    return writeSet(store, this.request, this.view.ctx.now());
  }

  callThen(store: Store, next: Continuation<void>): Promise<void> | undefined {
    return writeSetThen(store, this.request, next);
  }

  value(): void {
    const { made, resolved } = this.request;
    if (resolved !== 'discard') this.view.ctx.observer.set(this.key, made);
  }

  error(error: CacheError): void {
    this.view.recover(error, 'set', FAIL_OPEN.set, targetOf(this.key, this.opts));
  }
}
