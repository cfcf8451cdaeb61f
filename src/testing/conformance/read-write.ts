/**
 * Conformance: get, set, has, delete, add and touch.
 */
import { describe, expect, it } from 'vitest';
import { type SuiteContext, expectTtl, collect } from './support.js';

// ---------------------------------------------------------------------------------------------
// get / set / has / delete / add / touch

export function defineReadWriteTests(ctx: SuiteContext): void {
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
