/**
 * The disk store on its own (no Cache in front): payload types, files, expiry, counters, globs,
 * eviction per policy, and several stores on one directory. Real SQLite in temp directories.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, statSync, truncateSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { diskBackend } from '../src/backends/disk.js';
import { createCache } from '../src/core/registry.js';
import { escapeSqliteGlob, prefixUpperBound, toSqlKeyFilter } from '../src/backends/disk/glob.js';
import { resolveDiskOptions, validateDiskOptions } from '../src/backends/disk/options.js';
import type { DiskStore } from '../src/backends/disk/store.js';
import { SWEEP_EVERY_WRITES } from '../src/backends/disk/upkeep.js';
import { makeKeyMatcher } from '../src/core/glob.js';
import { DiskFixtures, diskContext, makeClock, valueFiles } from './fixtures/disk-helpers.js';

const fixtures = new DiskFixtures();
afterEach(() => fixtures.cleanUp());

const SMALL_FILES = { largeValueThreshold: 1024 };

function allKeys(store: DiskStore, prefix = '', pattern = '*'): string[] {
  return [...store.keys({ prefix, pattern })].sort();
}

describe('disk store: payloads', () => {
  it('gives strings back as strings and Buffers byte for byte, inline and in files', () => {
    const store = fixtures.open(fixtures.directory(), SMALL_FILES);
    const binary = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const payloads: Array<[string, string | Buffer]> = [
      ['text', '{"a":1}'],
      ['unicode', 'héllo wörld 😀 — ✓'],
      ['nul', 'a\u0000b'],
      ['empty-text', ''],
      ['bytes', binary],
      ['empty-bytes', Buffer.alloc(0)],
      ['big-text', 'ü'.repeat(3000)],
      ['big-bytes', Buffer.concat(Array.from({ length: 20 }, () => binary))],
    ];
    for (const [key, value] of payloads) store.set(key, value, null);
    for (const [key, value] of payloads) {
      const got = store.get(key);
      if (typeof value === 'string') expect(got).toBe(value);
      else {
        expect(Buffer.isBuffer(got)).toBe(true);
        expect((got as Buffer).equals(value)).toBe(true);
      }
    }
    expect(store.getMany(['text', 'missing', 'big-bytes'])).toEqual([
      '{"a":1}',
      undefined,
      payloads[7]![1],
    ]);
    // Exactly the two large payloads live in files.
    expect(valueFiles(store.directory)).toHaveLength(2);
  });

  it('keeps values at the threshold in files and below it inline', () => {
    const store = fixtures.open(fixtures.directory(), SMALL_FILES);
    store.set('below', 'x'.repeat(1023), null);
    expect(valueFiles(store.directory)).toHaveLength(0);
    store.set('at', 'x'.repeat(1024), null);
    expect(valueFiles(store.directory)).toHaveLength(1);
    expect(store.get('at')).toBe('x'.repeat(1024));
  });

  it('defaults to a 32 KiB threshold', () => {
    const store = fixtures.open(fixtures.directory());
    store.set('below', Buffer.alloc(32 * 1024 - 1), null);
    expect(valueFiles(store.directory)).toHaveLength(0);
    store.set('at', Buffer.alloc(32 * 1024), null);
    expect(valueFiles(store.directory)).toHaveLength(1);
  });

  it('treats a value file that went missing or was cut short as a miss, and drops the row', () => {
    const store = fixtures.open(fixtures.directory(), SMALL_FILES);
    store.set('gone', 'g'.repeat(2000), null);
    store.set('short', 's'.repeat(2000), null);
    const [first, second] = valueFiles(store.directory).map((name) =>
      join(store.directory, 'values', name),
    );
    const bySize = () => store.totals().entries;
    expect(bySize()).toBe(2);
    unlinkSync(first!);
    truncateSync(second!, 100);
    expect(store.get('gone')).toBeUndefined();
    expect(store.get('short')).toBeUndefined();
    expect(bySize()).toBe(0);
  });
});

describe('disk store: expiry', () => {
  it('treats an entry whose expiry has come as absent everywhere', () => {
    const clock = makeClock();
    const store = fixtures.open(fixtures.directory(), {}, clock.read);
    store.set('k', 'v', clock.now + 1000);
    store.set('forever', 'v', null);
    expect(store.expiry('k')).toBe(clock.now + 1000);
    expect(store.expiry('forever')).toBeNull();
    expect(store.expiry('missing')).toBeUndefined();
    clock.advance(1000);
    expect(store.get('k')).toBeUndefined();
    expect(store.has('k')).toBe(false);
    expect(store.expiry('k')).toBeUndefined();
    expect(store.touch('k', clock.now + 5000)).toBe(false);
    expect(store.delete('k')).toBe(false);
    expect(allKeys(store)).toEqual(['forever']);
    expect(store.add('k', 'new', null)).toBe(true);
    expect(store.get('k')).toBe('new');
  });

  it('touch sets a new expiry on a live entry', () => {
    const clock = makeClock();
    const store = fixtures.open(fixtures.directory(), {}, clock.read);
    store.set('k', 'v', clock.now + 1000);
    expect(store.touch('k', null)).toBe(true);
    clock.advance(10_000);
    expect(store.get('k')).toBe('v');
    expect(store.touch('k', clock.now + 10)).toBe(true);
    expect(store.expiry('k')).toBe(clock.now + 10);
  });

  it('removes expired entries, and their files, a bounded window at a time on writes', () => {
    const clock = makeClock();
    const store = fixtures.open(fixtures.directory(), SMALL_FILES, clock.read);
    for (let i = 0; i < 200; i++)
      store.set(`old${i}`, i % 10 === 0 ? 'f'.repeat(2000) : 'v', clock.now + 10);
    expect(valueFiles(store.directory)).toHaveLength(20);
    clock.advance(11);
    // A sweep runs every SWEEP_EVERY_WRITES writes over 256 rows from a random start: two
    // cover 200 rows.
    for (let i = 0; i < 2 * SWEEP_EVERY_WRITES; i++) store.set(`new${i}`, 'v', null);
    expect(store.totals().entries).toBe(2 * SWEEP_EVERY_WRITES);
    expect(valueFiles(store.directory)).toHaveLength(0);
  });
});

describe('disk store: add and incr', () => {
  it('add stores only when absent and leaves no file behind when it does not', () => {
    const store = fixtures.open(fixtures.directory(), SMALL_FILES);
    expect(store.add('k', 'first', null)).toBe(true);
    expect(store.add('k', 'x'.repeat(5000), null)).toBe(false);
    expect(store.get('k')).toBe('first');
    expect(valueFiles(store.directory)).toHaveLength(0);
  });

  it('incr adds to decimal integer text, keeps the expiry and the text type', () => {
    const clock = makeClock();
    const store = fixtures.open(fixtures.directory(), {}, clock.read);
    store.set('n', '41', clock.now + 5000);
    expect(store.incr('n', 1)).toBe(42);
    expect(store.get('n')).toBe('42');
    expect(store.incr('n', -50)).toBe(-8);
    expect(store.get('n')).toBe('-8');
    expect(store.expiry('n')).toBe(clock.now + 5000);
    store.set('padded', '007', null);
    expect(store.incr('padded', 1)).toBe(8);
    store.set('edge', String(Number.MAX_SAFE_INTEGER - 1), null);
    expect(store.incr('edge', 1)).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('incr: KeyNotFoundError when absent or expired, InvalidValueError when not an integer', () => {
    const clock = makeClock();
    const store = fixtures.open(fixtures.directory(), {}, clock.read);
    const code = (call: () => unknown) => {
      try {
        call();
      } catch (error) {
        return (error as { code?: string }).code;
      }
      return 'no error';
    };
    expect(code(() => store.incr('missing', 1))).toBe('ERR_CACHE_KEY_NOT_FOUND');
    store.set('expired', '1', clock.now + 1);
    clock.advance(1);
    expect(code(() => store.incr('expired', 1))).toBe('ERR_CACHE_KEY_NOT_FOUND');
    for (const bad of ['1.5', '"1"', '', '-', '1e3', ' 1', 'abc', '--1']) {
      store.set('bad', bad, null);
      expect(
        code(() => store.incr('bad', 1)),
        bad,
      ).toBe('ERR_CACHE_INVALID_VALUE');
      expect(store.get('bad')).toBe(bad);
    }
    store.set('blob', Buffer.from('5'), null);
    expect(code(() => store.incr('blob', 1))).toBe('ERR_CACHE_INVALID_VALUE');
    store.set('max', String(Number.MAX_SAFE_INTEGER), null);
    expect(code(() => store.incr('max', 1))).toBe('ERR_CACHE_INVALID_VALUE');
    expect(store.get('max')).toBe(String(Number.MAX_SAFE_INTEGER));
    store.set('huge', '99999999999999999999', null);
    expect(code(() => store.incr('huge', 1))).toBe('ERR_CACHE_INVALID_VALUE');
  });
});

describe('disk store: move (incrVersion)', () => {
  it('renames the live entry with its payload, file and expiry, replacing the target', () => {
    const clock = makeClock();
    const directory = fixtures.directory();
    const store = fixtures.open(directory, SMALL_FILES, clock.read);
    const large = 'L'.repeat(2000);
    store.set('from', large, clock.now + 60_000);
    store.set('to', 'T'.repeat(3000), null);
    expect(valueFiles(directory)).toHaveLength(2);
    expect(store.move('from', 'to')).toBe(true);
    expect(store.get('from')).toBeUndefined();
    expect(store.get('to')).toBe(large);
    expect(store.expiry('to')).toBe(clock.now + 60_000);
    // The replaced value's file is gone; the moved one is still the only file.
    expect(valueFiles(directory)).toHaveLength(1);
    store.set('small', 'v', null);
    expect(store.move('small', 'a-longer-key')).toBe(true);
    expect(store.get('a-longer-key')).toBe('v');
    // The totals follow the rename (the key's bytes count).
    const db = store.client;
    const actual = db.prepare('SELECT count(*) AS count, total(size) AS size FROM entries').get();
    const { entries, bytes } = store.totals();
    expect({ count: entries, size: bytes }).toEqual(actual);
  });

  it('false for an absent or expired entry, and the target is left as it was', () => {
    const clock = makeClock();
    const store = fixtures.open(fixtures.directory(), {}, clock.read);
    store.set('target', 'kept', null);
    expect(store.move('missing', 'target')).toBe(false);
    store.set('soon', 'v', clock.now + 5);
    clock.advance(5);
    expect(store.move('soon', 'target')).toBe(false);
    expect(store.get('target')).toBe('kept');
    expect(store.move('target', 'target')).toBe(true);
    expect(store.get('target')).toBe('kept');
  });

  it("is what the Cache's incrVersion uses: the value and remaining TTL move, once", async () => {
    const directory = fixtures.directory();
    const cache = createCache({ backend: 'disk', location: directory });
    try {
      await cache.set('k', { v: 1 }, { timeout: 60 });
      expect(await cache.incrVersion('k')).toBe(2);
      expect(await cache.get('k')).toBeUndefined();
      expect(await cache.get('k', { version: 2 })).toEqual({ v: 1 });
      expect(await cache.ttl('k', { version: 2 })).toBeGreaterThan(55);
      await expect(cache.incrVersion('k')).rejects.toMatchObject({
        code: 'ERR_CACHE_KEY_NOT_FOUND',
      });
    } finally {
      await cache.close();
    }
  });
});

describe('disk store: compare-and-delete, compare-and-touch (locks)', () => {
  it('act only on a live entry holding exactly the value, of the same type', () => {
    const clock = makeClock();
    const store = fixtures.open(fixtures.directory(), {}, clock.read);
    store.set('lock', 'token-a', clock.now + 1000);
    expect(store.touchIfValue('lock', 'token-b', clock.now + 5000)).toBe(false);
    expect(store.touchIfValue('lock', Buffer.from('token-a'), clock.now + 5000)).toBe(false);
    expect(store.touchIfValue('lock', 'token-a', clock.now + 5000)).toBe(true);
    expect(store.expiry('lock')).toBe(clock.now + 5000);
    expect(store.deleteIfValue('lock', 'token-b')).toBe(false);
    expect(store.deleteIfValue('lock', 'token-a')).toBe(true);
    expect(store.has('lock')).toBe(false);
    store.set('lock', 'token-c', clock.now + 10);
    clock.advance(10);
    expect(store.touchIfValue('lock', 'token-c', null)).toBe(false);
    expect(store.deleteIfValue('lock', 'token-c')).toBe(false);
    store.set('bytes', Buffer.from([1, 2, 3]), null);
    expect(store.deleteIfValue('bytes', Buffer.from([1, 2, 3]))).toBe(true);
  });
});

describe('disk store: deletes', () => {
  it('delete, deleteMany and deleteMatching count only live entries but remove expired ones too', () => {
    const clock = makeClock();
    const store = fixtures.open(fixtures.directory(), SMALL_FILES, clock.read);
    store.set('a:1', 'v', null);
    store.set('a:2', 'f'.repeat(2000), null);
    store.set('a:3', 'v', clock.now + 1);
    store.set('b:1', 'v', null);
    clock.advance(1);
    expect(store.deleteMany(['a:1', 'a:3', 'missing'])).toBe(1);
    store.set('a:3', 'v', clock.now + 1);
    clock.advance(1);
    expect(store.deleteMatching({ prefix: 'a:', pattern: '*' })).toBe(1);
    expect(store.totals().entries).toBe(1);
    expect(valueFiles(store.directory)).toHaveLength(0);
    expect(store.delete('b:1')).toBe(true);
    expect(store.delete('b:1')).toBe(false);
  });

  it('deleteMatching and keys work in pages over many keys', () => {
    const store = fixtures.open(fixtures.directory());
    const keys = Array.from({ length: 2500 }, (_, i) => `p:${String(i).padStart(5, '0')}`);
    store.setMany(
      keys.map((key) => [key, 'v'] as const),
      null,
    );
    store.set('q:1', 'v', null);
    expect(allKeys(store, 'p:')).toEqual(keys);
    expect(allKeys(store, 'p:', '*5')).toEqual(keys.filter((key) => key.endsWith('5')));
    expect(store.deleteMatching({ prefix: 'p:', pattern: '*5' })).toBe(250);
    expect(store.deleteMatching({ prefix: 'p:', pattern: '*' })).toBe(2250);
    expect(allKeys(store)).toEqual(['q:1']);
  });

  it('lets the caller delete while iterating keys', () => {
    const store = fixtures.open(fixtures.directory());
    for (let i = 0; i < 1500; i++) store.set(`k${i}`, 'v', null);
    let seen = 0;
    for (const key of store.keys({ prefix: 'k', pattern: '*' })) {
      store.delete(key);
      seen++;
    }
    expect(seen).toBe(1500);
    expect(store.totals().entries).toBe(0);
  });

  it('clear removes every entry and every value file, and the cache works afterwards', () => {
    const store = fixtures.open(fixtures.directory(), SMALL_FILES);
    for (let i = 0; i < 20; i++) store.set(`k${i}`, i % 2 ? 'v' : 'f'.repeat(2000), null);
    expect(valueFiles(store.directory)).toHaveLength(10);
    store.clear();
    expect(store.totals()).toEqual({ entries: 0, bytes: 0 });
    expect(valueFiles(store.directory)).toHaveLength(0);
    store.set('after', 'f'.repeat(2000), null);
    expect(store.get('after')).toBe('f'.repeat(2000));
  });
});

describe('disk store: glob patterns in SQL', () => {
  const KEYS = [
    'a',
    'b',
    'ab',
    'abc',
    'a*c',
    'a?c',
    'a[c',
    'a]c',
    'a-c',
    'a^c',
    'a!c',
    'a\\c',
    'aXc',
    'x:1:user:1',
    'x:1:user:12',
    'x:1:uSer:2',
    'x:1:user:a[1]',
    'ä',
    'äb',
    '😀',
    '😀x',
    '\uffff',
    'a*',
    'a[',
  ];
  let store: DiskStore;
  const seed = () => {
    store = fixtures.open(fixtures.directory());
    for (const key of KEYS) store.set(key, 'v', null);
  };
  const expectSameAsMatcher = (prefix: string, pattern: string) => {
    const expected = KEYS.filter(makeKeyMatcher(prefix, pattern)).sort();
    expect(allKeys(store, prefix, pattern), `prefix ${prefix} pattern ${pattern}`).toEqual(
      expected,
    );
  };

  it('matches exactly what the core matcher matches, literal prefixes included', () => {
    seed();
    const prefixes = ['', 'a', 'a*', 'a[', 'x:1:', '😀', 'ä', 'a\\'];
    const patterns = [
      '*',
      '',
      'a*',
      '*c',
      'a?c',
      'a[*]c',
      'a\\*c',
      'a[]]c',
      'a[!]]c',
      'a[-]c',
      'a[\\^]c',
      'a[^b]c',
      'a[a-c]*',
      'a[!a-c]c',
      '[]-a]*',
      'a[--/]c',
      'a[\\]-a]c',
      'a[Z-\\]]c',
      '[😀]*',
      '?',
      '??',
      'a[',
      '[ab',
      '*:user:?',
      '[[]',
      'user:[0-9]*',
      '*[!0-9]',
      '\\',
      'c',
      'b',
    ];
    for (const prefix of prefixes)
      for (const pattern of patterns) expectSameAsMatcher(prefix, pattern);
  });

  it('agrees with the core matcher on random patterns', () => {
    seed();
    const alphabet = ['a', 'b', 'c', '*', '?', '[', ']', '-', '^', '!', '\\', 'X'];
    let seedValue = 12345;
    const random = (n: number) => {
      seedValue = (seedValue * 1103515245 + 12345) % 2 ** 31;
      return seedValue % n;
    };
    for (let i = 0; i < 400; i++) {
      const length = 1 + random(6);
      const pattern = Array.from({ length }, () => alphabet[random(alphabet.length)]).join('');
      let matcher: (key: string) => boolean;
      try {
        matcher = makeKeyMatcher('', pattern);
      } catch {
        continue; // an inverted range, which the RegExp rejects
      }
      const expected = KEYS.filter(matcher).sort();
      expect(allKeys(store, '', pattern), pattern).toEqual(expected);
    }
  });

  it('matches nothing for an empty or inverted class, without an error', () => {
    seed();
    expect(allKeys(store, '', 'a[c-a]c')).toEqual([]);
    expect(store.deleteMatching({ prefix: '', pattern: 'a[c-a]c' })).toBe(0);
  });

  it('escapes and bounds literal prefixes', () => {
    expect(escapeSqliteGlob('a*b?c[d]e')).toBe('a[*]b[?]c[[]d]e');
    expect(prefixUpperBound('abc')).toBe('abd');
    expect(prefixUpperBound('')).toBeUndefined();
    expect(prefixUpperBound('a\u{10ffff}')).toBe('b');
    expect(prefixUpperBound('\ud7ff')).toBe('\ue000');
    expect(toSqlKeyFilter({ prefix: 'p:', pattern: '*' })).toEqual({
      lower: 'p:',
      upper: 'p;',
      glob: undefined,
      matchesNothing: false,
    });
    expect(toSqlKeyFilter({ prefix: 'p*', pattern: 'x?' }).glob).toBe('p[*]x?');
  });
});

describe('disk store: eviction', () => {
  /** Stores k0…k(n-1), one millisecond apart. */
  function fill(store: DiskStore, clock: ReturnType<typeof makeClock>, n: number, value = 'v') {
    for (let i = 0; i < n; i++) {
      store.set(`k${i}`, value, null);
      clock.advance(1);
    }
  }
  const range = (from: number, to: number) =>
    Array.from({ length: to - from }, (_, i) => `k${from + i}`).sort();

  it('maxEntries culls 1/cullFrequency of the entries, least recently stored first', () => {
    const clock = makeClock();
    const store = fixtures.open(
      fixtures.directory(),
      { maxEntries: 10, cullFrequency: 2 },
      clock.read,
    );
    fill(store, clock, 10);
    // Reads do not count under least-recently-stored.
    for (let i = 0; i < 5; i++) store.get(`k${i}`);
    store.set('k10', 'v', null);
    // 11 > 10: floor(11 / 2) = 5 entries go, the oldest.
    expect(allKeys(store)).toEqual(range(5, 11));
  });

  it('cullFrequency 0 removes everything but the entry just written', () => {
    const clock = makeClock();
    const store = fixtures.open(
      fixtures.directory(),
      { maxEntries: 10, cullFrequency: 0 },
      clock.read,
    );
    fill(store, clock, 11);
    expect(allKeys(store)).toEqual(['k10']);
  });

  // Django's test_cull and test_zero_cull (tests/cache/tests.py), through the Cache API.
  it.each([
    [3, 29],
    [0, 19],
  ])(
    "Django's sequence: maxEntries 30, cullFrequency %i, 49 awaited sets leave exactly %i",
    async (cullFrequency, left) => {
      const cache = createCache({
        backend: 'disk',
        location: fixtures.directory(),
        options: { maxEntries: 30, cullFrequency },
      });
      try {
        for (let i = 1; i < 50; i++) await cache.set(`cull${i}`, 'value', { timeout: 1000 });
        let count = 0;
        for (let i = 1; i < 50; i++) if (await cache.has(`cull${i}`)) count++;
        expect(count).toBe(left);
      } finally {
        await cache.close();
      }
    },
  );

  it('removes expired entries first', () => {
    const clock = makeClock();
    const store = fixtures.open(fixtures.directory(), { maxEntries: 10 }, clock.read);
    for (let i = 0; i < 10; i++) store.set(`k${i}`, 'v', i < 4 ? clock.now + 5 : null);
    clock.advance(5);
    store.set('k10', 'v', null);
    expect(allKeys(store)).toEqual(range(4, 11));
  });

  it('least-recently-used keeps what was read', () => {
    const clock = makeClock();
    const store = fixtures.open(
      fixtures.directory(),
      { maxEntries: 10, cullFrequency: 2, evictionPolicy: 'least-recently-used' },
      clock.read,
    );
    fill(store, clock, 10);
    for (let i = 0; i < 5; i++) {
      store.get(`k${i}`);
      clock.advance(1);
    }
    store.set('k10', 'v', null);
    expect(allKeys(store)).toEqual([...range(0, 5), 'k10'].sort());
  });

  it('least-frequently-used keeps what was read most, and never the entry just written', () => {
    const clock = makeClock();
    const store = fixtures.open(
      fixtures.directory(),
      { maxEntries: 10, cullFrequency: 2, evictionPolicy: 'least-frequently-used' },
      clock.read,
    );
    fill(store, clock, 10);
    for (let i = 0; i < 10; i++) for (let reads = 0; reads < i; reads++) store.getMany([`k${i}`]);
    store.set('k10', 'v', null);
    // k10 has been read least (never) but was just written; k0…k4 were read least.
    expect(allKeys(store)).toEqual(range(5, 11));
  });

  it('sizeLimit evicts in chunks down to 90% of the limit, counting key and value bytes', () => {
    const clock = makeClock();
    const store = fixtures.open(fixtures.directory(), { sizeLimit: 10_000 }, clock.read);
    const value = 'v'.repeat(998); // + a 2-byte key = 1000 bytes per entry
    fill(store, clock, 10, value);
    expect(store.totals()).toEqual({ entries: 10, bytes: 10_000 });
    store.set('k10', value, null);
    // 11 001 > 10 000: down to at most 9 000, oldest first.
    expect(store.totals()).toEqual({ entries: 8, bytes: 8001 });
    expect(allKeys(store)).toEqual(range(3, 11));
  });

  it('sizeLimit counts value files, and evicted entries take their files along', () => {
    const clock = makeClock();
    const store = fixtures.open(
      fixtures.directory(),
      { sizeLimit: 20_000, largeValueThreshold: 1024 },
      clock.read,
    );
    fill(store, clock, 30, 'f'.repeat(1997));
    expect(store.totals().bytes).toBeLessThanOrEqual(20_000);
    const left = allKeys(store);
    expect(left).toContain('k29');
    expect(valueFiles(store.directory)).toHaveLength(left.length);
  });

  it('builds the eviction indexes when a limit is first reached, and drops them on clear', () => {
    const store = fixtures.open(fixtures.directory(), { maxEntries: 1500 });
    const indexes = () =>
      (
        store.client
          .prepare(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'entries_by_%'",
          )
          .pluck()
          .all() as string[]
      ).sort();
    for (let i = 0; i < 1500; i++) store.set(`k${i}`, 'v', null);
    expect(indexes()).toEqual(['entries_by_file']);
    store.set('k1500', 'v', null);
    expect(indexes()).toEqual(['entries_by_expiry', 'entries_by_file', 'entries_by_stored_at']);
    store.clear(); // 1001 entries (the cull took a third): more than one batch
    expect(store.totals()).toEqual({ entries: 0, bytes: 0 });
    expect(indexes()).toEqual(['entries_by_file']);
  });

  it('does not keep an entry larger than sizeLimit, and removes the value it replaced', () => {
    const store = fixtures.open(fixtures.directory(), { sizeLimit: 1000 });
    store.set('k', 'small', null);
    store.set('k', 'x'.repeat(2000), null);
    expect(store.get('k')).toBeUndefined();
    expect(store.add('k', 'x'.repeat(2000), null)).toBe(false);
    expect(
      store.setMany(
        [
          ['ok', 'v'],
          ['big', 'x'.repeat(2000)],
        ],
        null,
      ),
    ).toEqual(['big']);
    expect(allKeys(store)).toEqual(['ok']);
  });

  it("'none' never evicts", () => {
    const store = fixtures.open(fixtures.directory(), {
      evictionPolicy: 'none',
      maxEntries: 2, // rejected by validate(); here given directly, and ignored
    });
    for (let i = 0; i < 20; i++) store.set(`k${i}`, 'v', null);
    expect(store.totals().entries).toBe(20);
  });
});

