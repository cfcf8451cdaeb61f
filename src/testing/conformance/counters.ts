/**
 * Conformance: incr and decr.
 */
import { describe, expect, it } from 'vitest';
import { InvalidValueError, KeyNotFoundError } from '../../core/errors.js';
import { type SuiteContext, expectRejects, expectTtl, label } from './support.js';

// ---------------------------------------------------------------------------------------------
// incr / decr

export function defineCounterTests(ctx: SuiteContext): void {
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
