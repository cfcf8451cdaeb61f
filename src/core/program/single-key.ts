/**
 * Programs of the single-key operations (see `runner.ts`): `get` (its guarded path), `set`, `add`,
 * `delete`, `has`, `touch`, `ttl`, and the compare-and-delete they and locks share.
 */
import { requestTags, tagKeysOf } from '../tags/tag-keys.js';
import type { CacheView } from '../cache/view.js';
import {
  parseStoreOptions,
  type GetOptions,
  type StoreOptions,
  type VersionOptions,
} from '../cache/options.js';
import { expiryFrom, type ResolvedTimeout } from '../duration.js';
import { MISS } from '../entry/format.js';
import { isPromiseLike } from '../maybe-promise.js';
import type { Continuation, MaybePromise, Payload, Store } from '../store.js';
import { samePayload } from '../../serializers/codec.js';
import type { Program } from './runner.js';

/** Counts a decoded read as a hit or a miss and returns what `get` answers. */
export function finishGet<T>(
  view: CacheView,
  value: unknown,
  key: string,
  made: string,
  opts: GetOptions<T> | undefined,
  tier?: 'l1' | 'l2',
): T | undefined {
  const observer = view.ctx.observer;
  if (value === MISS) {
    observer.miss(key, made);
    return opts?.default;
  }
  observer.hit(key, made, tier);
  return value as T;
}

/** A storing call's made key and resolved timeout (validated in this order: key, timeout). */
function storing(view: CacheView, key: string, opts: StoreOptions | undefined) {
  const { timeout, version } = parseStoreOptions(opts);
  return { made: view.make(key, version), resolved: view.ctx.expiry(timeout) };
}

export function* getProgram<T>(
  view: CacheView,
  key: string,
  opts: GetOptions<T> | undefined,
): Program<T | undefined> {
  const made = view.make(key, opts?.version);
  const payload = (yield (store) => store.get(made)) as Payload | undefined;
  return finishGet(view, view.ctx.entries.decode(payload, key, made, 'get'), key, made, opts);
}

/** What one `set` writes: validated, encoded, its expiry resolved (`'discard'`: delete instead). */
export interface SetRequest {
  readonly made: string;
  readonly payload: Payload;
  readonly resolved: ResolvedTimeout;
}

/**
 * Validates and encodes a `set` (key, timeout, tags, value, in this order).
 * @throws InvalidKeyError, InvalidValueError, SerializationError
 */
export function setRequest(
  view: CacheView,
  key: string,
  value: unknown,
  opts: StoreOptions | undefined,
): SetRequest {
  const { ctx } = view;
  const { made, resolved } = storing(view, key, opts);
  const tagKeys = tagKeysOf(opts, ctx.config.keyPrefix);
  const payload = requestTags(ctx.entries.encode(value), tagKeys, ctx.entries.references);
  return { made, payload, resolved };
}

/** The store call of a {@link SetRequest}; the expiry is taken when it runs. */
export function writeSet(store: Store, request: SetRequest, now: number): MaybePromise<unknown> {
  const { made, payload, resolved } = request;
  if (resolved === 'discard') return store.delete(made);
  return store.set(made, payload, expiryFrom(now, resolved));
}

/**
 * {@link writeSet} through `Store.setThen`, which takes the lifetime (no clock read here);
 * `undefined` if the store has none (or it deletes).
 */
export function writeSetThen<R>(
  store: Store,
  request: SetRequest,
  next: Continuation<R>,
): Promise<R> | undefined {
  const { made, payload, resolved } = request;
  if (resolved === 'discard' || store.setThen === undefined) return undefined;
  return store.setThen(made, payload, resolved, next);
}

export function* setProgram(
  view: CacheView,
  key: string,
  value: unknown,
  opts: StoreOptions | undefined,
): Program<void> {
  const { ctx } = view;
  const request = setRequest(view, key, value, opts);
  yield (store) => writeSet(store, request, ctx.now());
  if (request.resolved !== 'discard') ctx.observer.set(key, request.made);
}

