/**
 * The loading handler on the sync API: `getOrSetSync`. The same decisions as `getOrSet`
 * (`decisions.ts`), called straight through; only options that need waiting (lock, stale while
 * revalidate, soft and hard timeouts) are refused. Like `getOrSet`, a failing backend never fails
 * the call: the failure is reported and the loader's value returned.
 */
import type { CacheView } from '../cache/view.js';
import { isOptionsObject, parseStoreOptions, type GetOrSetOptions } from '../cache/options.js';
import { MISS } from '../entry/format.js';
import { BackendError, InvalidValueError } from '../errors.js';
import type { StoreCall } from '../guard/store-guard.js';
import { isPromiseLike } from '../maybe-promise.js';
import type { Payload } from '../store.js';
import {
  assertSyncLoadOptions,
  decide,
  FAILED_READ,
  loaderOf,
  loadFinished,
  readResult,
  servesStaleOnError,
  storedEntry,
  writeLoaded,
  type ReadResult,
} from './decisions.js';
import { resolveLoadOptions } from './options.js';

/** A sync store call whose backend failure is reported and turned into `failed`. */
function attempt<R>(
  view: CacheView,
  call: StoreCall,
  key: string,
  made: string,
): { ok: true; result: R } | { ok: false } {
  const { ctx } = view;
  try {
    return {
      ok: true,
      result: ctx.guard.callSync(view.syncStore('getOrSet'), 'getOrSet', call) as R,
    };
  } catch (error) {
    if (!(error instanceof BackendError)) throw error;
    ctx.observer.error(error, 'getOrSet', key, made);
    return { ok: false };
  }
}

export function getOrSetSync<T>(
  view: CacheView,
  key: string,
  valueOrLoader: T | (() => T),
  opts: GetOrSetOptions | undefined,
): T {
  const { ctx } = view;
  const { timeout, version } = parseStoreOptions(opts);
  const resolved = ctx.expiry(timeout);
  const load = resolveLoadOptions(isOptionsObject(opts) ? opts : {}, ctx.config.defaultTimeoutMs);
  assertSyncLoadOptions(load);
  const store = view.syncStore('getOrSet');
  const made = view.make(key, version);

  const got = attempt<Payload | undefined>(view, (s) => s.get(made), key, made);
  const read: ReadResult = got.ok ? readResult(ctx, got.result, key, made) : FAILED_READ;
  const decision = decide(read, ctx.now());
  if (decision.hit) {
    ctx.observer.hit(key, made);
    return decision.value as T;
  }
  ctx.observer.miss(key, made);

  const startedAt = performance.now();
  let value: T;
  try {
    value = loaderOf(valueOrLoader)() as T;
  } catch (error) {
    loadFinished(ctx, key, made, startedAt, false);
    if (servesStaleOnError(decision.stale, load, ctx.now())) {
      ctx.observer.error(error, 'getOrSet', key, made);
      ctx.observer.stale(key, made, 'error');
      return decision.stale.value as T;
    }
    throw error;
  }
  if (isPromiseLike(value)) {
    loadFinished(ctx, key, made, startedAt, false);
    // Nobody will await it: keep its rejection from surfacing as an unhandled one.
    value.then(undefined, () => {});
    throw new InvalidValueError('getOrSetSync needs a synchronous loader; use getOrSet()');
  }
  loadFinished(ctx, key, made, startedAt, true);

  const entry = storedEntry(ctx, store, value, resolved, load);
  if (!entry) return value;
  const written = attempt<boolean>(view, writeLoaded(made, entry, read.found), key, made);
  if (!written.ok) return value;
  if (written.result) {
    ctx.observer.set(key, made);
    return value;
  }
  // Someone else stored first: return what the cache holds, as Django's get_or_set does.
  const held = attempt<Payload | undefined>(view, (s) => s.get(made), key, made);
  const current = held.ok ? ctx.entries.decode(held.result, key, made, 'getOrSet') : MISS;
  return current === MISS ? value : (current as T);
}
