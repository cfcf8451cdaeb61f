/**
 * The backend conformance suite: every row of the Cache API contract (docs: SPEC "The Cache API",
 * "Durations and timeouts", "Values and serializers", "Errors"), written once and run against
 * every backend, so that backends cannot drift apart.
 *
 * Third parties run it against their own backend from a vitest test file:
 *
 * ```ts
 * import { runConformanceSuite } from 'skycache/testing';
 * runConformanceSuite({ name: 'my backend', makeCache: (o) => createCache({ backend: myFactory, ...o }) });
 * ```
 *
 * Every test makes its caches with a fresh random `keyPrefix`, so the suite can run against a
 * shared store (a Redis database, a PostgreSQL table) without the tests seeing each other, and
 * closes every cache it made when the test ends.
 *
 * Errors are recognised by their stable `code`, not by `instanceof`: a bundle of this module may
 * carry its own copy of the error classes, and `code` is what the contract promises callers.
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CacheConfig } from '../config/types.js';
import type { Cache } from '../core/cache.js';
import {
  type CacheError,
  InvalidKeyError,
  InvalidValueError,
  KeyNotFoundError,
  SerializationError,
  UnsupportedOperationError,
} from '../core/errors.js';
import { silentLogger } from '../core/logger.js';

/** How a backend is put under test. */
export interface ConformanceOptions {
  /** Title of the `describe` block. */
  name: string;
  /**
   * Makes a fresh Cache on the backend under test. `overrides` must be merged into its config
   * (they carry `keyPrefix`, `version`, `timeout`, `serializer`, `keyFunction`, `hashKeys`,
   * `maxKeyLength`, `logger`). Caches made during one test must share one store (the suite
   * checks that prefixes keep them apart); giving each test its own store is fine.
   */
  makeCache(overrides?: Partial<CacheConfig>): Cache | Promise<Cache>;
  /** The backend stores nothing: assert Django's DummyCache semantics for every row instead. */
  dummy?: boolean;
  /**
   * Whether `clear()` on a cache with `keyPrefix: ''` may be tested: it empties the whole store.
   * Default `true`; set `false` when the store is shared with data the suite must not wipe.
   */
  clearsWholeStore?: boolean;
  /** Slack for `ttl()` and expiry assertions, in milliseconds. Default 50. */
  ttlPrecisionMs?: number;
  /** Expected `cache.supportsSync`; the `…Sync` twins are tested, or must throw, accordingly. Default `false`. */
  supportsSync?: boolean;
  /** Expected `cache.backend` (its name). Checked only when given. */
  backendName?: string;
  /**
   * The store keeps JavaScript values by reference (the memory backend's `serialize: false`):
   * value isolation and serializer-specific rules do not apply and are skipped.
   */
  storesReferences?: boolean;
}

