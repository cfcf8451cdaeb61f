/**
 * `get`, the hot path. A memory hit should cost little more than the raw LRU lookup and
 * `JSON.parse`: with nothing to guard (no breaker, failOpen or tracing subscriber) a sync store is
 * called straight through with the memoized made key and its hint; an open async store is called
 * through the guard without a program; everything else (store not open yet, key function still
 * loading) goes through the program runner.
 */
import { toBackendError } from '../errors.js';
import { runOperation, runOperationSync } from '../program/runner.js';
import { finishGet, getProgram } from '../program/single-key.js';
import type { GuardedRequest } from '../guard/store-guard.js';
import { isPromiseLike } from '../maybe-promise.js';
import type { CacheError } from '../errors.js';
import type { Continuation, MaybePromise, Payload, Store } from '../store.js';
import { operationChannel } from '../tracing.js';
import { targetOf, type GetOptions } from './options.js';
import type { CacheView } from './view.js';
import type { MadeKey } from '../keys.js';

export function getValue<T>(
  view: CacheView,
  key: string,
  opts: GetOptions<T> | undefined,
): Promise<T | undefined> {
  const ctx = view.ctx;
  const store = ctx.handle.current;
  if (store?.capabilities.sync && ctx.direct) {
    try {
      return Promise.resolve(getFrom(view, store, key, opts));
    } catch (error) {
      return Promise.reject(error);
    }
  }
  if (store !== undefined && !ctx.keys.pending) {
    let hint: MadeKey | undefined;
    let made: string;
    try {
      hint = view.hintFor(key, opts?.version, store);
      made = hint?.made ?? view.make(key, opts?.version);
    } catch (error) {
      return Promise.reject(error as Error);
    }
    // A tiered store guards its L2 itself: an L1 hit costs the lookup, the decode and one promise.
    return store.capabilities.guarded && !operationChannel.start.hasSubscribers
      ? getTiered(view, store, key, made, hint, opts)
      : ctx.guard.submit(store, 'get', new GuardedGet(view, key, made, hint, opts));
  }
  return runOperation(view, 'get', getProgram<T>, [key, opts], () => opts?.default, true);
}

export function getValueSync<T>(
  view: CacheView,
  key: string,
  opts: GetOptions<T> | undefined,
): T | undefined {
  const ctx = view.ctx;
  const current = ctx.handle.current;
  if (current !== undefined && current.capabilities.sync && ctx.direct) {
    return getFrom(view, current, key, opts);
  }
  return runOperationSync(view, 'get', getProgram<T>, [key, opts], () => opts?.default, true);
}

/**
 * One guarded `get` on an open store: its store call, and what becomes of the answer. No program
 * or async frame (the network backends' path): the store's answer is decoded in one `then`.
 */
class GuardedGet<T> implements GuardedRequest<T | undefined> {
  tier: 'l1' | 'l2' | undefined;

  constructor(
    readonly view: CacheView,
    readonly key: string,
    readonly made: string,
    readonly hint: MadeKey | undefined,
    readonly opts: GetOptions<T> | undefined,
  ) {}

  call(store: Store): MaybePromise<Payload | undefined> {
    // The whole read, tag check included: the guard's operation timeout, breaker and tracing span
    // cover a tagged entry's second round trip too.
    const payload = store.get(this.made, this.hint);
    this.tier = store.lastTier;
    return payload;
  }

  callThen(store: Store, next: Continuation<T | undefined>): Promise<T | undefined> | undefined {
    return store.getThen?.(this.made, this.hint, next);
  }

  value(payload: unknown): T | undefined {
    return finish(
      this.view,
      payload as Payload | undefined,
      this.key,
      this.made,
      this.opts,
      this.tier,
    );
  }

  error(error: CacheError): T | undefined {
    const opts = this.opts;
    return this.view.recover(error, 'get', () => opts?.default, targetOf(this.key, opts));
  }
}

/**
 * `get` on a tiered store (it guards its L2 itself): called straight through, so an L1 hit costs
 * the L1 lookup, the decode and one resolved promise.
 */
function getTiered<T>(
  view: CacheView,
  store: Store,
  key: string,
  made: string,
  hint: MadeKey | undefined,
  opts: GetOptions<T> | undefined,
): Promise<T | undefined> {
  let result: MaybePromise<Payload | undefined>;
  try {
    result = store.get(made, hint);
  } catch (error) {
    return tieredFailure(view, error, key, opts);
  }
  const tier = store.lastTier;
  if (isPromiseLike(result)) {
    return Promise.resolve(result).then(
      (payload) => finish(view, payload, key, made, opts, tier),
      (error: unknown) => tieredFailure(view, error, key, opts),
    );
  }
  try {
    return Promise.resolve(finish(view, result, key, made, opts, tier));
  } catch (error) {
    return Promise.reject(error);
  }
}

/** A failed tiered read: the failOpen result, or the `BackendError`. */
function tieredFailure<T>(
  view: CacheView,
  error: unknown,
  key: string,
  opts: GetOptions<T> | undefined,
): Promise<T | undefined> {
  try {
    return Promise.resolve(
      view.recover(
        toBackendError(error, `get on cache "${view.ctx.config.alias}"`),
        'get',
        () => opts?.default,
        targetOf(key, opts),
      ),
    );
  } catch (thrown) {
    return Promise.reject(thrown);
  }
}

/** `get` straight on a sync store that needs no guard. */
function getFrom<T>(
  view: CacheView,
  store: Store,
  key: string,
  opts: GetOptions<T> | undefined,
): T | undefined {
  const hint = view.hintFor(key, opts?.version, store);
  const made = hint?.made ?? view.make(key, opts?.version);
  let payload: Payload | undefined;
  try {
    payload = store.get(made, hint) as Payload | undefined;
  } catch (error) {
    throw toBackendError(error, `get on cache "${view.ctx.config.alias}"`);
  }
  return finish(view, payload, key, made, opts);
}

function finish<T>(
  view: CacheView,
  payload: Payload | undefined,
  key: string,
  made: string,
  opts: GetOptions<T> | undefined,
  tier?: 'l1' | 'l2',
): T | undefined {
  const ctx = view.ctx;
  const entries = ctx.entries;
  // The hot case, kept small: a stored reference (memory `serialize: false`) is the value.
  if (entries.references && payload !== undefined && entries.isBareReference(payload)) {
    const observer = ctx.observer;
    observer.hits++;
    if (observer.listensToHit) observer.emitHit(key, made);
    return payload as T;
  }
  return finishGet(view, entries.decode(payload, key, made, 'get'), key, made, opts, tier);
}