describe('disk store: value files', () => {
  it('removes a file when its entry is deleted, replaced or cleared', () => {
    const store = fixtures.open(fixtures.directory(), SMALL_FILES);
    const large = (tag: string) => tag.repeat(2000);
    store.set('k', large('a'), null);
    expect(valueFiles(store.directory)).toHaveLength(1);
    store.set('k', large('b'), null);
    expect(valueFiles(store.directory)).toHaveLength(1);
    expect(store.get('k')).toBe(large('b'));
    store.set('k', 'small', null);
    expect(valueFiles(store.directory)).toHaveLength(0);
    store.set('k', large('c'), null);
    expect(store.delete('k')).toBe(true);
    expect(valueFiles(store.directory)).toHaveLength(0);
    store.setMany(
      [
        ['m', large('d')],
        ['m', large('e')],
      ],
      null,
    );
    expect(store.get('m')).toBe(large('e'));
    expect(valueFiles(store.directory)).toHaveLength(1);
    store.clear();
    expect(valueFiles(store.directory)).toHaveLength(0);
  });

  it('sweeps orphaned and temp files older than the grace period, and nothing else', () => {
    const directory = fixtures.directory();
    const store = fixtures.open(directory, SMALL_FILES);
    store.set('kept', 'k'.repeat(2000), null);
    const [kept] = valueFiles(directory);
    const folder = join(directory, 'values', 'ab');
    execFileSync('mkdir', ['-p', folder]);
    const name = (n: number) => `${String(n).repeat(30).slice(0, 30)}.bin`;
    const orphan = join(folder, name(1));
    const temp = join(folder, `${name(2)}.123.tmp`);
    const fresh = join(folder, name(3));
    const foreign = join(folder, 'notes.txt');
    for (const path of [orphan, temp, fresh, foreign]) writeFileSync(path, 'x');
    const old = new Date(Date.now() - 3600_000);
    for (const path of [orphan, temp, foreign, join(directory, 'values', kept!)]) {
      utimesSync(path, old, old);
    }
    expect(store.sweepOrphans()).toBe(2);
    expect([orphan, temp].map(existsSync)).toEqual([false, false]);
    expect([fresh, foreign].map(existsSync)).toEqual([true, true]);
    expect(store.get('kept')).toBe('k'.repeat(2000));
    expect(store.sweepOrphans(0)).toBe(1);
    expect(existsSync(fresh)).toBe(false);
  });
});

