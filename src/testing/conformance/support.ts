/**
 * What every area of the conformance suite shares: the suite context, fixtures and assertion
 * helpers. Errors are recognised by their stable `code` (see suite.ts).
 */
import { createHash } from 'node:crypto';
import { expect } from 'vitest';
import type { CacheConfig } from '../../config/types.js';
import type { Cache } from '../../core/cache.js';
import { type CacheError } from '../../core/errors.js';
import type { ConformanceOptions } from './suite.js';

/** What every group of tests gets: the options and a maker of caches scoped to the current test. */
export interface SuiteContext {
  readonly options: ConformanceOptions;
  /** Slack for TTL assertions, in seconds. */
  readonly slack: number;
  /** Milliseconds to wait for an entry stored with {@link SHORT} to be gone. */
  readonly expiryWaitMs: number;
  /** The random keyPrefix of the running test. */
  prefix(): string;
  /** A cache with this test's keyPrefix (unless overridden), closed when the test ends. */
  make(overrides?: Partial<CacheConfig>): Promise<Cache>;
}

export type ErrorClass = new (message: string) => CacheError;

/** A timeout short enough to wait out, long enough to outlive a few round trips (seconds). */
export const SHORT = 0.3;
export const HUNDRED_YEARS = 100 * 365 * 86_400;
export const SERIALIZERS = ['json', 'v8', 'msgpack'] as const;

/** Keys that are not non-empty strings. */
export const BAD_KEYS: readonly unknown[] = ['', 42, null, undefined, {}, ['a'], Symbol('k')];

/** Timeouts that are not durations (a `Timeout` of another shape, or a malformed string). */
export const BAD_DURATIONS: readonly unknown[] = [
  'abc',
  '',
  '5 m',
  '5M',
  '10 s',
  '1.5.5s',
  'ms',
  '5sec',
  '1d2h',
  Number.NaN,
  true,
];

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function sha256hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

export function codeOf(errorClass: ErrorClass): string {
  return new errorClass('').code;
}

/** Asserts that `call` returns a promise rejecting with `errorClass` (by code), not a sync throw. */
export async function expectRejects(call: () => unknown, errorClass: ErrorClass): Promise<unknown> {
  let pending: unknown;
  try {
    pending = call();
  } catch (error) {
    throw new Error(
      `expected a rejected promise (${errorClass.name}), but the call threw synchronously: ${String(error)}`,
    );
  }
  expect(pending, 'an async method returns a promise').toBeInstanceOf(Promise);
  const error = await (pending as Promise<unknown>).then(
    () => undefined,
    (reason: unknown) => reason ?? new Error('rejected with nothing'),
  );
  expect(error, `expected a rejection with ${errorClass.name}`).toBeDefined();
  expect(error).toBeInstanceOf(Error);
  expect(error).toMatchObject({ code: codeOf(errorClass) });
  return error;
}

/** Asserts that `call` throws `errorClass` (by code) synchronously. */
export function expectThrows(call: () => unknown, errorClass: ErrorClass): void {
  let thrown: unknown;
  let threw = false;
  try {
    call();
  } catch (error) {
    threw = true;
    thrown = error;
  }
  expect(threw, `expected the call to throw ${errorClass.name}`).toBe(true);
  expect(thrown).toBeInstanceOf(Error);
  expect(thrown).toMatchObject({ code: codeOf(errorClass) });
}

/** Asserts seconds left within the suite's slack. */
export function expectTtl(actual: unknown, expectedSeconds: number, slack: number): void {
  expect(typeof actual, `ttl should be a number, got ${String(actual)}`).toBe('number');
  expect(actual as number).toBeGreaterThanOrEqual(expectedSeconds - slack);
  expect(actual as number).toBeLessThanOrEqual(expectedSeconds + slack);
}

export async function collect(iterable: AsyncIterable<string>): Promise<string[]> {
  const keys: string[] = [];
  for await (const key of iterable) keys.push(key);
  return keys.sort();
}

/** Stores each key with itself as the value. */
export async function seed(
  cache: Cache,
  keys: readonly string[],
  opts?: { timeout?: number | null; version?: number },
): Promise<void> {
  await Promise.all(keys.map((key) => cache.set(key, key, opts)));
}

/** Which of `keys` are present. */
export async function present(
  cache: Cache,
  keys: readonly string[],
  version?: number,
): Promise<string[]> {
  const flags = await Promise.all(keys.map((key) => cache.has(key, { version })));
  return keys.filter((_, i) => flags[i]).sort();
}

/** A non-string or empty key, typed as a key so the call compiles. */
export function asKey(value: unknown): string {
  return value as string;
}

export function label(value: unknown): string {
  if (typeof value === 'symbol' || typeof value === 'bigint') return String(value);
  if (typeof value === 'number' && Number.isNaN(value)) return 'NaN';
  return JSON.stringify(value) ?? String(value);
}
