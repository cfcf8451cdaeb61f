/**
 * The program runners. Each data operation is written once, as a generator (a "program") that
 * validates its input, then yields the store calls it needs (`(store) => store.get(key)`). Two
 * drivers run programs: {@link runProgram} awaits each call (the async API), {@link runProgramSync}
 * calls straight through (the `…Sync` twins on sync stores). So the async and sync APIs cannot
 * drift, and input errors are thrown before the store is even opened. Both send every call
 * through the cache's store guard and apply `failOpen` the same way.
 */
import { targetOfArgs } from '../cache/options.js';
import type { CacheView, FailureTarget } from '../cache/view.js';
import type { CacheError } from '../errors.js';
import type { CacheOperation } from '../guard/operations.js';
import type { StoreCall } from '../guard/store-guard.js';

/** An operation's program: yields store calls, receives their results, returns the answer. */
export type Program<R> = Generator<StoreCall, R, unknown>;

/** How a store call of a program ended. */
type Settled = { readonly value: unknown } | { readonly error: CacheError };

/** Hands a store call's result (or its failure) back to the program. */
function resume<R>(steps: Program<R>, outcome: Settled): IteratorResult<StoreCall, R> {
  return 'error' in outcome ? steps.throw(outcome.error) : steps.next(outcome.value);
}

/** Runs a program on the async API. */
export async function runProgram<R>(
  view: CacheView,
  operation: CacheOperation,
  program: () => Program<R>,
  fallback?: () => R,
  target?: FailureTarget,
): Promise<R> {
  const ctx = view.ctx;
  try {
    if (ctx.keys.pending) await ctx.keys.load();
    let format = ctx.entries;
    let steps = program();
    let step = steps.next();
    let store = ctx.handle.current;
    while (!step.done) {
      let outcome: Settled;
      try {
        if (store === undefined) {
          store = await ctx.open(operation);
          // The store turned out to keep references: validate and encode again for it (nothing
          // was sent to the store yet, so starting over is safe).
          if (ctx.entries !== format) {
            format = ctx.entries;
            steps = program();
            step = steps.next();
            if (step.done) break;
          }
        }
        outcome = { value: await ctx.guard.call(store, operation, step.value) };
      } catch (error) {
        outcome = { error: error as CacheError };
      }
      step = resume(steps, outcome);
    }
    return step.value;
  } catch (error) {
    return view.recover(error, operation, fallback, target);
  }
}

/** Runs a program on the sync API. @throws UnsupportedOperationError on async-only backends */
export function runProgramSync<R>(
  view: CacheView,
  operation: CacheOperation,
  program: () => Program<R>,
  fallback?: () => R,
  target?: FailureTarget,
): R {
  try {
    const store = view.syncStore(operation);
    const guard = view.ctx.guard;
    const steps = program();
    let step = steps.next();
    while (!step.done) {
      let outcome: Settled;
      try {
        outcome = { value: guard.callSync(store, operation, step.value) };
      } catch (error) {
        outcome = { error: error as CacheError };
      }
      step = resume(steps, outcome);
    }
    return step.value;
  } catch (error) {
    return view.recover(error, operation, fallback, target);
  }
}

/**
 * `program(view, ...args)` on the async API, for the facade's one-liners. `keyed`: `args` are
 * `[key, …, opts]`, named in failure reports.
 */
export function runOperation<A extends unknown[], R>(
  view: CacheView,
  operation: CacheOperation,
  program: (view: CacheView, ...args: A) => Program<R>,
  args: A,
  fallback?: () => R,
  keyed = false,
): Promise<R> {
  const target = keyed ? targetOfArgs(args) : undefined;
  return runProgram(view, operation, () => program(view, ...args), fallback, target);
}

/** {@link runOperation} on the sync API. */
export function runOperationSync<A extends unknown[], R>(
  view: CacheView,
  operation: CacheOperation,
  program: (view: CacheView, ...args: A) => Program<R>,
  args: A,
  fallback?: () => R,
  keyed = false,
): R {
  const target = keyed ? targetOfArgs(args) : undefined;
  return runProgramSync(view, operation, () => program(view, ...args), fallback, target);
}
