/**
 * `getOrSet`'s resilience options, validated once per call, and the loader's time limits.
 */
import {
  durationToMs,
  resolveTimeout,
  type Duration,
  type ResolvedTimeout,
  type Timeout,
} from '../duration.js';
import { InvalidKeyError, InvalidValueError, LoaderTimeoutError } from '../errors.js';
import { assertKey } from '../keys.js';
import { withDeadline } from '../deadline.js';
import { sleep } from '../timers.js';

/** The lock option of `getOrSet`: one loader call across every process sharing the store. */
export interface LoadLockOptions {
  /** The lock's lifetime (seconds or a duration string). Default 10 s. */
  timeout?: Duration;
  /** How long a waiter waits for the holder before calling the loader itself. Default 10 s. */
  wait?: Duration;
}

/** Everything `getOrSet` accepts besides `timeout` and `version`. */
export interface LoadOptions {
  /**
   * Tags of the stored value: `deleteByTag` of any of them removes it (README "Tags"). Non-empty,
   * well-formed strings.
   */
  tags?: readonly string[];
  /** `true` or `{ timeout, wait }`: one loader call across every process sharing the store. */
  lock?: boolean | LoadLockOptions;
  /** For this long after expiry, return the stale value at once and refresh once in the background. */
  staleWhileRevalidate?: Duration;
  /** For this long after expiry, return the stale value when the loader fails. */
  staleIfError?: Duration;
  /** 0–1: the stored timeout is reduced by a random fraction up to this (avalanche protection). */
  jitter?: number;
  /** How long a `null` result is kept (penetration protection). Default: like any value. */
  nullTimeout?: Timeout;
  /** With a stale value at hand, a loader slower than this gets the stale value returned meanwhile. */
  softTimeout?: Duration;
  /** The loader is abandoned after this: `LoaderTimeoutError`, nothing stored. */
  hardTimeout?: Duration;
}

/** Validated load options, in ms. */
export interface ResolvedLoadOptions {
  /** Tags of the stored value, validated; `undefined` without any. */
  readonly tags: readonly string[] | undefined;
  readonly lock: { readonly ttlMs: number; readonly waitMs: number } | undefined;
  readonly staleWhileRevalidateMs: number;
  readonly staleIfErrorMs: number;
  /** How long past its timeout a stored value is kept: the larger stale window. */
  readonly keepStaleMs: number;
  readonly jitter: number;
  /** `undefined`: like any value. */
  readonly nullTimeout: ResolvedTimeout | undefined;
  readonly softTimeoutMs: number | undefined;
  readonly hardTimeoutMs: number | undefined;
}

/** Default lifetime and wait of locks, in ms. */
export const DEFAULT_LOCK_MS = 10_000;

function optionalMs(value: Duration | undefined, what: string): number | undefined {
  if (value === undefined) return undefined;
  const ms = durationToMs(value, what);
  if (ms < 0) throw new InvalidValueError(`${what} must not be negative, got ${String(value)}`);
  return ms;
}

/** @throws InvalidValueError for a bad duration, a jitter outside 0–1, or an unknown lock shape */
export function resolveLoadOptions(
  options: LoadOptions,
  defaultTimeoutMs: number | null,
): ResolvedLoadOptions {
  let lock: ResolvedLoadOptions['lock'];
  if (options.lock === true) lock = { ttlMs: DEFAULT_LOCK_MS, waitMs: DEFAULT_LOCK_MS };
  else if (options.lock !== undefined && options.lock !== false) {
    if (options.lock === null || typeof options.lock !== 'object') {
      throw new InvalidValueError('lock must be true, false or { timeout?, wait? }');
    }
    lock = {
      ttlMs: optionalMs(options.lock.timeout, 'lock.timeout') ?? DEFAULT_LOCK_MS,
      waitMs: optionalMs(options.lock.wait, 'lock.wait') ?? DEFAULT_LOCK_MS,
    };
  }
  const jitter = options.jitter ?? 0;
  if (typeof jitter !== 'number' || !(jitter >= 0 && jitter <= 1)) {
    throw new InvalidValueError(`jitter must be a number from 0 to 1, got ${String(jitter)}`);
  }
  const staleWhileRevalidateMs =
    optionalMs(options.staleWhileRevalidate, 'staleWhileRevalidate') ?? 0;
  const staleIfErrorMs = optionalMs(options.staleIfError, 'staleIfError') ?? 0;
  const tags = options.tags;
  if (tags !== undefined) {
    if (!Array.isArray(tags)) throw new InvalidKeyError('tags must be an array of strings');
    for (const tag of tags) assertKey(tag, 'a tag');
  }
  return {
    tags: tags === undefined || tags.length === 0 ? undefined : tags,
    lock,
    staleWhileRevalidateMs,
    staleIfErrorMs,
    keepStaleMs: Math.max(staleWhileRevalidateMs, staleIfErrorMs),
    jitter,
    nullTimeout:
      options.nullTimeout === undefined
        ? undefined
        : resolveTimeout(options.nullTimeout, defaultTimeoutMs),
    softTimeoutMs: optionalMs(options.softTimeout, 'softTimeout'),
    hardTimeoutMs: optionalMs(options.hardTimeout, 'hardTimeout'),
  };
}

/** The options of a call that gives none (or only a timeout). */
export const DEFAULT_LOAD_OPTIONS: ResolvedLoadOptions = resolveLoadOptions({}, null);

/** The stored timeout reduced by a uniformly random fraction in `[0, jitter]`. */
export function applyJitter(resolved: ResolvedTimeout, jitter: number): ResolvedTimeout {
  if (jitter === 0 || typeof resolved !== 'number') return resolved;
  return Math.max(1, Math.round(resolved * (1 - Math.random() * jitter)));
}

/** Calls the loader, rejecting with `LoaderTimeoutError` after `hardTimeoutMs` (the loader is abandoned). */
export function callLoader<T>(
  loader: () => T | Promise<T>,
  hardTimeoutMs: number | undefined,
  key: string,
): Promise<T> {
  let result: Promise<T>;
  try {
    result = Promise.resolve(loader());
  } catch (error) {
    return Promise.reject(error);
  }
  if (hardTimeoutMs === undefined) return result;
  return withDeadline(
    result,
    hardTimeoutMs,
    () =>
      new LoaderTimeoutError(
        `the loader of "${key}" took longer than hardTimeout (${hardTimeoutMs} ms)`,
      ),
  );
}

/** Resolves with `undefined` after `ms` (for the soft timeout race). */
export function delay(ms: number): Promise<undefined> {
  return sleep(ms).then(() => undefined);
}
