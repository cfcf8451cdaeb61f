/**
 * Conformance: Key making, validation, properties and lifecycle: rows every backend shares, the dummy one included.
 */
import { describe, expect, it } from 'vitest';
import type { CacheConfig } from '../../config/types.js';
import type { Cache } from '../../core/cache.js';
import { InvalidKeyError, InvalidValueError } from '../../core/errors.js';
import {
  type SuiteContext,
  BAD_KEYS,
  BAD_DURATIONS,
  sha256hex,
  expectRejects,
  asKey,
  label,
} from './support.js';

// ---------------------------------------------------------------------------------------------
// Key making (both modes)

export function defineKeyTests(ctx: SuiteContext): void {
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

export function defineValidationTests(ctx: SuiteContext): void {
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

export function definePropertyTests(ctx: SuiteContext): void {
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

export function defineLifecycleTests(ctx: SuiteContext): void {
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

    // Skipped for the dummy backend: it stores nothing, so there is no entry for the other cache
    // to keep.
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
