/**
 * Conformance: getMany, setMany, deleteMany and clear.
 */
import { describe, expect, it } from 'vitest';
import { InvalidKeyError, SerializationError } from '../../core/errors.js';
import { type SuiteContext, expectRejects, expectTtl, collect, seed, present } from './support.js';

// ---------------------------------------------------------------------------------------------
// getMany / setMany / deleteMany

export function defineBatchTests(ctx: SuiteContext): void {
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

    // Skipped for reference stores: they never serialize, so nothing is unserializable there.
    it.skipIf(references)(
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

export function defineClearTests(ctx: SuiteContext): void {
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