describe('disk store: set as one statement', () => {
  it('a database whose file trigger ran AFTER the update is brought up to date on open', () => {
    const directory = fixtures.directory();
    const first = fixtures.open(directory, SMALL_FILES);
    first.client.exec(`DROP TRIGGER entries_file_replaced;
      CREATE TRIGGER entries_file_replaced AFTER UPDATE OF file ON entries
        WHEN old.file IS NOT NULL AND old.file IS NOT new.file BEGIN
        INSERT INTO trash (file) VALUES (old.file);
      END;`);
    first.close();
    const store = fixtures.open(directory, SMALL_FILES);
    const sql = store.client
      .prepare("SELECT sql FROM sqlite_master WHERE name = 'entries_file_replaced'")
      .pluck()
      .get() as string;
    expect(sql).toMatch(/BEFORE UPDATE OF file/);
    store.set('k', 'a'.repeat(2000), null);
    store.set('k', 'b'.repeat(2000), null);
    expect(valueFiles(directory)).toHaveLength(1);
    store.set('k', 'inline', null);
    expect(valueFiles(directory)).toHaveLength(0);
  });

  it('writes on their own (set, delete, incr, reads under LRU) let the WAL be checkpointed', () => {
    // A RETURNING statement read with get() commits on reset, which skips SQLite's WAL hook: the
    // WAL then grows by every write and is never checkpointed.
    const directory = fixtures.directory();
    const store = fixtures.open(directory, { evictionPolicy: 'least-recently-used' });
    const wal = () => statSync(join(directory, 'skycache.db-wal')).size;
    const limit = 12 * 1024 ** 2; // autocheckpoint at 1000 pages ≈ 4 MB, plus slack
    for (let i = 0; i < 4000; i++) store.set(`k${i}`, 'v'.repeat(100), null);
    expect(wal()).toBeLessThan(limit);
    for (let i = 0; i < 4000; i++) store.get(`k${i}`);
    expect(wal()).toBeLessThan(limit);
    store.set('n', '0', null);
    for (let i = 0; i < 4000; i++) store.incr('n', 1);
    expect(wal()).toBeLessThan(limit);
    for (let i = 0; i < 4000; i++) store.delete(`k${i}`);
    expect(wal()).toBeLessThan(limit);
  });

  it('a set over a limit culls before it returns; below the limits it touches nothing else', () => {
    const clock = makeClock();
    const store = fixtures.open(
      fixtures.directory(),
      { maxEntries: 3, cullFrequency: 3 },
      clock.read,
    );
    for (let i = 0; i < 3; i++) {
      store.set(`k${i}`, 'v', null);
      clock.advance(1);
    }
    for (let i = 0; i < 3; i++) store.set(`k${i}`, 'w', null); // overwrites at the limit
    expect(store.totals().entries).toBe(3);
    store.set('k3', 'v', null); // 4 > 3: max(1, floor(4 / 3)) = 1 goes, the oldest
    expect(allKeys(store)).toEqual(['k1', 'k2', 'k3']);
  });
});

