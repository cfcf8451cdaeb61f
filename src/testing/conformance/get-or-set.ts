/**
 * Conformance: getOrSet.
 */
import { describe, expect, it } from 'vitest';
import { type SuiteContext, sleep, expectTtl } from './support.js';

// ---------------------------------------------------------------------------------------------
// getOrSet

export function defineGetOrSetTests(ctx: SuiteContext): void {
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