export function* addProgram(
  view: CacheView,
  key: string,
  value: unknown,
  opts: StoreOptions | undefined,
): Program<boolean> {
  const { ctx } = view;
  const entries = ctx.entries;
  const { made, payload, resolved } = setRequest(view, key, value, opts);
  if (resolved === 'discard') {
    return !entries.isLive((yield (store) => store.get(made)) as Payload | undefined);
  }
  const expiresAt = expiryFrom(ctx.now(), resolved);
  let added = (yield (store) => store.add(made, payload, expiresAt)) as boolean;
  if (!added) {
    // An entry kept only for getOrSet's stale window is absent: swap it out, if it is still the
    // same entry (compare-and-delete), then add as usual.
    const held = (yield (store) => store.get(made)) as Payload | undefined;
    if (held !== undefined && !entries.isLive(held)) {
      const removed = (yield (store) => deleteIfValue(store, made, held)) as boolean;
      if (removed) added = (yield (store) => store.add(made, payload, expiresAt)) as boolean;
    }
  }
  if (added) ctx.observer.set(key, made);
  return added;
}

/** Compare-and-delete: the store's atomic one, else (custom stores without it) two steps. */
export function deleteIfValue(store: Store, made: string, value: Payload): MaybePromise<boolean> {
  if (store.deleteIfValue) return store.deleteIfValue(made, value);
  const held = store.get(made);
  const compareAndDelete = (current: Payload | undefined) =>
    current !== undefined && samePayload(current, value) ? store.delete(made) : false;
  return isPromiseLike(held)
    ? Promise.resolve(held).then(compareAndDelete)
    : compareAndDelete(held);
}

export function* deleteProgram(
  view: CacheView,
  key: string,
  opts: VersionOptions | undefined,
): Program<boolean> {
  const made = view.make(key, opts?.version);
  const removed = (yield (store) => store.delete(made)) as boolean;
  if (removed) view.ctx.observer.deleted(key, made);
  return removed;
}

export function* hasProgram(
  view: CacheView,
  key: string,
  opts: VersionOptions | undefined,
): Program<boolean> {
  const made = view.make(key, opts?.version);
  // Read, not EXISTS: an entry kept only for getOrSet's stale window counts as absent.
  const payload = (yield (store) => store.get(made)) as Payload | undefined;
  return view.ctx.entries.isLive(payload);
}

export function* touchProgram(
  view: CacheView,
  key: string,
  opts: StoreOptions | undefined,
): Program<boolean> {
  const { ctx } = view;
  const entries = ctx.entries;
  const { made, resolved } = storing(view, key, opts);
  // Read first: an entry kept only for a stale window is absent, and one still live carries its
  // logical expiry in the payload, which must move with the new timeout.
  const payload = (yield (store) => store.get(made)) as Payload | undefined;
  if (!entries.isLive(payload)) return false;
  if (resolved === 'discard') {
    yield (store) => store.delete(made);
    return true;
  }
  const expiresAt = expiryFrom(ctx.now(), resolved);
  if (!entries.isWrapped(payload))
    return (yield (store) => store.touch(made, expiresAt)) as boolean;
  const { payload: inner, expiresAt: logical } = entries.unwrap(payload);
  const physical = (yield (store) => store.expiry(made)) as number | null | undefined;
  if (physical === undefined) return false;
  if (expiresAt === null) {
    yield (store) => store.set(made, inner, null);
    return true;
  }
  const window = physical === null ? 0 : physical - logical!;
  const rewrapped = entries.wrap(inner, expiresAt);
  yield (store) => store.set(made, rewrapped, expiresAt + window);
  return true;
}

export function* ttlProgram(
  view: CacheView,
  key: string,
  opts: VersionOptions | undefined,
): Program<number | null | undefined> {
  const { ctx } = view;
  const entries = ctx.entries;
  const made = view.make(key, opts?.version);
  const payload = (yield (store) => store.get(made)) as Payload | undefined;
  if (!entries.isLive(payload)) return undefined;
  const expiresAt = entries.isWrapped(payload)
    ? entries.unwrap(payload).expiresAt!
    : ((yield (store) => store.expiry(made)) as number | null | undefined);
  if (expiresAt === null || expiresAt === undefined) return expiresAt;
  const left = (expiresAt - ctx.now()) / 1000;
  return left > 0 ? left : undefined;
}
