/**
 * Conformance: Timeouts and ttl (SPEC "Durations and timeouts").
 */
import { describe, expect, it } from 'vitest';
import { KeyNotFoundError } from '../../core/errors.js';
import {
  type SuiteContext,
  SHORT,
  HUNDRED_YEARS,
  sleep,
  expectRejects,
  expectTtl,
  collect,
  seed,
} from './support.js';

// ---------------------------------------------------------------------------------------------
// Timeouts and ttl()

export function defineTimeoutTests(ctx: SuiteContext): void {
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
