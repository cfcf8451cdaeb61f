/**
 * Conformance: Django's DummyCache semantics, for the dummy backend.
 */
import { describe, expect, it } from 'vitest';
import { KeyNotFoundError } from '../../core/errors.js';
import { type SuiteContext, expectRejects, collect } from './support.js';

// ---------------------------------------------------------------------------------------------
// Dummy semantics (Django's DummyCache)

export function defineDummyTests(ctx: SuiteContext): void {
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
