/**
 * The decisions `getOrSet` and `getOrSetSync` share, so the two cannot drift: what a read means
 * (hit, stale, miss), when a stale value may be served instead of a loader error, what is stored
 * for a loaded value (nullTimeout, jitter, stale window), how it is written, and how a loader call
 * is counted. The handlers only sequence these (awaiting, or calling straight through).
 */
import { makeTagKeys, requestTags } from '../tags/tag-keys.js';
import type { CacheContext } from '../cache/context.js';
import { expiryFrom, type ResolvedTimeout } from '../duration.js';
import { MISS } from '../entry/format.js';
import { InvalidValueError } from '../errors.js';
import type { StoreCall } from '../guard/store-guard.js';
import { isPromiseLike } from '../maybe-promise.js';
import type { Payload, Store } from '../store.js';
import { applyJitter, type ResolvedLoadOptions } from './options.js';

/** Lock names used by `getOrSet`'s `lock` option, before key making. */
export const LOCK_KEY_PREFIX = 'skycache:lock:';

/** Where a `getOrSet` value came from (SPEC, "Load outcome"). */
export type LoadSource = 'hit' | 'stale' | 'loaded' | 'joined' | 'fallback';

/** What `getOrSetWithSource` resolves to. */
export interface LoadOutcome<T> {
  readonly value: T;
  readonly source: LoadSource;
}

/** What the read before a load found. */
export interface ReadResult {
  /** The decoded value and its logical expiry (`undefined`: none), if a usable entry was there. */
  readonly entry: { readonly value: unknown; readonly expiresAt: number | undefined } | undefined;
  /** Something is stored under the key (stale or undecodable): replace it rather than add. */
  readonly found: boolean;
  /** The read failed (or the store did not open): the backend is likely down. */
  readonly failed: boolean;
  /** On a cache with `l1`: which tier answered. */
  readonly tier?: 'l1' | 'l2' | undefined;
}

/** The read when the store could not be read. */
export const FAILED_READ: ReadResult = { entry: undefined, found: false, failed: true };

/** A stale value at hand and when it expired (ms). */
export interface Stale {
  readonly value: unknown;
  readonly expiredAt: number;
}

/** What a read means for one caller now: a hit, or a miss with maybe a stale value. */
export type ReadDecision =
  | { readonly hit: true; readonly value: unknown }
  | { readonly hit: false; readonly stale: Stale | undefined };

/** Interprets the payload a read returned. */
export function readResult(
  ctx: CacheContext,
  payload: Payload | undefined,
  key: string,
  made: string,
): ReadResult {
  if (payload === undefined) return { entry: undefined, found: false, failed: false };
  const decoded = ctx.entries.decodeEntry(payload, key, made, 'getOrSet');
  return { entry: decoded === MISS ? undefined : decoded, found: true, failed: false };
}

/** Hit (fresh), or miss with the stale value if the entry is past its logical expiry. */
export function decide(read: ReadResult, now: number): ReadDecision {
  const entry = read.entry;
  if (entry === undefined) return { hit: false, stale: undefined };
  if (entry.expiresAt === undefined || entry.expiresAt > now)
    return { hit: true, value: entry.value };
  return { hit: false, stale: { value: entry.value, expiredAt: entry.expiresAt } };
}

/** How long ago the stale value expired (ms); `Infinity` without one. */
export function staleAge(stale: Stale | undefined, now: number): number {
  return stale ? now - stale.expiredAt : Infinity;
}

/** Whether a loader failure may be answered with the stale value (`staleIfError`). */
export function servesStaleOnError(
  stale: Stale | undefined,
  load: ResolvedLoadOptions,
  now: number,
): stale is Stale {
  return stale !== undefined && staleAge(stale, now) <= load.staleIfErrorMs;
}

/** Whether a slow loader may be answered with the stale value (`softTimeout`). */
export function softTimeoutApplies(
  stale: Stale | undefined,
  load: ResolvedLoadOptions,
  now: number,
): stale is Stale {
  return (
    stale !== undefined &&
    load.softTimeoutMs !== undefined &&
    staleAge(stale, now) <= load.keepStaleMs
  );
}

/** What is written for a loaded value and how long the store keeps it. */
export interface StoredEntry {
  readonly payload: Payload;
  readonly keepUntil: number | null;
}

/**
 * The entry stored for a loaded value: its payload (wrapped with its logical expiry when the call
 * keeps a stale window) and how long the store keeps it; `undefined` when nothing is kept
 * (timeout 0, or an `undefined` result). Applies `nullTimeout` and `jitter` (the stale window
 * itself is not jittered).
 */
export function storedEntry(
  ctx: CacheContext,
  store: Store,
  value: unknown,
  resolved: ResolvedTimeout,
  load: ResolvedLoadOptions,
): StoredEntry | undefined {
  if (value === undefined) return undefined;
  const timeout = applyJitter(
    value === null && load.nullTimeout !== undefined ? load.nullTimeout : resolved,
    load.jitter,
  );
  if (timeout === 'discard') return undefined;
  const payload = ctx.entries.encode(value);
  const expiresAt = expiryFrom(ctx.now(), timeout);
  const tagKeys = load.tags && makeTagKeys(load.tags, ctx.config.keyPrefix);
  const references = ctx.entries.references;
  if (load.keepStaleMs === 0 || expiresAt === null) {
    return { payload: requestTags(payload, tagKeys, references), keepUntil: expiresAt };
  }
  ctx.stateOf(store).staleWritten = true;
  return {
    payload: requestTags(ctx.entries.wrap(payload, expiresAt), tagKeys, references),
    keepUntil: expiresAt + load.keepStaleMs,
  };
}

/**
 * The write of a loaded value: `add` (a concurrent writer wins, as Django's get_or_set), or `set`
 * when something unusable was there (a stale-window or undecodable entry). Resolves `true` if the
 * value was stored.
 */
export function writeLoaded(made: string, entry: StoredEntry, replace: boolean): StoreCall {
  const { payload, keepUntil } = entry;
  if (!replace) return (store) => store.add(made, payload, keepUntil);
  return (store) => {
    const done = store.set(made, payload, keepUntil);
    return isPromiseLike(done) ? Promise.resolve(done).then(() => true) : true;
  };
}

/** Options only the async `getOrSet` supports. @throws InvalidValueError */
export function assertSyncLoadOptions(load: ResolvedLoadOptions): void {
  if (
    load.lock ||
    load.staleWhileRevalidateMs ||
    load.softTimeoutMs !== undefined ||
    load.hardTimeoutMs !== undefined
  ) {
    throw new InvalidValueError(
      'lock, staleWhileRevalidate, softTimeout and hardTimeout need getOrSet()',
    );
  }
}

/** The loader of a `getOrSet` call (a plain value becomes a loader returning it). */
export function loaderOf<T>(valueOrLoader: T | (() => T | Promise<T>)): () => T | Promise<T> {
  return typeof valueOrLoader === 'function'
    ? (valueOrLoader as () => T | Promise<T>)
    : () => valueOrLoader;
}

/** Counts one loader call and announces it (`load` event) when it settles. */
export function loadFinished(
  ctx: CacheContext,
  key: string,
  made: string,
  startedAt: number,
  ok: boolean,
): void {
  ctx.observer.load(key, made, performance.now() - startedAt, ok);
}
