/**
 * Conformance: Values and serializers (SPEC "Values and serializers").
 */
import { describe, expect, it } from 'vitest';
import { InvalidValueError, SerializationError } from '../../core/errors.js';
import { silentLogger } from '../../core/logger.js';
import { type SuiteContext, SERIALIZERS, expectRejects } from './support.js';

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

export function defineValueTests(ctx: SuiteContext): void {
  const references = ctx.options.storesReferences ?? false;

  for (const serializer of SERIALIZERS) {
    // Skipped for reference stores except under json: they ignore the serializer, and their
    // round trips are the plain JSON-value tests.
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

        // Skipped for reference stores: they hand back the very Uint8Array they were given.
        it.skipIf(references)(
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

  // Skipped for reference stores: they never decode bytes.
  it.skipIf(references)(
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