describe('disk store: several stores on one directory', () => {
  it('see each other, close independently, and reopen', () => {
    const directory = fixtures.directory();
    const one = fixtures.open(directory);
    const two = fixtures.open(directory);
    one.set('k', 'v', null);
    one.set('n', '1', null);
    expect(two.get('k')).toBe('v');
    expect(two.incr('n', 1)).toBe(2);
    expect(one.incr('n', 1)).toBe(3);
    one.close();
    one.close();
    expect(two.get('n')).toBe('3');
    const three = fixtures.open(directory);
    expect(three.get('k')).toBe('v');
  });

  it('share one connection per directory in the process, closed by the last store', () => {
    const directory = fixtures.directory();
    const one = fixtures.open(directory);
    const two = fixtures.open(directory);
    expect(two.client).toBe(one.client);
    one.close();
    expect(two.client.open).toBe(true);
    two.close();
    expect(two.client.open).toBe(false);
    const three = fixtures.open(directory);
    expect(three.client).not.toBe(one.client);
  });

  it('a read under least-recently-stored writes nothing; under least-recently-used it does', () => {
    const directory = fixtures.directory();
    const store = fixtures.open(directory);
    store.set('k', 'v', null);
    // Another connection sees data_version change when anyone else commits.
    const observer = new Database(join(directory, 'skycache.db'));
    try {
      const version = () => observer.pragma('data_version', { simple: true });
      const before = version();
      for (let i = 0; i < 10; i++) store.get('k');
      expect(version()).toBe(before);
      // A minute later, so that the access time really changes.
      const later = () => Date.now() + 60_000;
      const lru = fixtures.open(directory, { evictionPolicy: 'least-recently-used' }, later);
      lru.get('k');
      expect(version()).not.toBe(before);
    } finally {
      observer.close();
    }
  });
});

