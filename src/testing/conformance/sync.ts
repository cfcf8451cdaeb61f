/**
 * Conformance: The …Sync twins: working, unsupported, or dummy.
 */
import { describe, expect, it } from 'vitest';
import type { Cache } from '../../core/cache.js';
import {
  InvalidKeyError,
  InvalidValueError,
  KeyNotFoundError,
  SerializationError,
  UnsupportedOperationError,
} from '../../core/errors.js';
import {
  type SuiteContext,
  SHORT,
  BAD_KEYS,
  sleep,
  expectThrows,
  expectTtl,
  asKey,
} from './support.js';

// ---------------------------------------------------------------------------------------------
// Sync twins

export function defineSyncTests(ctx: SuiteContext): void {
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