/** What every group of tests gets: the options and a maker of caches scoped to the current test. */
interface SuiteContext {
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

type ErrorClass = new (message: string) => CacheError;

/** A timeout short enough to wait out, long enough to outlive a few round trips (seconds). */
const SHORT = 0.3;
const HUNDRED_YEARS = 100 * 365 * 86_400;
const SERIALIZERS = ['json', 'v8', 'msgpack'] as const;

/** Keys that are not non-empty strings. */
const BAD_KEYS: readonly unknown[] = ['', 42, null, undefined, {}, ['a'], Symbol('k')];

/** Timeouts that are not durations (a `Timeout` of another shape, or a malformed string). */
const BAD_DURATIONS: readonly unknown[] = [
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

/**
 * Registers the conformance tests for one backend.
 *
 * @example
 * runConformanceSuite({ name: 'memory', supportsSync: true, makeCache: (o) => createCache({ backend: 'memory', ...o }) });
 */
export function runConformanceSuite(options: ConformanceOptions): void {
  let prefix = '';
  const made: Cache[] = [];
  const precisionMs = options.ttlPrecisionMs ?? 50;
  const ctx: SuiteContext = {
    options,
    slack: precisionMs / 1000,
    expiryWaitMs: SHORT * 1000 + precisionMs + 100,
    prefix: () => prefix,
    async make(overrides = {}) {
      const cache = await options.makeCache({ keyPrefix: prefix, ...overrides });
      made.push(cache);
      return cache;
    },
  };

  describe(options.name, () => {
    beforeEach(() => {
      prefix = `cf${randomBytes(6).toString('hex')}`;
    });
    afterEach(async () => {
      const caches = made.splice(0);
      await Promise.all(caches.map((cache) => cache.close()));
    });

    defineKeyTests(ctx);
    defineValidationTests(ctx);
    definePropertyTests(ctx);
    defineLifecycleTests(ctx);
    if (options.dummy) {
      defineDummyTests(ctx);
    } else {
      defineReadWriteTests(ctx);
      defineTimeoutTests(ctx);
      defineCounterTests(ctx);
      defineBatchTests(ctx);
      defineClearTests(ctx);
      defineGetOrSetTests(ctx);
      defineVersionTests(ctx);
      definePatternTests(ctx);
      defineNamespaceTests(ctx);
      defineHashKeyTests(ctx);
      defineValueTests(ctx);
    }
    defineSyncTests(ctx);
  });
}

// ---------------------------------------------------------------------------------------------
// Helpers

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function sha256hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

function codeOf(errorClass: ErrorClass): string {
  return new errorClass('').code;
}

/** Asserts that `call` returns a promise rejecting with `errorClass` (by code), not a sync throw. */
async function expectRejects(call: () => unknown, errorClass: ErrorClass): Promise<unknown> {
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
function expectThrows(call: () => unknown, errorClass: ErrorClass): void {
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
function expectTtl(actual: unknown, expectedSeconds: number, slack: number): void {
  expect(typeof actual, `ttl should be a number, got ${String(actual)}`).toBe('number');
  expect(actual as number).toBeGreaterThanOrEqual(expectedSeconds - slack);
  expect(actual as number).toBeLessThanOrEqual(expectedSeconds + slack);
}

async function collect(iterable: AsyncIterable<string>): Promise<string[]> {
  const keys: string[] = [];
  for await (const key of iterable) keys.push(key);
  return keys.sort();
}

/** Stores each key with itself as the value. */
async function seed(
  cache: Cache,
  keys: readonly string[],
  opts?: { timeout?: number | null; version?: number },
): Promise<void> {
  await Promise.all(keys.map((key) => cache.set(key, key, opts)));
}

/** Which of `keys` are present. */
async function present(cache: Cache, keys: readonly string[], version?: number): Promise<string[]> {
  const flags = await Promise.all(keys.map((key) => cache.has(key, { version })));
  return keys.filter((_, i) => flags[i]).sort();
}

/** A non-string or empty key, typed as a key so the call compiles. */
function asKey(value: unknown): string {
  return value as string;
}

function label(value: unknown): string {
  if (typeof value === 'symbol' || typeof value === 'bigint') return String(value);
  if (typeof value === 'number' && Number.isNaN(value)) return 'NaN';
  return JSON.stringify(value) ?? String(value);
}

// ---------------------------------------------------------------------------------------------
// Key making (both modes)

function defineKeyTests(ctx: SuiteContext): void {
  describe('makeKey and key making', () => {
    it('makes `${keyPrefix}:${version}:${key}` by default', async () => {
      const c = await ctx.make();
      const p = ctx.prefix();
      expect(c.makeKey('k')).toBe(`${p}:1:k`);
      expect(c.makeKey('a:b', 7)).toBe(`${p}:7:a:b`);
      const v3 = await ctx.make({ version: 3 });
      expect(v3.makeKey('k')).toBe(`${p}:3:k`);
      expect(v3.makeKey('k', 1)).toBe(`${p}:1:k`);
      const unprefixed = await ctx.make({ keyPrefix: '' });
      expect(unprefixed.makeKey('k')).toBe(':1:k');
    });

    it('uses a custom keyFunction with (key, keyPrefix, version)', async () => {
      const calls: Array<[string, string, number]> = [];
      const c = await ctx.make({
        version: 2,
        keyFunction: (key, keyPrefix, version) => {
          calls.push([key, keyPrefix, version]);
          return `${keyPrefix}|v${version}|${key.toUpperCase()}`;
        },
      });
      const p = ctx.prefix();
      expect(c.makeKey('ab')).toBe(`${p}|v2|AB`);
      expect(c.makeKey('ab', 5)).toBe(`${p}|v5|AB`);
      expect(calls).toContainEqual(['ab', p, 2]);
      expect(calls).toContainEqual(['ab', p, 5]);
    });

    it('a namespace view makes `name:key` keys, and views nest', async () => {
      const c = await ctx.make();
      const users = c.namespace('users');
      expect(users.makeKey('a')).toBe(c.makeKey('users:a'));
      expect(users.makeKey('a', 4)).toBe(c.makeKey('users:a', 4));
      expect(users.namespace('admins').makeKey('a')).toBe(c.makeKey('users:admins:a'));
    });

    it('hashKeys makes `${keyPrefix}:${version}:${sha256hex(key)}`', async () => {
      const c = await ctx.make({ hashKeys: true });
      const p = ctx.prefix();
      expect(c.makeKey('some key')).toBe(`${p}:1:${sha256hex('some key')}`);
      expect(c.makeKey('ключ😀', 3)).toBe(`${p}:3:${sha256hex('ключ😀')}`);
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Validation (both modes: the dummy backend validates too)

function defineValidationTests(ctx: SuiteContext): void {
  describe('validation', () => {
    const keyCalls: Array<[string, (c: Cache, key: string) => unknown]> = [
      ['get', (c, k) => c.get(k)],
      ['set', (c, k) => c.set(k, 1)],
      ['add', (c, k) => c.add(k, 1)],
      ['delete', (c, k) => c.delete(k)],
      ['has', (c, k) => c.has(k)],
      ['touch', (c, k) => c.touch(k, 10)],
      ['incr', (c, k) => c.incr(k)],
      ['decr', (c, k) => c.decr(k)],
      ['ttl', (c, k) => c.ttl(k)],
      ['getOrSet', (c, k) => c.getOrSet(k, () => 1)],
      ['incrVersion', (c, k) => c.incrVersion(k)],
      ['decrVersion', (c, k) => c.decrVersion(k)],
      ['getMany', (c, k) => c.getMany(['fine', k])],
      ['setMany', (c, k) => c.setMany(new Map([[k, 1]]))],
      ['deleteMany', (c, k) => c.deleteMany(['fine', k])],
    ];

    for (const [method, call] of keyCalls) {
      it(`${method} rejects keys that are not non-empty strings with InvalidKeyError`, async () => {
        const c = await ctx.make();
        for (const bad of BAD_KEYS) {
          await expectRejects(() => call(c, asKey(bad)), InvalidKeyError);
        }
      });
    }

    it('a made key longer than maxKeyLength (default 1024) is an InvalidKeyError', async () => {
      const c = await ctx.make();
      const long = 'x'.repeat(1100);
      await expectRejects(() => c.set(long, 1), InvalidKeyError);
      await expectRejects(() => c.get(long), InvalidKeyError);
      await expectRejects(() => c.has(long), InvalidKeyError);
      await expectRejects(() => c.getMany(['ok', long]), InvalidKeyError);
    });

    it('maxKeyLength counts UTF-8 bytes of the made key, inclusive', async () => {
      const p = ctx.prefix();
      // The made key is `${p}:1:${key}`: room for exactly 10 bytes of key.
      const c = await ctx.make({ maxKeyLength: p.length + 3 + 10 });
      await c.set('k'.repeat(10), 1);
      await expectRejects(() => c.set('k'.repeat(11), 1), InvalidKeyError);
      // Six characters, twelve bytes.
      await expectRejects(() => c.set('é'.repeat(6), 1), InvalidKeyError);
      await c.set('é'.repeat(5), 1);
    });

    it('maxKeyLength applies to the hashed form under hashKeys', async () => {
      const p = ctx.prefix();
      const fits = await ctx.make({ hashKeys: true, maxKeyLength: p.length + 3 + 64 });
      await fits.set('y'.repeat(5000), 1);
      const tooShort = await ctx.make({ hashKeys: true, maxKeyLength: p.length + 3 + 63 });
      await expectRejects(() => tooShort.set('y', 1), InvalidKeyError);
    });

    it('set and setMany reject an undefined value with InvalidValueError and store nothing', async () => {
      const c = await ctx.make();
      await expectRejects(() => c.set('k', undefined), InvalidValueError);
      await expectRejects(
        () =>
          c.setMany(
            new Map<string, unknown>([
              ['first', 1],
              ['k', undefined],
            ]),
          ),
        InvalidValueError,
      );
      expect(await c.has('k')).toBe(false);
      expect(await c.has('first')).toBe(false);
    });

    const durationCalls: Array<[string, (c: Cache, timeout: never) => unknown]> = [
      ['set', (c, t) => c.set('k', 1, t)],
      ['set {timeout}', (c, t) => c.set('k', 1, { timeout: t })],
      ['add', (c, t) => c.add('k', 1, t)],
      ['add {timeout}', (c, t) => c.add('k', 1, { timeout: t })],
      ['touch', (c, t) => c.touch('k', t)],
      ['touch {timeout}', (c, t) => c.touch('k', { timeout: t })],
      ['setMany', (c, t) => c.setMany({ k: 1 }, t)],
      ['setMany {timeout}', (c, t) => c.setMany({ k: 1 }, { timeout: t })],
      ['getOrSet', (c, t) => c.getOrSet('k', () => 1, t)],
      ['getOrSet {timeout}', (c, t) => c.getOrSet('k', () => 1, { timeout: t })],
    ];

    for (const [method, call] of durationCalls) {
      it(`${method} rejects a malformed timeout with InvalidValueError and stores nothing`, async () => {
        const c = await ctx.make();
        for (const bad of BAD_DURATIONS) {
          const error = await expectRejects(() => call(c, bad as never), InvalidValueError);
          expect(error, `timeout ${label(bad)}`).toBeDefined();
        }
        expect(await c.has('k')).toBe(false);
      });
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Properties (both modes)

function definePropertyTests(ctx: SuiteContext): void {
  describe('properties', () => {
    it('exposes alias, backend, defaultTimeout, keyPrefix, version and supportsSync', async () => {
      const c = await ctx.make();
      expect(typeof c.alias).toBe('string');
      expect(c.alias.length).toBeGreaterThan(0);
      expect(typeof c.backend).toBe('string');
      if (ctx.options.backendName !== undefined) expect(c.backend).toBe(ctx.options.backendName);
      expect(c.defaultTimeout).toBe(300);
      expect(c.keyPrefix).toBe(ctx.prefix());
      expect(c.version).toBe(1);
      expect(c.supportsSync).toBe(ctx.options.supportsSync ?? false);
    });

    it('reflects the configured version and keyPrefix', async () => {
      const c = await ctx.make({ version: 4, keyPrefix: `${ctx.prefix()}-other` });
      expect(c.version).toBe(4);
      expect(c.keyPrefix).toBe(`${ctx.prefix()}-other`);
    });

    it('defaultTimeout is the configured timeout in seconds, or null for forever', async () => {
      const cases: Array<[CacheConfig['timeout'], number | null]> = [
        [60, 60],
        [1.5, 1.5],
        [null, null],
        ['5m', 300],
        ['250ms', 0.25],
        ['2h', 7200],
        ['90', 90],
        [0, 0],
      ];
      for (const [timeout, seconds] of cases) {
        const c = await ctx.make({ timeout });
        expect(c.defaultTimeout, `timeout ${label(timeout)}`).toBe(seconds);
      }
    });
  });
}

// ---------------------------------------------------------------------------------------------
// close() and disposal (both modes)

function defineLifecycleTests(ctx: SuiteContext): void {
  const dummy = ctx.options.dummy ?? false;

  describe('close', () => {
    it('close() is idempotent and a later operation opens the cache again', async () => {
      const c = await ctx.make();
      await c.set('before', 1);
      await c.close();
      await c.close();
      await c.set('after', 'again');
      expect(await c.get('after')).toBe(dummy ? undefined : 'again');
      await c.close();
    });

    it('Symbol.asyncDispose closes the cache and can follow close()', async () => {
      const c = await ctx.make();
      await c.get('k');
      expect(typeof c[Symbol.asyncDispose]).toBe('function');
      await c[Symbol.asyncDispose]();
      await c[Symbol.asyncDispose]();
      await c.close();
    });

    // The dummy backend stores nothing, so there is no entry for the other cache to keep.
    it.skipIf(dummy)(
      'closing one cache does not affect another cache on the same store',
      async () => {
        const first = await ctx.make();
        const second = await ctx.make();
        await first.set('shared', 'value', 60);
        await first.close();
        expect(await second.get('shared')).toBe('value');
        await second.set('later', 1);
        expect(await second.get('later')).toBe(1);
      },
    );
  });
}

// ---------------------------------------------------------------------------------------------
// get / set / has / delete / add / touch

function defineReadWriteTests(ctx: SuiteContext): void {
  describe('get, set, has, delete', () => {
    it('get returns undefined on a miss, or opts.default', async () => {
      const c = await ctx.make();
      expect(await c.get('missing')).toBeUndefined();
      expect(await c.get('missing', { default: 'fallback' })).toBe('fallback');
      expect(await c.get('missing', { default: 0 })).toBe(0);
      expect(await c.get('missing', { default: null })).toBeNull();
    });

    it('a stored null is returned as null, not the default; falsy values come back as stored', async () => {
      const c = await ctx.make();
      await c.set('null', null);
      await c.set('false', false);
      await c.set('zero', 0);
      await c.set('empty', '');
      expect(await c.get('null', { default: 'fallback' })).toBeNull();
      expect(await c.get('false', { default: true })).toBe(false);
      expect(await c.get('zero', { default: 1 })).toBe(0);
      expect(await c.get('empty', { default: 'x' })).toBe('');
    });

    it('set stores and overwrites', async () => {
      const c = await ctx.make();
      await c.set('k', { a: 1 });
      expect(await c.get('k')).toEqual({ a: 1 });
      await c.set('k', 'second');
      expect(await c.get('k')).toBe('second');
    });

    it('has is true for present entries, a stored null included', async () => {
      const c = await ctx.make();
      await c.set('k', 'v');
      await c.set('null', null);
      expect(await c.has('k')).toBe(true);
      expect(await c.has('null')).toBe(true);
      expect(await c.has('missing')).toBe(false);
    });

    it('delete returns true if something was removed, false otherwise', async () => {
      const c = await ctx.make();
      await c.set('k', 'v');
      await c.set('null', null);
      expect(await c.delete('k')).toBe(true);
      expect(await c.delete('k')).toBe(false);
      expect(await c.delete('null')).toBe(true);
      expect(await c.delete('missing')).toBe(false);
      expect(await c.has('k')).toBe(false);
      expect(await c.has('null')).toBe(false);
    });

    it('keys with Unicode and separator characters work', async () => {
      const c = await ctx.make();
      const keys = ['ключ', '😀', '𝌆', 'e\u0301', 'a:b:c', 'with space', 'glob*[?]', '%_like'];
      for (const key of keys) await c.set(key, `value of ${key}`);
      for (const key of keys) expect(await c.get(key), key).toBe(`value of ${key}`);
      expect(await collect(c.keys())).toEqual([...keys].sort());
    });
  });

  describe('add', () => {
    it('stores only if absent and reports whether it stored', async () => {
      const c = await ctx.make();
      expect(await c.add('k', 'first')).toBe(true);
      expect(await c.add('k', 'second')).toBe(false);
      expect(await c.get('k')).toBe('first');
      await c.set('null', null);
      expect(await c.add('null', 'other')).toBe(false);
      expect(await c.get('null')).toBeNull();
    });

    it('with timeout 0 returns true and keeps nothing when absent', async () => {
      const c = await ctx.make();
      expect(await c.add('k', 'v', 0)).toBe(true);
      expect(await c.has('k')).toBe(false);
      expect(await c.add('k2', 'v', { timeout: -1 })).toBe(true);
      expect(await c.has('k2')).toBe(false);
    });

    it('with timeout 0 returns false and changes nothing when present', async () => {
      const c = await ctx.make();
      await c.set('k', 'kept', 60);
      expect(await c.add('k', 'other', 0)).toBe(false);
      expect(await c.get('k')).toBe('kept');
      expectTtl(await c.ttl('k'), 60, ctx.slack);
    });

    it('is atomic: of 20 concurrent adds exactly one stores', async () => {
      const c = await ctx.make();
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => c.add('race', `writer ${i}`)),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
      const winner = results.indexOf(true);
      expect(await c.get('race')).toBe(`writer ${winner}`);
    });

    it('takes a timeout and a version', async () => {
      const c = await ctx.make();
      expect(await c.add('k', 'v', 60)).toBe(true);
      expectTtl(await c.ttl('k'), 60, ctx.slack);
      expect(await c.add('k', 'v2', { version: 2, timeout: 30 })).toBe(true);
      expect(await c.get('k', { version: 2 })).toBe('v2');
      expectTtl(await c.ttl('k', { version: 2 }), 30, ctx.slack);
      expect(await c.get('k')).toBe('v');
    });
  });

  describe('touch', () => {
    it('sets a new timeout from now and keeps the value', async () => {
      const c = await ctx.make();
      await c.set('k', 'v', 10);
      expect(await c.touch('k', 100)).toBe(true);
      expectTtl(await c.ttl('k'), 100, ctx.slack);
      expect(await c.touch('k', { timeout: null })).toBe(true);
      expect(await c.ttl('k')).toBeNull();
      expect(await c.touch('k', '30s')).toBe(true);
      expectTtl(await c.ttl('k'), 30, ctx.slack);
      expect(await c.get('k')).toBe('v');
    });

    it('without a timeout applies the default timeout', async () => {
      const c = await ctx.make();
      await c.set('k', 'v', null);
      expect(await c.touch('k')).toBe(true);
      expectTtl(await c.ttl('k'), 300, ctx.slack);
    });

    it('returns false for an absent key and creates nothing', async () => {
      const c = await ctx.make();
      expect(await c.touch('missing', 10)).toBe(false);
      expect(await c.has('missing')).toBe(false);
    });

    it('with timeout 0 or negative returns true and removes the entry', async () => {
      const c = await ctx.make();
      await c.set('zero', 'v');
      await c.set('negative', 'v');
      expect(await c.touch('zero', 0)).toBe(true);
      expect(await c.touch('negative', { timeout: -5 })).toBe(true);
      expect(await c.has('zero')).toBe(false);
      expect(await c.has('negative')).toBe(false);
    });

    it('honours the version option', async () => {
      const c = await ctx.make();
      await c.set('k', 'v', { version: 2, timeout: 10 });
      expect(await c.touch('k', 50)).toBe(false);
      expect(await c.touch('k', { timeout: 50, version: 2 })).toBe(true);
      expectTtl(await c.ttl('k', { version: 2 }), 50, ctx.slack);
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Timeouts and ttl()

function defineTimeoutTests(ctx: SuiteContext): void {
  describe('timeouts and ttl', () => {
    it('ttl is undefined for an absent key and null for an entry that never expires', async () => {
      const c = await ctx.make();
      expect(await c.ttl('missing')).toBeUndefined();
      await c.set('forever', 'v', null);
      await c.set('forever-obj', 'v', { timeout: null });
      expect(await c.ttl('forever')).toBeNull();
      expect(await c.ttl('forever-obj')).toBeNull();
    });

    it('a number is seconds, fractions allowed, and ttl reports fractional seconds left', async () => {
      const c = await ctx.make();
      await c.set('ten', 'v', 10);
      await c.set('fraction', 'v', 1.5);
      await c.set('obj', 'v', { timeout: 42 });
      expectTtl(await c.ttl('ten'), 10, ctx.slack);
      expectTtl(await c.ttl('fraction'), 1.5, ctx.slack);
      expectTtl(await c.ttl('obj'), 42, ctx.slack);
    });

    it('duration strings use ms, s, m, h, d; a bare numeric string is seconds', async () => {
      const c = await ctx.make();
      const cases: Array<[string, number]> = [
        ['250ms', 0.25],
        ['1s', 1],
        ['30s', 30],
        ['5m', 300],
        ['1.5h', 5400],
        ['7d', 604_800],
        ['90', 90],
      ];
      for (const [timeout] of cases) await c.set(timeout, 'v', timeout);
      for (const [timeout, seconds] of cases) {
        expect(await c.has(timeout), timeout).toBe(true);
        expectTtl(await c.ttl(timeout), seconds, ctx.slack);
      }
    });

    it('an omitted timeout is the default of 300 s, or the configured one', async () => {
      const c = await ctx.make();
      await c.set('k', 'v');
      await c.set('obj', 'v', {});
      expectTtl(await c.ttl('k'), 300, ctx.slack);
      expectTtl(await c.ttl('obj'), 300, ctx.slack);
      const minute = await ctx.make({ timeout: '1m' });
      await minute.set('k', 'v');
      expectTtl(await minute.ttl('k'), 60, ctx.slack);
      const forever = await ctx.make({ timeout: null });
      await forever.set('k', 'v');
      expect(await forever.ttl('k')).toBeNull();
    });

    it('a configured default timeout of 0 keeps nothing', async () => {
      const c = await ctx.make({ timeout: 0 });
      await c.set('k', 'v');
      expect(await c.has('k')).toBe(false);
      await c.set('explicit', 'v', 60);
      expect(await c.get('explicit')).toBe('v');
    });

    it('set with timeout 0 or negative keeps nothing and removes an existing entry', async () => {
      const c = await ctx.make();
      await c.set('zero', 'old');
      await c.set('negative', 'old');
      await c.set('negative-string', 'old');
      await c.set('zero', 'new', 0);
      await c.set('negative', 'new', { timeout: -1 });
      await c.set('negative-string', 'new', '-5s');
      await c.set('fresh', 'new', 0);
      for (const key of ['zero', 'negative', 'negative-string', 'fresh']) {
        expect(await c.get(key), key).toBeUndefined();
      }
    });

    it('100 years is kept and counted from now (no overflow, no absolute reading)', async () => {
      const c = await ctx.make();
      await c.set('century', 'v', HUNDRED_YEARS);
      await c.set('century-string', 'v', `${100 * 365}d`);
      expect(await c.get('century')).toBe('v');
      expect(await c.get('century-string')).toBe('v');
      expectTtl(await c.ttl('century'), HUNDRED_YEARS, ctx.slack);
      expectTtl(await c.ttl('century-string'), HUNDRED_YEARS, ctx.slack);
    });

    it('expired entries are absent to every read', async () => {
      const c = await ctx.make();
      const ns = c.namespace('ns');
      await c.set('plain', 'v', SHORT);
      await c.set('string', 'v', '250ms');
      await c.set('object', 'v', { timeout: SHORT });
      await c.set('null', null, SHORT);
      expect(await c.add('added', 'v', SHORT)).toBe(true);
      expect(await c.setMany({ many1: 1, many2: 'x' }, SHORT)).toEqual([]);
      expect(await c.getOrSet('loaded', () => 'v', SHORT)).toBe('v');
      await c.set('touched', 'v', null);
      expect(await c.touch('touched', SHORT)).toBe(true);
      await c.set('counter', 1, SHORT);
      expect(await c.incr('counter')).toBe(2);
      await ns.set('inner', 'v', SHORT);
      await c.set('kept', 'v', 60);
      await c.set('rescued', 'v', SHORT);
      expect(await c.touch('rescued', null)).toBe(true);

      await sleep(ctx.expiryWaitMs);

      const expired = [
        'plain',
        'string',
        'object',
        'null',
        'added',
        'many1',
        'many2',
        'loaded',
        'touched',
        'counter',
        'ns:inner',
      ];
      for (const key of expired) {
        expect(await c.get(key, { default: 'miss' }), key).toBe('miss');
        expect(await c.has(key), key).toBe(false);
        expect(await c.ttl(key), key).toBeUndefined();
      }
      expect(await ns.get('inner')).toBeUndefined();
      const found = await c.getMany([...expired, 'kept', 'rescued']);
      expect([...found.keys()]).toEqual(['kept', 'rescued']);
      expect(await collect(c.keys())).toEqual(['kept', 'rescued']);
      expect(await collect(ns.keys())).toEqual([]);
      expect(await c.ttl('rescued')).toBeNull();
    });

    it('expired entries count as absent for add, getOrSet, touch, incr and incrVersion', async () => {
      const c = await ctx.make();
      await seed(c, ['add', 'getOrSet', 'touch', 'incr', 'incrVersion'], { timeout: SHORT });
      await c.set('incr', 5, SHORT);

      await sleep(ctx.expiryWaitMs);

      expect(await c.add('add', 'new')).toBe(true);
      expect(await c.get('add')).toBe('new');
      expect(await c.getOrSet('getOrSet', () => 'reloaded')).toBe('reloaded');
      expect(await c.touch('touch', 60)).toBe(false);
      expect(await c.has('touch')).toBe(false);
      await expectRejects(() => c.incr('incr'), KeyNotFoundError);
      await expectRejects(() => c.incrVersion('incrVersion'), KeyNotFoundError);
      expect(await c.has('incrVersion', { version: 2 })).toBe(false);
    });
  });
}

// ---------------------------------------------------------------------------------------------
// incr / decr

function defineCounterTests(ctx: SuiteContext): void {
  describe('incr and decr', () => {
    it('add delta (default 1) to a stored integer and return the new value', async () => {
      const c = await ctx.make();
      await c.set('n', 10);
      expect(await c.incr('n')).toBe(11);
      expect(await c.incr('n', 5)).toBe(16);
      expect(await c.incr('n', -20)).toBe(-4);
      expect(await c.decr('n')).toBe(-5);
      expect(await c.decr('n', 5)).toBe(-10);
      expect(await c.decr('n', -12)).toBe(2);
      expect(await c.get('n')).toBe(2);
      await c.set('zero', 0);
      expect(await c.incr('zero', 0)).toBe(0);
    });

    it('reject with KeyNotFoundError on a missing key and create nothing', async () => {
      const c = await ctx.make();
      await expectRejects(() => c.incr('missing'), KeyNotFoundError);
      await expectRejects(() => c.decr('missing', 2), KeyNotFoundError);
      expect(await c.has('missing')).toBe(false);
    });

    it('reject with InvalidValueError when the stored value is not an integer, changing nothing', async () => {
      const c = await ctx.make();
      const values: unknown[] = ['abc', '12', 1.5, true, null, { n: 1 }, [1], Buffer.from('5')];
      for (const [i, value] of values.entries()) {
        await c.set(`v${i}`, value);
        await expectRejects(() => c.incr(`v${i}`), InvalidValueError);
        await expectRejects(() => c.decr(`v${i}`), InvalidValueError);
        expect(await c.get(`v${i}`), label(value)).toEqual(value);
      }
    });

    it('keep the entry’s expiry', async () => {
      const c = await ctx.make();
      await c.set('timed', 1, 100);
      await c.set('forever', 1, null);
      expect(await c.incr('timed')).toBe(2);
      expect(await c.decr('forever')).toBe(0);
      expectTtl(await c.ttl('timed'), 100, ctx.slack);
      expect(await c.ttl('forever')).toBeNull();
    });

    it('are atomic: 200 concurrent increments lose no update', async () => {
      const c = await ctx.make();
      await c.set('n', 0);
      const results = await Promise.all(Array.from({ length: 200 }, () => c.incr('n')));
      expect(await c.get('n')).toBe(200);
      expect([...results].sort((a, b) => a - b)).toEqual(
        Array.from({ length: 200 }, (_, i) => i + 1),
      );
    });

    it('honour the version option', async () => {
      const c = await ctx.make();
      await c.set('n', 1, { version: 2 });
      expect(await c.incr('n', 1, { version: 2 })).toBe(2);
      expect(await c.decr('n', 3, { version: 2 })).toBe(-1);
      await expectRejects(() => c.incr('n'), KeyNotFoundError);
    });

    it('work up to the largest safe integer', async () => {
      const c = await ctx.make();
      await c.set('big', Number.MAX_SAFE_INTEGER - 1);
      expect(await c.incr('big')).toBe(Number.MAX_SAFE_INTEGER);
      await c.set('small', Number.MIN_SAFE_INTEGER + 1);
      expect(await c.decr('small')).toBe(Number.MIN_SAFE_INTEGER);
    });
  });
}

// ---------------------------------------------------------------------------------------------
// getMany / setMany / deleteMany

function defineBatchTests(ctx: SuiteContext): void {
  const references = ctx.options.storesReferences ?? false;

  describe('getMany', () => {
    it('returns a Map of only the keys found, in request order, a stored null included', async () => {
      const c = await ctx.make();
      await c.set('a', 1);
      await c.set('b', { two: 2 });
      await c.set('c', null);
      const found = await c.getMany(['c', 'missing', 'a', 'b', 'also-missing']);
      expect(found).toBeInstanceOf(Map);
      expect([...found.entries()]).toEqual([
        ['c', null],
        ['a', 1],
        ['b', { two: 2 }],
      ]);
      expect((await c.getMany([])).size).toBe(0);
    });

    it('accepts any iterable of keys and the version option', async () => {
      const c = await ctx.make();
      await c.set('a', 'v1');
      await c.set('a', 'v2', { version: 2 });
      function* keys() {
        yield 'a';
        yield 'missing';
      }
      expect([...(await c.getMany(new Set(['a'])))]).toEqual([['a', 'v1']]);
      expect([...(await c.getMany(keys(), { version: 2 }))]).toEqual([['a', 'v2']]);
    });
  });

  describe('setMany', () => {
    it('accepts a Map, a Record, an array of pairs and any iterable of pairs, returning []', async () => {
      const c = await ctx.make();
      function* pairs(): Generator<[string, unknown]> {
        yield ['g1', 'gen'];
        yield ['g2', null];
      }
      expect(
        await c.setMany(
          new Map<string, unknown>([
            ['m1', 1],
            ['m2', { x: [1] }],
          ]),
        ),
      ).toEqual([]);
      expect(await c.setMany({ r1: 'record', r2: false })).toEqual([]);
      expect(
        await c.setMany([
          ['a1', 'array'],
          ['a2', 0],
        ]),
      ).toEqual([]);
      expect(await c.setMany(pairs())).toEqual([]);
      const found = await c.getMany(['m1', 'm2', 'r1', 'r2', 'a1', 'a2', 'g1', 'g2']);
      expect(Object.fromEntries(found)).toEqual({
        m1: 1,
        m2: { x: [1] },
        r1: 'record',
        r2: false,
        a1: 'array',
        a2: 0,
        g1: 'gen',
        g2: null,
      });
    });

    it('takes a timeout and a version', async () => {
      const c = await ctx.make();
      expect(await c.setMany({ a: 1, b: 2 }, 60)).toEqual([]);
      expect(await c.setMany({ a: 'v2' }, { version: 2, timeout: null })).toEqual([]);
      expectTtl(await c.ttl('a'), 60, ctx.slack);
      expectTtl(await c.ttl('b'), 60, ctx.slack);
      expect(await c.get('a', { version: 2 })).toBe('v2');
      expect(await c.ttl('a', { version: 2 })).toBeNull();
      expect(await c.get('a')).toBe(1);
    });

    it('with timeout 0 keeps nothing, removes existing entries and returns []', async () => {
      const c = await ctx.make();
      await c.set('existing', 'old');
      expect(await c.setMany({ existing: 'new', fresh: 'new' }, 0)).toEqual([]);
      expect(await c.has('existing')).toBe(false);
      expect(await c.has('fresh')).toBe(false);
    });

    it('a bad key anywhere throws InvalidKeyError before anything is written', async () => {
      const c = await ctx.make();
      await c.set('first', 'old');
      await expectRejects(() => c.setMany({ first: 'new', second: 1, '': 2 }), InvalidKeyError);
      await expectRejects(
        () =>
          c.setMany(
            new Map<unknown, unknown>([
              ['first', 'new'],
              ['second', 1],
              [42, 2],
            ]) as Map<string, unknown>,
          ),
        InvalidKeyError,
      );
      await expectRejects(
        () =>
          c.setMany([
            ['first', 'new'],
            ['second', 1],
            ['x'.repeat(2000), 2],
          ]),
        InvalidKeyError,
      );
      expect(await c.get('first')).toBe('old');
      expect(await c.has('second')).toBe(false);
    });

    it.skipIf(references)(
      // A reference store never serializes, so nothing can be unserializable there.
      'an unserializable value throws SerializationError before anything is written',
      async () => {
        const c = await ctx.make();
        await c.set('first', 'old');
        await expectRejects(
          () =>
            c.setMany([
              ['first', 'new'],
              ['second', 1],
              ['bad', { big: 10n }],
              ['third', 3],
            ]),
          SerializationError,
        );
        expect(await c.get('first')).toBe('old');
        expect(await present(c, ['second', 'bad', 'third'])).toEqual([]);
      },
    );
  });

  describe('deleteMany', () => {
    it('returns how many entries were removed', async () => {
      const c = await ctx.make();
      await seed(c, ['a', 'b', 'c']);
      await c.set('null', null);
      expect(await c.deleteMany(['a', 'b', 'missing', 'null'])).toBe(3);
      expect(await present(c, ['a', 'b', 'c', 'null'])).toEqual(['c']);
      expect(await c.deleteMany([])).toBe(0);
      expect(await c.deleteMany(new Set(['c']))).toBe(1);
    });

    it('honours the version option', async () => {
      const c = await ctx.make();
      await c.set('a', 1);
      await c.set('a', 2, { version: 2 });
      expect(await c.deleteMany(['a'], { version: 2 })).toBe(1);
      expect(await c.get('a')).toBe(1);
    });

    it('a bad key throws InvalidKeyError before anything is deleted', async () => {
      const c = await ctx.make();
      await c.set('a', 1);
      await expectRejects(() => c.deleteMany(['a', '']), InvalidKeyError);
      expect(await c.get('a')).toBe(1);
    });
  });
}

// ---------------------------------------------------------------------------------------------
// clear()

function defineClearTests(ctx: SuiteContext): void {
  const clearsWholeStore = ctx.options.clearsWholeStore ?? true;

  describe('clear', () => {
    it('removes every entry under the keyPrefix, all versions, and nothing else', async () => {
      const p = ctx.prefix();
      const c = await ctx.make();
      const other = await ctx.make({ keyPrefix: `${p}-other` });
      const extended = await ctx.make({ keyPrefix: `${p}x` });
      await seed(c, ['a', 'b']);
      await c.set('a', 'v2', { version: 2 });
      await seed(other, ['a', 'b']);
      await seed(extended, ['a']);
      await c.clear();
      expect(await present(c, ['a', 'b'])).toEqual([]);
      expect(await c.has('a', { version: 2 })).toBe(false);
      expect(await present(other, ['a', 'b'])).toEqual(['a', 'b']);
      expect(await extended.has('a')).toBe(true);
    });

    // Each prefix, read as a glob, a LIKE pattern or a regular expression, would also cover its
    // sibling; read literally, it does not.
    const specialPrefixes: Array<[string, string]> = [
      ['a*[b]?', 'aZZbQ'],
      ['c%_', 'cXY'],
      ['e\\x', 'ex'],
      ['f.+', 'fxx'],
      ['g[!h]', 'gz'],
    ];
    for (const [special, sibling] of specialPrefixes) {
      it(`treats the keyPrefix ${JSON.stringify(special)} literally`, async () => {
        const p = ctx.prefix();
        const c = await ctx.make({ keyPrefix: `${p}${special}` });
        const s = await ctx.make({ keyPrefix: `${p}${sibling}` });
        await seed(c, ['k', 'j']);
        await seed(s, ['k', 'j']);
        expect(await collect(c.keys())).toEqual(['j', 'k']);
        expect(await c.deletePattern('j')).toBe(1);
        await c.clear();
        expect(await present(c, ['k', 'j'])).toEqual([]);
        expect(await present(s, ['k', 'j'])).toEqual(['j', 'k']);
      });
    }

    // Skipped when the harness says the store holds data the suite must not wipe.
    it.skipIf(!clearsWholeStore)('with keyPrefix "" empties the whole store', async () => {
      const whole = await ctx.make({ keyPrefix: '' });
      const prefixed = await ctx.make();
      const own = `${ctx.prefix()}-unprefixed`;
      await whole.set(own, 1);
      await prefixed.set('k', 2);
      await whole.clear();
      expect(await whole.has(own)).toBe(false);
      expect(await prefixed.has('k')).toBe(false);
    });

    it('on an empty prefix of the store does nothing and resolves', async () => {
      const c = await ctx.make();
      await c.clear();
      await c.set('after', 1);
      expect(await c.get('after')).toBe(1);
    });
  });
}

// ---------------------------------------------------------------------------------------------
// getOrSet

function defineGetOrSetTests(ctx: SuiteContext): void {
  describe('getOrSet', () => {
    it('returns a hit without calling the loader; a stored null is a hit', async () => {
      const c = await ctx.make();
      let calls = 0;
      const loader = () => {
        calls++;
        return 'loaded';
      };
      await c.set('k', 'stored');
      await c.set('null', null);
      expect(await c.getOrSet('k', loader)).toBe('stored');
      expect(await c.getOrSet('null', loader)).toBeNull();
      expect(calls).toBe(0);
    });

    it('on a miss calls the loader (sync or async), stores and returns its value', async () => {
      const c = await ctx.make();
      expect(await c.getOrSet('sync', () => ({ from: 'sync' }))).toEqual({ from: 'sync' });
      expect(await c.getOrSet('async', async () => [1, 2])).toEqual([1, 2]);
      expect(await c.get('sync')).toEqual({ from: 'sync' });
      expect(await c.get('async')).toEqual([1, 2]);
      expectTtl(await c.ttl('sync'), 300, ctx.slack);
    });

    it('accepts a plain value instead of a loader', async () => {
      const c = await ctx.make();
      expect(await c.getOrSet('obj', { plain: true })).toEqual({ plain: true });
      expect(await c.getOrSet('zero', 0)).toBe(0);
      expect(await c.getOrSet('null', null)).toBeNull();
      expect(await c.get('obj')).toEqual({ plain: true });
      expect(await c.get('zero')).toBe(0);
      expect(await c.has('null')).toBe(true);
      expect(await c.getOrSet('obj', 'ignored')).toEqual({ plain: true });
    });

    it('returns what the cache holds after adding (a concurrent writer wins)', async () => {
      const c = await ctx.make();
      const result = await c.getOrSet('k', async () => {
        await c.set('k', 'theirs');
        return 'mine';
      });
      expect(result).toBe('theirs');
      expect(await c.get('k')).toBe('theirs');
    });

    it('calls the loader once for 20 concurrent callers', async () => {
      const c = await ctx.make();
      let calls = 0;
      const loader = async () => {
        calls++;
        await sleep(50);
        return { n: 1 };
      };
      const results = await Promise.all(Array.from({ length: 20 }, () => c.getOrSet('k', loader)));
      expect(calls).toBe(1);
      for (const result of results) expect(result).toEqual({ n: 1 });
    });

    it('calls the loader once per made key, across cache objects on one store', async () => {
      const first = await ctx.make();
      const second = await ctx.make();
      const calls: string[] = [];
      const loader = (name: string) => async () => {
        calls.push(name);
        await sleep(50);
        return name;
      };
      const results = await Promise.all([
        first.getOrSet('k', loader('k')),
        second.getOrSet('k', loader('k')),
        first.getOrSet('k', loader('k')),
        first.getOrSet('other', loader('other')),
        first.getOrSet('k', loader('k v2'), { version: 2 }),
      ]);
      expect(results).toEqual(['k', 'k', 'k', 'other', 'k v2']);
      expect(calls.sort()).toEqual(['k', 'k v2', 'other']);
    });

    it('propagates a loader error as the same object to every caller and stores nothing', async () => {
      const c = await ctx.make();
      const failure = new Error('loader failed');
      let calls = 0;
      const loader = async () => {
        calls++;
        await sleep(30);
        throw failure;
      };
      const settled = await Promise.allSettled(
        Array.from({ length: 20 }, () => c.getOrSet('k', loader)),
      );
      expect(calls).toBe(1);
      for (const outcome of settled) {
        expect(outcome.status).toBe('rejected');
        if (outcome.status === 'rejected') expect(outcome.reason).toBe(failure);
      }
      expect(await c.has('k')).toBe(false);
      // The failed flight is over: the next call runs a loader again.
      expect(await c.getOrSet('k', () => 'recovered')).toBe('recovered');
    });

    it('propagates an error thrown synchronously by the loader as a rejection', async () => {
      const c = await ctx.make();
      const failure = new TypeError('sync failure');
      const pending = c.getOrSet('k', () => {
        throw failure;
      });
      await expect(pending).rejects.toBe(failure);
      expect(await c.has('k')).toBe(false);
    });

    it('returns a loader result of undefined without storing it', async () => {
      const c = await ctx.make();
      let calls = 0;
      const loader = () => {
        calls++;
        return undefined;
      };
      expect(await c.getOrSet('k', loader)).toBeUndefined();
      expect(await c.has('k')).toBe(false);
      expect(await c.getOrSet('k', loader)).toBeUndefined();
      expect(calls).toBe(2);
    });

    it('with timeout 0 returns the loader’s value and keeps nothing', async () => {
      const c = await ctx.make();
      expect(await c.getOrSet('k', () => 'v', 0)).toBe('v');
      expect(await c.getOrSet('k2', async () => 'v', { timeout: 0 })).toBe('v');
      expect(await c.has('k')).toBe(false);
      expect(await c.has('k2')).toBe(false);
    });

    it('takes a timeout and a version', async () => {
      const c = await ctx.make();
      expect(await c.getOrSet('k', () => 'v', 60)).toBe('v');
      expectTtl(await c.ttl('k'), 60, ctx.slack);
      expect(await c.getOrSet('k', () => 'v2', { version: 2, timeout: null })).toBe('v2');
      expect(await c.get('k', { version: 2 })).toBe('v2');
      expect(await c.ttl('k', { version: 2 })).toBeNull();
      expect(await c.get('k')).toBe('v');
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Versions

function defineVersionTests(ctx: SuiteContext): void {
  describe('versions', () => {
    it('an entry set with version 2 is invisible to version 1 and visible with {version: 2}', async () => {
      const c = await ctx.make();
      await c.set('k', 'two', { version: 2 });
      expect(await c.get('k')).toBeUndefined();
      expect(await c.has('k')).toBe(false);
      expect(await c.get('k', { version: 2 })).toBe('two');
      await c.set('k', 'one');
      expect(await c.get('k')).toBe('one');
      expect(await c.delete('k', { version: 2 })).toBe(true);
      expect(await c.get('k')).toBe('one');
      expect(await c.has('k', { version: 2 })).toBe(false);
    });

    it('the cache-level version is the default of every call', async () => {
      const v1 = await ctx.make();
      const v2 = await ctx.make({ version: 2 });
      await v2.set('k', 'from v2');
      expect(await v1.get('k')).toBeUndefined();
      expect(await v1.get('k', { version: 2 })).toBe('from v2');
      await v1.set('k', 'from v1');
      expect(await v2.get('k')).toBe('from v2');
      expect(await v2.get('k', { version: 1 })).toBe('from v1');
    });

    it('incrVersion moves the value and its remaining TTL up and returns the new version', async () => {
      const c = await ctx.make();
      await c.set('timed', 'x', 100);
      await c.set('forever', 'y', null);
      expect(await c.incrVersion('timed')).toBe(2);
      expect(await c.incrVersion('forever')).toBe(2);
      expect(await c.has('timed')).toBe(false);
      expect(await c.get('timed', { version: 2 })).toBe('x');
      expectTtl(await c.ttl('timed', { version: 2 }), 100, ctx.slack);
      expect(await c.get('forever', { version: 2 })).toBe('y');
      expect(await c.ttl('forever', { version: 2 })).toBeNull();
    });

    it('incrVersion and decrVersion take a delta and a starting version', async () => {
      const c = await ctx.make();
      await c.set('k', 'v', { version: 2 });
      expect(await c.incrVersion('k', 3, { version: 2 })).toBe(5);
      expect(await c.get('k', { version: 5 })).toBe('v');
      expect(await c.decrVersion('k', 1, { version: 5 })).toBe(4);
      expect(await c.decrVersion('k', 2, { version: 4 })).toBe(2);
      expect(await c.has('k', { version: 4 })).toBe(false);
      expect(await c.get('k', { version: 2 })).toBe('v');
      const v3 = await ctx.make({ version: 3 });
      await v3.set('j', 'w');
      expect(await v3.decrVersion('j')).toBe(2);
      expect(await v3.get('j', { version: 2 })).toBe('w');
    });

    it('incrVersion moves a stored null too', async () => {
      const c = await ctx.make();
      await c.set('k', null);
      expect(await c.incrVersion('k')).toBe(2);
      expect(await c.has('k', { version: 2 })).toBe(true);
      expect(await c.get('k', { version: 2, default: 'miss' })).toBeNull();
    });

    it('incrVersion and decrVersion reject with KeyNotFoundError on a missing key', async () => {
      const c = await ctx.make();
      await c.set('k', 'v', { version: 2 });
      await expectRejects(() => c.incrVersion('missing'), KeyNotFoundError);
      await expectRejects(() => c.decrVersion('missing'), KeyNotFoundError);
      await expectRejects(() => c.incrVersion('k'), KeyNotFoundError);
      expect(await c.get('k', { version: 2 })).toBe('v');
    });
  });
}

// ---------------------------------------------------------------------------------------------
// keys() and deletePattern()

const PATTERN_FIXTURE = [
  'dict_options:a',
  'dict_options:b',
  'dict_optionsX',
  'a1',
  'a2',
  'a10',
  'ab',
  'b1',
  'c1',
  'lit*',
  'litX',
  'q?',
  'qZ',
  'r[a]',
  'ra',
];

const PATTERN_CASES: Array<[pattern: string, matches: string[]]> = [
  ['*', PATTERN_FIXTURE],
  ['dict_options:*', ['dict_options:a', 'dict_options:b']],
  ['a?', ['a1', 'a2', 'ab']],
  ['[ab]1', ['a1', 'b1']],
  ['*1', ['a1', 'b1', 'c1']],
  ['lit\\*', ['lit*']],
  ['q\\?', ['q?']],
  ['r\\[a]', ['r[a]']],
  ['a1', ['a1']],
  ['nothing*', []],
];

function definePatternTests(ctx: SuiteContext): void {
  describe('keys', () => {
    it('is an async iterable of the caller’s keys as passed to set', async () => {
      const c = await ctx.make();
      await seed(c, PATTERN_FIXTURE);
      const iterable = c.keys();
      expect(typeof iterable[Symbol.asyncIterator]).toBe('function');
      expect(await collect(iterable)).toEqual([...PATTERN_FIXTURE].sort());
    });

    for (const [pattern, matches] of PATTERN_CASES) {
      it(`keys(${JSON.stringify(pattern)}) yields ${matches.length} keys`, async () => {
        const c = await ctx.make();
        await seed(c, PATTERN_FIXTURE);
        expect(await collect(c.keys(pattern))).toEqual([...matches].sort());
      });
    }

    it('yields only this prefix and version', async () => {
      const c = await ctx.make();
      const other = await ctx.make({ keyPrefix: `${ctx.prefix()}-other` });
      await seed(c, ['a', 'b']);
      await seed(c, ['v2only'], { version: 2 });
      await seed(other, ['a', 'c']);
      expect(await collect(c.keys())).toEqual(['a', 'b']);
      expect(await collect(c.keys('*', { version: 2 }))).toEqual(['v2only']);
      expect(await collect(other.keys())).toEqual(['a', 'c']);
    });
  });

  describe('deletePattern', () => {
    for (const [pattern, matches] of PATTERN_CASES) {
      it(`deletePattern(${JSON.stringify(pattern)}) removes ${matches.length} keys and returns the count`, async () => {
        const c = await ctx.make();
        await seed(c, PATTERN_FIXTURE);
        expect(await c.deletePattern(pattern)).toBe(matches.length);
        const remaining = PATTERN_FIXTURE.filter((key) => !matches.includes(key)).sort();
        expect(await present(c, PATTERN_FIXTURE)).toEqual(remaining);
      });
    }

    it('touches only the caller’s keys: other prefixes and versions are untouched', async () => {
      const c = await ctx.make();
      const other = await ctx.make({ keyPrefix: `${ctx.prefix()}-other` });
      await seed(c, ['a', 'b']);
      await seed(c, ['a', 'c'], { version: 2 });
      await seed(other, ['a', 'b']);
      expect(await c.deletePattern('*')).toBe(2);
      expect(await present(c, ['a', 'b'])).toEqual([]);
      expect(await present(c, ['a', 'c'], 2)).toEqual(['a', 'c']);
      expect(await present(other, ['a', 'b'])).toEqual(['a', 'b']);
      expect(await c.deletePattern('*', { version: 2 })).toBe(2);
      expect(await present(c, ['a', 'c'], 2)).toEqual([]);
      expect(await present(other, ['a', 'b'])).toEqual(['a', 'b']);
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Namespaces

function defineNamespaceTests(ctx: SuiteContext): void {
  describe('namespace', () => {
    it('stores under `name:key` in the parent', async () => {
      const c = await ctx.make();
      const users = c.namespace('users');
      await users.set('a', 1);
      expect(await users.get('a')).toBe(1);
      expect(await c.get('users:a')).toBe(1);
      await c.set('users:b', 2);
      expect(await users.get('b')).toBe(2);
      expect([...(await users.getMany(['a', 'b', 'c']))]).toEqual([
        ['a', 1],
        ['b', 2],
      ]);
      expect(await users.incr('a')).toBe(2);
      expect(await users.getOrSet('c', () => 3)).toBe(3);
      expect(await c.get('users:c')).toBe(3);
    });

    it('nests', async () => {
      const c = await ctx.make();
      const admins = c.namespace('users').namespace('admins');
      await admins.set('a', 'root');
      expect(await c.get('users:admins:a')).toBe('root');
      expect(await c.namespace('users').get('admins:a')).toBe('root');
    });

    it('clear() removes only that namespace', async () => {
      const c = await ctx.make();
      const users = c.namespace('users');
      const nested = users.namespace('admins');
      await seed(users, ['a', 'b']);
      await seed(nested, ['x']);
      await seed(c, ['a', 'users', 'usersX', 'users2:a', 'other:a']);
      await nested.clear();
      expect(await nested.has('x')).toBe(false);
      expect(await present(users, ['a', 'b'])).toEqual(['a', 'b']);
      await users.clear();
      expect(await present(users, ['a', 'b'])).toEqual([]);
      expect(await present(c, ['a', 'users', 'usersX', 'users2:a', 'other:a'])).toEqual(
        ['a', 'other:a', 'users', 'users2:a', 'usersX'].sort(),
      );
    });

    it('a namespace name with glob characters is literal', async () => {
      const c = await ctx.make();
      const star = c.namespace('n*');
      await seed(star, ['a']);
      await seed(c.namespace('nX'), ['a']);
      expect(await collect(c.keys('n*:*'))).toEqual(['n*:a', 'nX:a']);
      await star.clear();
      expect(await collect(c.keys())).toEqual(['nX:a']);
    });

    it('keys() and deletePattern() of a view are relative to it', async () => {
      const c = await ctx.make();
      const users = c.namespace('users');
      await seed(users, ['a1', 'a2', 'b1']);
      await seed(c, ['a1', 'usersX']);
      expect(await collect(users.keys())).toEqual(['a1', 'a2', 'b1']);
      expect(await collect(users.keys('a*'))).toEqual(['a1', 'a2']);
      expect(await collect(c.keys('users:*'))).toEqual(['users:a1', 'users:a2', 'users:b1']);
      expect(await users.deletePattern('a?')).toBe(2);
      expect(await collect(users.keys())).toEqual(['b1']);
      expect(await present(c, ['a1', 'usersX'])).toEqual(['a1', 'usersX']);
    });
  });
}

// ---------------------------------------------------------------------------------------------
// hashKeys and custom key functions, against the store

function defineHashKeyTests(ctx: SuiteContext): void {
  describe('hashKeys and keyFunction', () => {
    it('hashKeys: values round-trip under every operation', async () => {
      const c = await ctx.make({ hashKeys: true });
      await c.set('plain', { a: 1 });
      expect(await c.get('plain')).toEqual({ a: 1 });
      expect(await c.has('plain')).toBe(true);
      expect(await c.add('plain', 'other')).toBe(false);
      await c.set('n', 1);
      expect(await c.incr('n')).toBe(2);
      expect([...(await c.getMany(['plain', 'n', 'missing']))]).toEqual([
        ['plain', { a: 1 }],
        ['n', 2],
      ]);
      expect(await c.getOrSet('loaded', () => 'v')).toBe('v');
      expect(await c.delete('plain')).toBe(true);
      expect(await c.has('plain')).toBe(false);
    });

    it('hashKeys: stores under the hashed key, so a plain cache sees the hashed name', async () => {
      const hashed = await ctx.make({ hashKeys: true });
      const plain = await ctx.make();
      await hashed.set('secret name', 'v');
      expect(await plain.get(sha256hex('secret name'))).toBe('v');
      expect(await plain.has('secret name')).toBe(false);
    });

    it('hashKeys: clear() still removes exactly this prefix', async () => {
      const c = await ctx.make({ hashKeys: true });
      const other = await ctx.make({ hashKeys: true, keyPrefix: `${ctx.prefix()}-other` });
      await seed(c, ['a', 'b']);
      await seed(other, ['a']);
      await c.clear();
      expect(await present(c, ['a', 'b'])).toEqual([]);
      expect(await other.has('a')).toBe(true);
    });

    it('hashKeys: keys() yields the stored (hashed) keys', async () => {
      const c = await ctx.make({ hashKeys: true });
      await seed(c, ['a', 'b']);
      const keys = await collect(c.keys());
      expect(keys).toHaveLength(2);
      // SPEC: "the iterator yields the stored keys" — accept the hash alone or the whole made key.
      for (const name of ['a', 'b']) {
        expect(
          keys.some((key) => key.endsWith(sha256hex(name))),
          name,
        ).toBe(true);
      }
    });

    it('keyFunction: the store is keyed by the made key', async () => {
      const c = await ctx.make({
        keyFunction: (key, keyPrefix, version) => `${keyPrefix}:${version}:${key.toUpperCase()}`,
      });
      const plain = await ctx.make();
      await c.set('ab', 'v');
      expect(await c.get('AB')).toBe('v');
      expect(await plain.get('AB')).toBe('v');
      expect(await plain.has('ab')).toBe(false);
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Values and serializers

const JSON_VALUES: Array<[string, unknown]> = [
  ['object', { a: 1, b: 'two', c: [true, null, { d: -1.5 }], 'key with space': {} }],
  ['nested arrays', [[], [[1], [2, [3]]], ['x', { y: null }]]],
  ['empty object', {}],
  ['empty array', []],
  ['empty string', ''],
  ['true', true],
  ['false', false],
  ['null', null],
  ['large string', 'abcdefghijklmnopqrstuvwxyz0123456789😀'.repeat(6000)],
  ['large array', Array.from({ length: 2000 }, (_, i) => ({ i, s: `item ${i}` }))],
];

const NUMBERS: readonly number[] = [
  0,
  1,
  -1,
  42,
  Number.MAX_SAFE_INTEGER,
  Number.MIN_SAFE_INTEGER,
  2 ** 53 + 2,
  -(2 ** 60),
  1e21,
  1.5,
  -0.25,
  0.1 + 0.2,
  1e-7,
  Math.PI,
  Number.MAX_VALUE,
  Number.MIN_VALUE,
];

/** Strings a naive store could confuse with stored integers, JSON or markers. */
const NUMERIC_LOOKING_STRINGS: readonly string[] = [
  '123',
  '-5',
  '0',
  '007',
  '1e3',
  ' 7',
  '1.5',
  'true',
  'null',
  '{"a":1}',
  '"quoted"',
  '\u0000starts with NUL',
];

const UNICODE_STRINGS: readonly string[] = [
  'plain ascii',
  'Ünïcödé àccents',
  '日本語のテキスト',
  '😀🎉👍🏽',
  '👨‍👩‍👧‍👦',
  '𝌆𝄞𠀀',
  '\u0301',
  'e\u0301\u0302\u0303',
  'مرحبا بالعالم',
  '\u200B\u200D\uFEFF',
  '\uFEFFstarts with a BOM',
  'line\nbreaks\r\n\ttabs',
  '\u2028\u2029',
  'nul\u0000inside',
  '"quotes" \\backslash\\ \'single\'',
  '\uFFFD\uFFFF',
];

function bytesOf(value: Uint8Array): string {
  return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex');
}

function byteValues(): Array<[string, Uint8Array]> {
  const backing = Buffer.from('xxhelloxx');
  return [
    ['an empty Buffer', Buffer.alloc(0)],
    ['a Buffer of every byte', Buffer.from(Array.from({ length: 256 }, (_, i) => i))],
    ['a Buffer of ASCII digits', Buffer.from('12345')],
    ['a Buffer starting with NUL', Buffer.from([0, 1, 2])],
    ['a Buffer holding JSON text', Buffer.from('{"a":1}')],
    ['a Buffer of invalid UTF-8', Buffer.from([0xff, 0xfe, 0xc3, 0x28])],
    ['a Uint8Array', new Uint8Array([1, 2, 3, 250])],
    [
      'a Uint8Array view into a larger buffer',
      new Uint8Array(backing.buffer, backing.byteOffset + 2, 5),
    ],
  ];
}

function defineValueTests(ctx: SuiteContext): void {
  const references = ctx.options.storesReferences ?? false;

  for (const serializer of SERIALIZERS) {
    // A reference store ignores the serializer; its round trips are the plain JSON-value tests.
    describe.skipIf(references && serializer !== 'json')(
      `values under the ${serializer} serializer`,
      () => {
        const make = () => ctx.make({ serializer });

        it('JSON values round-trip exactly, through get, getMany and getOrSet', async () => {
          const c = await make();
          for (const [name, value] of JSON_VALUES) await c.set(name, value);
          for (const [name, value] of JSON_VALUES) {
            expect(await c.get(name), name).toStrictEqual(value);
            expect(await c.getOrSet(name, () => 'not called'), name).toStrictEqual(value);
          }
          const found = await c.getMany(JSON_VALUES.map(([name]) => name));
          expect([...found]).toStrictEqual(JSON_VALUES);
        });

        it('numbers round-trip: floats, negatives and integers beyond the safe range', async () => {
          const c = await make();
          for (const [i, n] of NUMBERS.entries()) await c.set(`n${i}`, n);
          for (const [i, n] of NUMBERS.entries()) expect(await c.get(`n${i}`), String(n)).toBe(n);
        });

        it('strings that look like numbers, JSON or markers stay strings', async () => {
          const c = await make();
          for (const [i, s] of NUMERIC_LOOKING_STRINGS.entries()) await c.set(`s${i}`, s);
          for (const [i, s] of NUMERIC_LOOKING_STRINGS.entries()) {
            expect(await c.get(`s${i}`), JSON.stringify(s)).toBe(s);
          }
        });

        it('Unicode strings round-trip exactly', async () => {
          const c = await make();
          for (const [i, s] of UNICODE_STRINGS.entries()) await c.set(`u${i}`, s);
          for (const [i, s] of UNICODE_STRINGS.entries()) {
            expect(await c.get(`u${i}`), JSON.stringify(s)).toBe(s);
          }
          await c.set('in object', { text: UNICODE_STRINGS });
          expect(await c.get('in object')).toStrictEqual({ text: UNICODE_STRINGS });
        });

        it.skipIf(references)(
          // A reference store hands back the very Uint8Array it was given.
          'a top-level Buffer or Uint8Array comes back as a Buffer with the same bytes',
          async () => {
            const c = await make();
            const values = byteValues();
            for (const [name, bytes] of values) await c.set(name, bytes);
            for (const [name, bytes] of values) {
              const got = await c.get(name);
              expect(Buffer.isBuffer(got), `${name} is a Buffer`).toBe(true);
              expect(bytesOf(got as Buffer), name).toBe(bytesOf(bytes));
            }
            const found = await c.getMany([values[0]![0], values[1]![0]]);
            expect(Buffer.isBuffer(found.get(values[1]![0]))).toBe(true);
          },
        );

        it('integers stored by this serializer can be incremented', async () => {
          const c = await make();
          await c.set('n', 41);
          expect(await c.incr('n')).toBe(42);
          expect(await c.get('n')).toBe(42);
          await c.set('s', '41');
          await expectRejects(() => c.incr('s'), InvalidValueError);
        });

        // A reference store keeps Dates and BigInts as they are: the JSON rules do not apply.
        if (serializer === 'json' && !references) defineJsonOnlyTests(ctx);
        else if (serializer !== 'json') defineRichSerializerTests(ctx, serializer);
      },
    );
  }

  it.skipIf(references)(
    // A reference store never decodes bytes.
    'stored bytes another serializer cannot decode are a miss, not an error',
    async () => {
      const writer = await ctx.make({ serializer: 'v8' });
      const reader = await ctx.make({ serializer: 'json', logger: silentLogger });
      await writer.set('k', { a: 1 });
      expect(await reader.get('k', { default: 'miss' })).toBe('miss');
      expect((await reader.getMany(['k'])).size).toBe(0);
    },
  );

  // Skipped only for reference stores, which are documented to share objects.
  describe.skipIf(references)('value isolation', () => {
    it('mutating an object after set does not change the stored value', async () => {
      const c = await ctx.make();
      const value = { list: [1, 2], nested: { flag: true } };
      await c.set('k', value);
      value.list.push(3);
      value.nested.flag = false;
      expect(await c.get('k')).toEqual({ list: [1, 2], nested: { flag: true } });
    });

    it('mutating a value returned by get, getMany or getOrSet does not change the stored value', async () => {
      const c = await ctx.make();
      await c.set('k', { list: [1] });
      const got = (await c.get('k')) as { list: number[] };
      got.list.push(2);
      const many = (await c.getMany(['k'])).get('k') as { list: number[] };
      many.list.push(3);
      const loadedValue = { list: [1] };
      const loaded = (await c.getOrSet('loaded', () => loadedValue)) as { list: number[] };
      loaded.list.push(2);
      loadedValue.list.push(3);
      const hit = (await c.getOrSet('k', () => ({ list: [] }))) as { list: number[] };
      hit.list.push(4);
      expect(await c.get('k')).toEqual({ list: [1] });
      expect(await c.get('loaded')).toEqual({ list: [1] });
    });

    it('mutating a Buffer after set does not change the stored bytes', async () => {
      const c = await ctx.make();
      const bytes = Buffer.from([1, 2, 3]);
      await c.set('k', bytes);
      bytes[0] = 9;
      expect(bytesOf((await c.get('k')) as Buffer)).toBe('010203');
    });
  });
}

function defineJsonOnlyTests(ctx: SuiteContext): void {
  it('a Date becomes its ISO string', async () => {
    const c = await ctx.make({ serializer: 'json' });
    const date = new Date('2020-01-02T03:04:05.678Z');
    await c.set('date', date);
    await c.set('nested', { date });
    expect(await c.get('date')).toBe('2020-01-02T03:04:05.678Z');
    expect(await c.get('nested')).toEqual({ date: '2020-01-02T03:04:05.678Z' });
  });

  it('BigInt, cycles and functions are a SerializationError and nothing is stored', async () => {
    const c = await ctx.make({ serializer: 'json' });
    const cycle: Record<string, unknown> = { name: 'cycle' };
    cycle.self = cycle;
    const unwritable: Array<[string, unknown]> = [
      ['top-level BigInt', 10n],
      ['nested BigInt', { big: 10n }],
      ['cycle', cycle],
      ['function', () => 1],
      ['symbol', Symbol('s')],
    ];
    await c.set('existing', 'old');
    for (const [name, value] of unwritable) {
      await expectRejects(() => c.set('existing', value), SerializationError);
      await expectRejects(() => c.set(`fresh ${name}`, value), SerializationError);
      await expectRejects(() => c.add(`added ${name}`, value), SerializationError);
      expect(await c.get('existing'), name).toBe('old');
      expect(await c.has(`fresh ${name}`), name).toBe(false);
      expect(await c.has(`added ${name}`), name).toBe(false);
    }
  });
}

function defineRichSerializerTests(ctx: SuiteContext, serializer: 'v8' | 'msgpack'): void {
  it('Date, Map, Set and BigInt round-trip with their types', async () => {
    const c = await ctx.make({ serializer });
    const date = new Date('2020-01-02T03:04:05.678Z');
    const map = new Map<unknown, unknown>([
      ['a', 1],
      [2, { b: [1, 2] }],
    ]);
    const set = new Set<unknown>([1, 'two', 3]);
    const values: Array<[string, unknown]> = [
      ['date', date],
      ['map', map],
      ['set', set],
      ['small BigInt', 10n],
      ['negative BigInt', -5n],
      ['huge BigInt', 2n ** 100n],
      ['nested', { date, map, set, big: 2n ** 64n, plain: { x: 1 } }],
    ];
    for (const [name, value] of values) await c.set(name, value);
    for (const [name, value] of values) expect(await c.get(name), name).toStrictEqual(value);
  });

  if (serializer === 'v8') {
    it('cycles round-trip', async () => {
      const c = await ctx.make({ serializer });
      const cycle: Record<string, unknown> = { name: 'cycle' };
      cycle.self = cycle;
      await c.set('cycle', cycle);
      const got = (await c.get('cycle')) as Record<string, unknown>;
      expect(got.name).toBe('cycle');
      expect(got.self).toBe(got);
    });

    it('a function is a SerializationError and nothing is stored', async () => {
      const c = await ctx.make({ serializer });
      await expectRejects(() => c.set('fn', { f: () => 1 }), SerializationError);
      expect(await c.has('fn')).toBe(false);
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Dummy semantics (Django's DummyCache)

function defineDummyTests(ctx: SuiteContext): void {
  describe('dummy semantics', () => {
    it('set is a no-op: get returns undefined or the default, has false', async () => {
      const c = await ctx.make();
      await c.set('k', 'v');
      await c.set('null', null, null);
      expect(await c.get('k')).toBeUndefined();
      expect(await c.get('k', { default: 'fallback' })).toBe('fallback');
      expect(await c.get('null', { default: 'fallback' })).toBe('fallback');
      expect(await c.has('k')).toBe(false);
      expect(await c.ttl('k')).toBeUndefined();
    });

    it('add returns true (also with timeout 0) and stores nothing', async () => {
      const c = await ctx.make();
      expect(await c.add('k', 'v')).toBe(true);
      expect(await c.add('k', 'v')).toBe(true);
      expect(await c.add('k', 'v', 0)).toBe(true);
      expect(await c.has('k')).toBe(false);
    });

    it('touch and delete return false', async () => {
      const c = await ctx.make();
      await c.set('k', 'v');
      expect(await c.touch('k', 10)).toBe(false);
      expect(await c.touch('k', 0)).toBe(false);
      expect(await c.delete('k')).toBe(false);
    });

    it('incr, decr, incrVersion and decrVersion reject with KeyNotFoundError', async () => {
      const c = await ctx.make();
      await c.set('n', 1);
      await expectRejects(() => c.incr('n'), KeyNotFoundError);
      await expectRejects(() => c.decr('n'), KeyNotFoundError);
      await expectRejects(() => c.incrVersion('n'), KeyNotFoundError);
      await expectRejects(() => c.decrVersion('n'), KeyNotFoundError);
    });

    it('getOrSet returns the loader’s value every time', async () => {
      const c = await ctx.make();
      let calls = 0;
      const loader = async () => ++calls;
      expect(await c.getOrSet('k', loader)).toBe(1);
      expect(await c.getOrSet('k', loader)).toBe(2);
      expect(await c.getOrSet('plain', 'value')).toBe('value');
      expect(await c.getOrSet('k0', () => 'v', 0)).toBe('v');
      expect(await c.getOrSet('undef', () => undefined)).toBeUndefined();
    });

    it('getOrSet propagates a loader error as the same object', async () => {
      const c = await ctx.make();
      const failure = new Error('loader failed');
      await expect(
        c.getOrSet('k', async () => {
          throw failure;
        }),
      ).rejects.toBe(failure);
    });

    it('getMany returns an empty Map, setMany [], deleteMany 0', async () => {
      const c = await ctx.make();
      expect(await c.setMany({ a: 1, b: 2 })).toEqual([]);
      expect(await c.setMany(new Map([['a', 1]]), 0)).toEqual([]);
      const found = await c.getMany(['a', 'b']);
      expect(found).toBeInstanceOf(Map);
      expect(found.size).toBe(0);
      expect(await c.deleteMany(['a', 'b'])).toBe(0);
    });

    it('keys yields nothing, deletePattern returns 0, clear resolves', async () => {
      const c = await ctx.make();
      await c.set('a', 1);
      expect(await collect(c.keys())).toEqual([]);
      expect(await collect(c.namespace('ns').keys('*'))).toEqual([]);
      expect(await c.deletePattern('*')).toBe(0);
      await c.clear();
      await c.namespace('ns').clear();
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Sync twins

function defineSyncTests(ctx: SuiteContext): void {
  if (!(ctx.options.supportsSync ?? false)) {
    defineUnsupportedSyncTests(ctx);
  } else if (ctx.options.dummy) {
    defineDummySyncTests(ctx);
  } else {
    defineStoringSyncTests(ctx);
  }
}

const SYNC_CALLS: Array<[string, (c: Cache) => unknown]> = [
  ['getSync', (c) => c.getSync('k')],
  ['setSync', (c) => c.setSync('k', 1)],
  ['addSync', (c) => c.addSync('k', 1)],
  ['deleteSync', (c) => c.deleteSync('k')],
  ['hasSync', (c) => c.hasSync('k')],
  ['touchSync', (c) => c.touchSync('k', 10)],
  ['incrSync', (c) => c.incrSync('k')],
  ['decrSync', (c) => c.decrSync('k')],
  ['getManySync', (c) => c.getManySync(['k'])],
  ['setManySync', (c) => c.setManySync({ k: 1 })],
  ['deleteManySync', (c) => c.deleteManySync(['k'])],
  ['clearSync', (c) => c.clearSync()],
  ['ttlSync', (c) => c.ttlSync('k')],
  ['getOrSetSync', (c) => c.getOrSetSync('k', () => 1)],
];

function defineUnsupportedSyncTests(ctx: SuiteContext): void {
  describe('sync twins (unsupported)', () => {
    for (const [method, call] of SYNC_CALLS) {
      it(`${method} throws UnsupportedOperationError`, async () => {
        const c = await ctx.make();
        expectThrows(() => call(c), UnsupportedOperationError);
        await c.get('k');
        expectThrows(() => call(c), UnsupportedOperationError);
      });
    }
  });
}

function defineDummySyncTests(ctx: SuiteContext): void {
  describe('sync twins (dummy)', () => {
    it('follow the dummy semantics', async () => {
      const c = await ctx.make();
      c.setSync('k', 'v');
      expect(c.getSync('k')).toBeUndefined();
      expect(c.getSync('k', { default: 'd' })).toBe('d');
      expect(c.addSync('k', 'v')).toBe(true);
      expect(c.hasSync('k')).toBe(false);
      expect(c.touchSync('k', 10)).toBe(false);
      expect(c.deleteSync('k')).toBe(false);
      expectThrows(() => c.incrSync('k'), KeyNotFoundError);
      expectThrows(() => c.decrSync('k'), KeyNotFoundError);
      expect(c.getManySync(['k']).size).toBe(0);
      expect(c.setManySync({ k: 1 })).toEqual([]);
      expect(c.deleteManySync(['k'])).toBe(0);
      expect(c.ttlSync('k')).toBeUndefined();
      expect(c.getOrSetSync('k', () => 'loaded')).toBe('loaded');
      c.clearSync();
    });

    it('validate keys, values and timeouts', async () => {
      const c = await ctx.make();
      expectThrows(() => c.getSync(''), InvalidKeyError);
      expectThrows(() => c.setSync('k', undefined), InvalidValueError);
      expectThrows(() => c.setSync('k', 1, 'abc'), InvalidValueError);
      expectThrows(() => c.setManySync({ '': 1 }), InvalidKeyError);
    });
  });
}

function defineStoringSyncTests(ctx: SuiteContext): void {
  describe('sync twins', () => {
    it('work on a fresh cache before any async call, and share entries with the async API', async () => {
      const c = await ctx.make();
      c.setSync('k', { a: 1 });
      expect(c.getSync('k')).toEqual({ a: 1 });
      expect(await c.get('k')).toEqual({ a: 1 });
      await c.set('async', 'v');
      expect(c.getSync('async')).toBe('v');
    });

    it('getSync and setSync: defaults, stored null, timeouts and versions', async () => {
      const c = await ctx.make();
      expect(c.getSync('missing')).toBeUndefined();
      expect(c.getSync('missing', { default: 'd' })).toBe('d');
      c.setSync('null', null);
      expect(c.getSync('null', { default: 'd' })).toBeNull();
      c.setSync('timed', 1, 60);
      expectTtl(c.ttlSync('timed'), 60, ctx.slack);
      c.setSync('forever', 1, { timeout: null });
      expect(c.ttlSync('forever')).toBeNull();
      c.setSync('default', 1);
      expectTtl(c.ttlSync('default'), 300, ctx.slack);
      c.setSync('v', 'two', { version: 2 });
      expect(c.getSync('v')).toBeUndefined();
      expect(c.getSync('v', { version: 2 })).toBe('two');
      expect(c.ttlSync('missing')).toBeUndefined();
      c.setSync('timed', 'gone', 0);
      expect(c.hasSync('timed')).toBe(false);
    });

    it('addSync, hasSync, deleteSync and touchSync', async () => {
      const c = await ctx.make();
      expect(c.addSync('k', 'first')).toBe(true);
      expect(c.addSync('k', 'second')).toBe(false);
      expect(c.getSync('k')).toBe('first');
      expect(c.addSync('zero', 'v', 0)).toBe(true);
      expect(c.hasSync('zero')).toBe(false);
      expect(c.addSync('k', 'v', 0)).toBe(false);
      expect(c.getSync('k')).toBe('first');
      c.setSync('null', null);
      expect(c.hasSync('null')).toBe(true);
      expect(c.touchSync('k', 100)).toBe(true);
      expectTtl(c.ttlSync('k'), 100, ctx.slack);
      expect(c.touchSync('missing', 100)).toBe(false);
      expect(c.deleteSync('k')).toBe(true);
      expect(c.deleteSync('k')).toBe(false);
      c.setSync('touched', 'v');
      expect(c.touchSync('touched', 0)).toBe(true);
      expect(c.hasSync('touched')).toBe(false);
    });

    it('incrSync and decrSync', async () => {
      const c = await ctx.make();
      c.setSync('n', 10, 100);
      expect(c.incrSync('n')).toBe(11);
      expect(c.incrSync('n', 4)).toBe(15);
      expect(c.decrSync('n')).toBe(14);
      expect(c.decrSync('n', 20)).toBe(-6);
      expectTtl(c.ttlSync('n'), 100, ctx.slack);
      expectThrows(() => c.incrSync('missing'), KeyNotFoundError);
      expectThrows(() => c.decrSync('missing'), KeyNotFoundError);
      c.setSync('s', 'abc');
      expectThrows(() => c.incrSync('s'), InvalidValueError);
      c.setSync('v2', 1, { version: 2 });
      expect(c.incrSync('v2', 1, { version: 2 })).toBe(2);
    });

    it('getManySync, setManySync and deleteManySync', async () => {
      const c = await ctx.make();
      expect(
        c.setManySync(
          new Map<string, unknown>([
            ['a', 1],
            ['b', null],
          ]),
        ),
      ).toEqual([]);
      expect(c.setManySync({ c: 'three' }, 60)).toEqual([]);
      expect(c.setManySync([['d', 4]], { version: 2 })).toEqual([]);
      expect([...c.getManySync(['c', 'missing', 'a', 'b'])]).toEqual([
        ['c', 'three'],
        ['a', 1],
        ['b', null],
      ]);
      expect([...c.getManySync(['d'], { version: 2 })]).toEqual([['d', 4]]);
      expectTtl(c.ttlSync('c'), 60, ctx.slack);
      expect(c.setManySync({ a: 'x' }, 0)).toEqual([]);
      expect(c.hasSync('a')).toBe(false);
      expect(c.deleteManySync(['b', 'c', 'missing'])).toBe(2);
      expectThrows(() => c.setManySync({ e: 1, '': 2 }), InvalidKeyError);
      expect(c.hasSync('e')).toBe(false);
      expectThrows(() => c.deleteManySync(['d', '']), InvalidKeyError);
      expectThrows(() => c.getManySync(['d', '']), InvalidKeyError);
    });

    it('clearSync removes only this prefix', async () => {
      const c = await ctx.make();
      const other = await ctx.make({ keyPrefix: `${ctx.prefix()}-other` });
      c.setSync('a', 1);
      other.setSync('a', 1);
      c.clearSync();
      expect(c.hasSync('a')).toBe(false);
      expect(other.hasSync('a')).toBe(true);
    });

    it('getOrSetSync: hits, stored null, loader, plain value, errors, undefined, timeout 0', async () => {
      const c = await ctx.make();
      let calls = 0;
      const loader = () => {
        calls++;
        return { loaded: calls };
      };
      expect(c.getOrSetSync('k', loader)).toEqual({ loaded: 1 });
      expect(c.getOrSetSync('k', loader)).toEqual({ loaded: 1 });
      expect(calls).toBe(1);
      c.setSync('null', null);
      expect(c.getOrSetSync('null', loader)).toBeNull();
      expect(calls).toBe(1);
      expect(c.getOrSetSync('plain', 'value')).toBe('value');
      expect(c.getSync('plain')).toBe('value');
      const failure = new Error('sync loader failed');
      let thrown: unknown;
      try {
        c.getOrSetSync('failing', () => {
          throw failure;
        });
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBe(failure);
      expect(c.hasSync('failing')).toBe(false);
      expect(c.getOrSetSync('undef', () => undefined)).toBeUndefined();
      expect(c.hasSync('undef')).toBe(false);
      expect(c.getOrSetSync('zero', () => 'v', 0)).toBe('v');
      expect(c.hasSync('zero')).toBe(false);
      expect(c.getOrSetSync('timed', () => 'v', { timeout: 60, version: 2 })).toBe('v');
      expectTtl(c.ttlSync('timed', { version: 2 }), 60, ctx.slack);
    });

    it('validate keys, values, timeouts and serializability by throwing', async () => {
      const c = await ctx.make();
      for (const bad of BAD_KEYS) {
        expectThrows(() => c.getSync(asKey(bad)), InvalidKeyError);
        expectThrows(() => c.setSync(asKey(bad), 1), InvalidKeyError);
      }
      expectThrows(() => c.setSync('k', undefined), InvalidValueError);
      expectThrows(() => c.setSync('k', 1, 'abc'), InvalidValueError);
      expectThrows(() => c.touchSync('k', '5 m'), InvalidValueError);
      if (!(ctx.options.storesReferences ?? false)) {
        expectThrows(() => c.setSync('k', { big: 1n }), SerializationError);
      }
      expect(c.hasSync('k')).toBe(false);
    });

    it('expired entries are absent', async () => {
      const c = await ctx.make();
      c.setSync('k', 'v', SHORT);
      c.setSync('n', 1, SHORT);
      await sleep(ctx.expiryWaitMs);
      expect(c.getSync('k')).toBeUndefined();
      expect(c.hasSync('k')).toBe(false);
      expect(c.ttlSync('k')).toBeUndefined();
      expectThrows(() => c.incrSync('n'), KeyNotFoundError);
      expect(c.addSync('k', 'new')).toBe(true);
    });
  });
}