describe('disk backend definition', () => {
  it('declares a sync backend named disk with typed options', () => {
    expect(diskBackend.name).toBe('disk');
    expect(diskBackend.sync).toBe(true);
    expect(Object.keys(diskBackend.options).sort()).toEqual([
      'busyTimeout',
      'cullFrequency',
      'evictionPolicy',
      'largeValueThreshold',
      'maxEntries',
      'sizeLimit',
    ]);
  });

  it('rejects limits that the none policy would ignore', () => {
    expect(validateDiskOptions({ evictionPolicy: 'none', maxEntries: 5 })).toMatch(
      /evictionPolicy.*maxEntries/,
    );
    expect(validateDiskOptions({ evictionPolicy: 'none' })).toBeUndefined();
    expect(validateDiskOptions({ maxEntries: 5, sizeLimit: 100 })).toBeUndefined();
  });

  it('applies defaults and units', () => {
    expect(resolveDiskOptions({})).toEqual({
      sizeLimit: 1024 ** 3,
      maxEntries: undefined,
      cullFrequency: 3,
      evictionPolicy: 'least-recently-stored',
      largeValueThreshold: 32 * 1024,
      busyTimeoutMs: 5000,
    });
    expect(resolveDiskOptions({ busyTimeout: '250ms' }).busyTimeoutMs).toBe(250);
    expect(resolveDiskOptions({ busyTimeout: 2 }).busyTimeoutMs).toBe(2000);
  });

  it('needs a location', () => {
    expect(() => diskBackend.factory(diskContext(''))).toThrow(
      expect.objectContaining({ code: 'ERR_CACHE_CONFIG' }),
    );
  });

  it('resolves a relative location against the working directory', () => {
    const directory = fixtures.directory();
    const cwd = process.cwd();
    const nested = join(directory, 'x', 'y');
    execFileSync('mkdir', ['-p', nested]);
    process.chdir(nested);
    try {
      const store = fixtures.open(join(relative(nested, directory), 'cache'));
      expect(store.directory).toBe(join(directory, 'cache'));
    } finally {
      process.chdir(cwd);
    }
  });

  it('loads better-sqlite3 only when a store is made', () => {
    const script = `
      import { mkdtempSync, rmSync } from 'node:fs';
      import { tmpdir } from 'node:os';
      const loaded = () =>
        process.report.getReport().sharedObjects.some((path) => path.includes('better_sqlite3'));
      await import('./src/index.ts');
      const { diskBackend } = await import('./src/backends/disk.ts');
      const before = loaded();
      const location = mkdtempSync(tmpdir() + '/skycache-lazy-');
      const logger = { warn() {}, error() {}, debug() {} };
      diskBackend.factory({ alias: 'a', location, options: {}, now: Date.now, logger, operationTimeoutMs: 250 }).close();
      rmSync(location, { recursive: true, force: true });
      console.log(JSON.stringify({ before, after: loaded() }));
    `;
    const output = execFileSync(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script],
      { cwd: join(import.meta.dirname, '..'), encoding: 'utf8' },
    );
    expect(JSON.parse(output.trim().split('\n').pop()!)).toEqual({ before: false, after: true });
  });
});

