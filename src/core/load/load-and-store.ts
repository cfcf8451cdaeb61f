/**
 * One load of `getOrSet` after a miss: take the cross-process lock if asked (waiters re-check the
 * cache), call the loader within its time limits (soft timeout with a stale value at hand, hard
 * timeout), fall back to a stale value on loader errors within `staleIfError`, and store the
 * result. Backend failures are reported and the loader's value returned (`'fallback'`).
 */
import type { CacheView } from '../cache/view.js';
import type { ValueOrLoader } from '../cache/options.js';
import { acquireLock, type Lock } from '../coordination/locks.js';
import { lockPrimitives } from '../coordination/lock-primitives.js';
import type { ResolvedTimeout } from '../duration.js';
import { MISS } from '../entry/format.js';
import { LockTimeoutError } from '../errors.js';
import type { Payload, Store } from '../store.js';
import {
  decide,
  loaderOf,
  loadFinished,
  servesStaleOnError,
  softTimeoutApplies,
  storedEntry,
  writeLoaded,
  type LoadOutcome,
  type ReadResult,
} from './decisions.js';
import { callLoader, delay, type ResolvedLoadOptions } from './options.js';

/** Everything one `getOrSet` call knows. */
export interface LoadCall<T> {
  readonly view: CacheView;
  /** `undefined` when the store could not be opened. */
  readonly store: Store | undefined;
  readonly key: string;
  readonly made: string;
  /** The lock's made key (`''` without `lock`). */
  readonly lockMade: string;
  readonly valueOrLoader: ValueOrLoader<T>;
  readonly resolved: ResolvedTimeout;
  readonly load: ResolvedLoadOptions;
  /** Told when the loader has returned a value (before it is stored). */
  readonly loaded?: () => void;
}

/** Runs the loader for a miss (under the cross-process lock if asked) and stores its value. */
export async function loadAndStore<T>(
  call: LoadCall<T>,
  read: ReadResult,
): Promise<LoadOutcome<T>> {
  const { view, store, key, made, lockMade, load } = call;
  let lock: Lock | undefined;
  if (load.lock && store && !read.failed) {
    let found: unknown = MISS;
    try {
      // Waiters re-check the cache between attempts: the holder's value ends the wait.
      lock = await acquireLock(
        lockPrimitives(view),
        key,
        lockMade,
        load.lock.ttlMs,
        load.lock.waitMs,
        view.ctx.now,
        async () => (found = await readFresh(call, store)) !== MISS,
      );
    } catch (error) {
      // Waited long enough (LockTimeoutError) or the store failed: load without the lock.
      if (!(error instanceof LockTimeoutError))
        view.ctx.observer.error(error, 'getOrSet', key, made);
    }
    if (found !== MISS) return { value: found as T, source: 'joined' };
    if (lock) {
      const fresh = await readFresh(call, store);
      if (fresh !== MISS) {
        await releaseQuietly(call, lock);
        return { value: fresh as T, source: 'joined' };
      }
    }
  }
  try {
    return await callLoaderAndStore(call, read);
  } finally {
    if (lock) await releaseQuietly(call, lock);
  }
}

/** The fresh value under the key, or `MISS` (absent, stale, undecodable, or the store failed). */
async function readFresh(call: LoadCall<unknown>, store: Store): Promise<unknown> {
  const { view, key, made } = call;
  try {
    const payload = (await view.ctx.guard.call(store, 'getOrSet', (s) => s.get(made))) as
      Payload | undefined;
    return view.ctx.entries.decode(payload, key, made, 'getOrSet');
  } catch (error) {
    view.ctx.observer.error(error, 'getOrSet', key, made);
    return MISS;
  }
}

async function releaseQuietly(call: LoadCall<unknown>, lock: Lock): Promise<void> {
  try {
    await lock.release();
  } catch (error) {
    call.view.ctx.observer.error(error, 'getOrSet', call.key, call.made);
  }
}

async function callLoaderAndStore<T>(call: LoadCall<T>, read: ReadResult): Promise<LoadOutcome<T>> {
  const { view, key, made, load } = call;
  const { ctx } = view;
  const decision = decide(read, ctx.now());
  const stale = decision.hit ? undefined : decision.stale;
  const startedAt = performance.now();
  const pending = callLoader(loaderOf(call.valueOrLoader), load.hardTimeoutMs, key);
  pending.then(
    () => loadFinished(ctx, key, made, startedAt, true),
    () => loadFinished(ctx, key, made, startedAt, false),
  );
  let value: T;
  try {
    if (softTimeoutApplies(stale, load, ctx.now())) {
      const first = await Promise.race([
        pending.then((loaded) => ({ loaded })),
        delay(load.softTimeoutMs!),
      ]);
      if (first === undefined) {
        // Slow loader: answer with the stale value; the loader finishes and stores on its own,
        // registered as the key's background refresh so later callers join it, not start another.
        ctx.observer.stale(key, made, 'soft-timeout');
        const continuation = pending.then((loaded) => storeLoaded(call, loaded, read));
        ctx
          .stateOf(call.store)
          .loads.startRefresh(made, continuation, (error) =>
            ctx.observer.error(error, 'getOrSet', key, made),
          );
        return { value: stale.value as T, source: 'stale' };
      }
      value = first.loaded;
    } else {
      value = await pending;
    }
    call.loaded?.();
  } catch (error) {
    if (servesStaleOnError(stale, load, ctx.now())) {
      ctx.observer.error(error, 'getOrSet', key, made);
      ctx.observer.stale(key, made, 'error');
      return { value: stale.value as T, source: 'stale' };
    }
    throw error;
  }
  return storeLoaded(call, value, read);
}

/** Stores a loaded value; returns it, or what another writer stored first. */
async function storeLoaded<T>(
  call: LoadCall<T>,
  value: T,
  read: ReadResult,
): Promise<LoadOutcome<T>> {
  const { view, store, key, made } = call;
  const { ctx } = view;
  if (!store) return { value, source: 'fallback' };
  const entry = storedEntry(ctx, store, value, call.resolved, call.load);
  if (!entry) return { value, source: read.failed ? 'fallback' : 'loaded' };
  // An entry kept for its stale window (or undecodable) is still there: replace it, not add.
  const write = async (): Promise<boolean | 'failed'> => {
    try {
      return (await ctx.guard.call(
        store,
        'getOrSet',
        writeLoaded(made, entry, read.found),
      )) as boolean;
    } catch (error) {
      ctx.observer.error(error, 'getOrSet', key, made);
      return 'failed';
    }
  };
  // After a failed read the backend is likely down: do not make the caller wait for the write too.
  if (read.failed) {
    void write().then((stored) => {
      if (stored === true) ctx.observer.set(key, made);
    });
    return { value, source: 'fallback' };
  }
  const stored = await write();
  if (stored === 'failed') return { value, source: 'fallback' };
  if (stored) {
    ctx.observer.set(key, made);
    return { value, source: 'loaded' };
  }
  // Someone else stored first: return what the cache holds, as Django's get_or_set does.
  const held = await readFresh(call, store);
  return { value: held === MISS ? value : (held as T), source: 'loaded' };
}
