/**
 * The atomic store calls locks are built from, run as programs through the cache's guard (so a
 * lock call on a failing store is a `BackendError` counted by the breaker, like any operation).
 */
import type { CacheView } from '../cache/view.js';
import type { StoreCall } from '../guard/store-guard.js';
import { runProgram, type Program } from '../program/runner.js';
import { deleteIfValue } from '../program/single-key.js';
import { samePayload } from '../../serializers/codec.js';
import type { LockPrimitives } from './locks.js';

/** Lock primitives over a view's store; compare-and-delete falls back to two steps on stores without it. */
export function lockPrimitives(view: CacheView): LockPrimitives {
  const { ctx } = view;
  const token = (value: string) => ctx.entries.encode(value);
  const run = <R>(call: StoreCall) =>
    runProgram(view, 'lock', function* (): Program<R> {
      return (yield call) as R;
    });
  return {
    tryAdd: (made, value, ttlMs) =>
      run<boolean>((s) => s.add(made, token(value), ctx.now() + ttlMs)),
    deleteIfToken: (made, value) => run<boolean>((s) => deleteIfValue(s, made, token(value))),
    touchIfToken: (made, value, ttlMs) =>
      run<boolean>(async (s) => {
        const expiresAt = ctx.now() + ttlMs;
        if (s.touchIfValue) return s.touchIfValue(made, token(value), expiresAt);
        const held = await s.get(made);
        return (
          held !== undefined && samePayload(held, token(value)) && (await s.touch(made, expiresAt))
        );
      }),
    event: (name, madeKey, action) => ctx.observer.lock(name, madeKey, action),
    waiting: () => ctx.observer.lockWait(),
  };
}