describe('disk configuration', () => {
  it('takes a URL, with relative and absolute directories and options in the query', async () => {
    const directory = fixtures.directory();
    const absolute = createCache(
      `disk://${directory}?maxEntries=2&evictionPolicy=least-recently-used`,
    );
    expect(absolute.backend).toBe('disk');
    expect(absolute.supportsSync).toBe(true);
    for (const key of ['a', 'b', 'c']) await absolute.set(key, key);
    expect((await absolute.getMany(['a', 'b', 'c'])).size).toBeLessThanOrEqual(2);
    await absolute.close();

    const cwd = process.cwd();
    process.chdir(directory);
    try {
      const relative = createCache('disk://./nested/dir');
      relative.setSync('k', 'v');
      // The escape hatch is the better-sqlite3 Database.
      expect(relative.connection()).toBeInstanceOf(Database);
      await relative.close();
    } finally {
      process.chdir(cwd);
    }
    expect(valueFiles(join(directory, 'nested', 'dir'))).toEqual([]);
    expect(existsSync(join(directory, 'nested', 'dir', 'skycache.db'))).toBe(true);
  });

  it('takes the original settings shape (DiskCacheBackend, DIRECTORY, OPTIONS)', async () => {
    const directory = fixtures.directory();
    const cache = createCache({
      BACKEND: 'fastapp.cache.backends.DiskCacheBackend',
      DIRECTORY: directory,
      OPTIONS: { MAX_ENTRIES: 3, CULL_FREQUENCY: 0 },
    });
    for (const key of ['a', 'b', 'c', 'd']) await cache.set(key, key);
    expect([...(await cache.getMany(['a', 'b', 'c', 'd'])).keys()]).toEqual(['d']);
    await cache.close();
  });

  it('rejects bad options with a ConfigError naming the alias and the field', () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ maxEntries: 0 }, /"shop".*options\.maxEntries/],
      [{ evictionPolicy: 'random' }, /options\.evictionPolicy/],
      [{ evictionPolicy: 'none', sizeLimit: 10 }, /"shop".*'none' never evicts/],
      [{ largeValueThreshold: 10 }, /options\.largeValueThreshold/],
      [{ busyTimeout: 'soon' }, /options\.busyTimeout/],
      [{ unknown: 1 }, /options\.unknown/],
    ];
    for (const [options, message] of cases) {
      expect(() => createCache({ backend: 'disk', location: '/tmp/x', options }, 'shop')).toThrow(
        expect.objectContaining({
          code: 'ERR_CACHE_CONFIG',
          message: expect.stringMatching(message),
        }),
      );
    }
  });
});
