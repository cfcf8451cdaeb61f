/**
 * `set`, the write hot path. On an open store (and a loaded key function) the request is validated
 * and encoded at once and the store called through the guard's one-`then` path; everything else
 * (store not open yet, key function still loading) runs the `set` program. Both share
 * `setRequest`/`writeSet`, so they cannot drift.
 */
import { FAIL_OPEN } from '../guard/operations.js';
import { runOperation } from '../program/runner.js';
import { setProgram, setRequest, writeSet, type SetRequest } from '../program/single-key.js';
import { targetOf, type StoreOptions } from './options.js';
import type { CacheView } from './view.js';

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
  return ctx.guard.submit(
    store,
    'set',
    (s) => writeSet(s, request, ctx.now()),
    () => {
      if (request.resolved !== 'discard') ctx.observer.set(key, request.made);
    },
    (error) => view.recover(error, 'set', FAIL_OPEN.set, targetOf(key, opts)),
  );
}
