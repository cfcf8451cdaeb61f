/**
 * `keys()`: iterating the caller's keys matching a glob. Not a program (it streams), but every
 * store step goes through the same guard as one.
 */
import type { VersionOptions } from '../cache/options.js';
import type { CacheView } from '../cache/view.js';
import type { Payload } from '../store.js';
import { scopeOf } from './batches.js';

/** How many keys `keys()` checks per `getMany` when stale-window entries may exist. */
const KEYS_CHECK_BATCH = 100;

export async function* listKeys(
  view: CacheView,
  pattern: string,
  opts: VersionOptions | undefined,
): AsyncIterableIterator<string> {
  const scope = scopeOf(view, pattern, opts);
  const { ctx } = view;
  const guard = ctx.guard;
  if (ctx.keys.pending) await ctx.keys.load();
  const store = await ctx.open('keys');
  const iterable = (await guard.call(store, 'keys', (s) => s.keys(scope.match))) as
    AsyncIterable<string> | Iterable<string>;
  const iterator =
    Symbol.asyncIterator in iterable
      ? iterable[Symbol.asyncIterator]()
      : (iterable as Iterable<string>)[Symbol.iterator]();
  // Entries kept only for a stale window are absent here, and only their payload tells: check
  // in batches, unless this store is private to the process and never held such an entry.
  const check = store.capabilities.shared === true || ctx.stateOf(store).staleWritten;
  const batch: string[] = [];
  for (;;) {
    // Pulled step by step through the breaker and the operation timeout, so that a store
    // failing or hanging part-way (a SCAN error) behaves like any other operation.
    const step = (await guard.call(store, 'keys', () => iterator.next())) as IteratorResult<string>;
    if (!step.done) {
      if (!check) {
        yield scope.toCallerKey(step.value);
        continue;
      }
      batch.push(step.value);
      if (batch.length < KEYS_CHECK_BATCH) continue;
    }
    if (batch.length > 0) {
      const stored = batch.splice(0);
      const payloads = (await guard.call(store, 'keys', (s) => s.getMany(stored))) as Array<
        Payload | undefined
      >;
      for (let i = 0; i < stored.length; i++) {
        if (ctx.entries.isLive(payloads[i])) yield scope.toCallerKey(stored[i]!);
      }
    }
    if (step.done) return;
  }
}
