/**
 * The postgres backend on its own terms: the table it makes, payload columns, keys that are SQL
 * metacharacters, glob translation checked against the JavaScript matcher, expiry under write
 * traffic, Django's cull, pools, and configuration. A real server; each test on tables of its own.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { inspect, promisify } from 'node:util';
import type { Pool } from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { postgresBackend, type PostgresStore } from '../src/backends/postgres.js';
import { countingDropSql } from '../src/backends/postgres/counting.js';
import { toSqlKeyMatch, prefixUpperBound } from '../src/backends/postgres/pattern.js';
import { parseTableName } from '../src/backends/postgres/sql.js';
import {
  PURGE_BATCH,
  PURGE_EVERY_WRITES,
  PURGE_INTERVAL_MS,
} from '../src/backends/postgres/upkeep.js';
import { resolveConfig } from '../src/config/resolve.js';
import { Cache } from '../src/core/cache.js';
import { makeKeyMatcher } from '../src/core/glob.js';
import { silentLogger } from '../src/core/logger.js';
import { createCache } from '../src/core/registry.js';
import type { CacheConfig } from '../src/config/types.js';
import {
  adminPool,
  backend,
  countRows,
  dropTables,
  pg,
  POSTGRES_URL,
  probePostgres,
} from './fixtures/postgres-helpers.js';
import { describeWithService } from './support/services.js';

const PREFIX = 'skycache_test_store';
/** Upkeep runs beside the writes: give it time on a loaded machine. */
const POLL = { timeout: 5000 };
const tables: string[] = [];
/** A table name for one test (dropped after the file). */
function table(name: string): string {
  const full = `${PREFIX}_${name}`;
  tables.push(full);
  return full;
}

/** A clock the test moves by hand. */
function makeClock(start = 1_700_000_000_000) {
  let now = start;
  return {
    now: () => now,
    advance(ms: number) {
      now += ms;
    },
  };
}

const stores: PostgresStore[] = [];
/** A store straight from the factory (no Cache in front), closed after the file. */
function openStore(options: Record<string, unknown>, now: () => number = Date.now): PostgresStore {
  const store = postgresBackend.factory({
    alias: 'store',
    location: POSTGRES_URL,
    options,
    now,
    logger: silentLogger,
    operationTimeoutMs: 5000,
  }) as PostgresStore;
  stores.push(store);
  return store;
}

const caches: Cache[] = [];
/** A cache on the backend under test, closed after the file; `now` gives it a clock of the test's. */
function openCache(config: Partial<CacheConfig>, now?: () => number): Cache {
  const cache = new Cache(
    resolveConfig(
      { backend, location: POSTGRES_URL, logger: silentLogger, operationTimeout: '5s', ...config },
      'test',
    ),
    now ? { now } : {},
  );
  caches.push(cache);
  return cache;
}

/**
 * Asserts a ConfigError naming `message`: thrown by the config layer when the backend is
 * registered, or by the factory on the first operation when it is passed by value.
 */
async function expectConfigError(config: Partial<CacheConfig>, message: RegExp): Promise<void> {
  let error: unknown;
  try {
    error = await openCache(config)
      .get('k')
      .then(
        () => undefined,
        (reason: unknown) => reason,
      );
  } catch (thrown) {
    error = thrown;
  }
  expect(error).toMatchObject({
    code: 'ERR_CACHE_CONFIG',
    message: expect.stringMatching(message),
  });
}

async function collect(iterable: AsyncIterable<string>): Promise<string[]> {
  const found: string[] = [];
  for await (const key of iterable) found.push(key);
  return found.sort();
}

describe('postgres key patterns in SQL terms', () => {
  it('bounds a prefix range in code point order', () => {
    expect(prefixUpperBound('abc')).toBe('abd');
    expect(prefixUpperBound('a\u{10ffff}')).toBe('b');
    expect(prefixUpperBound('\u{10ffff}')).toBeNull();
    expect(prefixUpperBound('')).toBeNull();
    expect(prefixUpperBound('x\ud7ff')).toBe('x\ue000');
    expect(prefixUpperBound('😀')).toBe('😁');
  });

  it('escapes LIKE metacharacters and folds the literal head into the range', () => {
    expect(toSqlKeyMatch({ prefix: 'p%_\\:', pattern: 'a_c*' })).toEqual({
      lower: 'p%_\\:a_c',
      upper: 'p%_\\:a_d',
      like: 'p\\%\\_\\\\:a\\_c%',
      regex: null,
      matchesNothing: false,
    });
    expect(toSqlKeyMatch({ prefix: '', pattern: '*x?' }).like).toBe('%x_');
    expect(toSqlKeyMatch({ prefix: 'k:', pattern: '[!a-c]*' }).regex).toBe('^k\\:[^a-c].*$');
    expect(toSqlKeyMatch({ prefix: 'k:', pattern: '[z-a]' }).matchesNothing).toBe(true);
  });
});

describe('postgres driver loading', () => {
  it('importing skycache does not load pg; making a postgres store does (without connecting)', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', join(import.meta.dirname, 'fixtures/postgres-lazy-probe.ts')],
      { timeout: 15_000 },
    );
    expect(JSON.parse(stdout.trim().split('\n').pop()!)).toEqual({
      afterImport: false,
      afterFactory: true,
    });
  });
});

const unavailable = await probePostgres();

describeWithService('PostgreSQL', unavailable, 'postgres backend', () => {
  const admin: Pool = adminPool();
  afterAll(async () => {
    await Promise.all([...caches, ...stores].map((item) => item.close()));
    await dropTables(admin, ...tables);
    for (const name of tables) await admin.query(countingDropSql(parseTableName(name).name!));
    await admin.query('DROP SCHEMA IF EXISTS skycache_test_schema CASCADE');
    await admin.end();
  });

  async function describeTable(name: string, schema = 'public') {
    const { rows } = await admin.query<{
      persistence: string;
      indexes: string[];
      columns: string[];
    }>(
      `SELECT c.relpersistence AS persistence,
         ARRAY(SELECT indexname::text FROM pg_indexes WHERE schemaname = $2 AND tablename = $1 ORDER BY 1) AS indexes,
         ARRAY(SELECT column_name || ' ' || data_type || coalesce(' ' || collation_name, '')
               FROM information_schema.columns WHERE table_schema = $2 AND table_name = $1
               ORDER BY ordinal_position) AS columns
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE c.relname = $1 AND n.nspname = $2`,
      [name, schema],
    );
    return rows[0];
  }

  describe('the table', () => {
    it('is created on first use: UNLOGGED, C-collated text keys, text and bytea payloads, bigint expiry, expiry index', async () => {
      const name = table('layout');
      await dropTables(admin, name);
      const cache = openCache({ options: { table: name } });
      expect(cache.connection()).toBeInstanceOf(pg.Pool);
      expect(await describeTable(name)).toBeUndefined();
      await cache.set('k', 1);
      expect(await describeTable(name)).toEqual({
        persistence: 'u',
        indexes: [`${name}_expires_at`, `${name}_pkey`],
        columns: ['key text C', 'value text', 'data bytea', 'expires_at bigint'],
      });
    });

    it('is logged with unlogged: false, and can live in another schema', async () => {
      await admin.query('CREATE SCHEMA IF NOT EXISTS skycache_test_schema');
      const cache = openCache({
        options: { table: 'skycache_test_schema.Entries', unlogged: false },
      });
      await cache.set('k', 'v');
      expect(await cache.get('k')).toBe('v');
      expect((await describeTable('Entries', 'skycache_test_schema'))?.persistence).toBe('p');
    });

    it('is not created with createTable: false: the error says how to create it', async () => {
      const name = table('missing');
      await dropTables(admin, name);
      const cache = openCache({ options: { table: name, createTable: false } });
      await expect(cache.set('k', 1)).rejects.toMatchObject({
        code: 'ERR_CACHE_BACKEND',
        message: expect.stringMatching(/does not exist.*skycache createtable/),
      });
      expect(await describeTable(name)).toBeUndefined();
      // Made ahead of time (what `skycache createtable` does), it is used as it is.
      expect(await openStore({ table: name }).createTable()).toEqual({
        outcome: 'created',
        unlogged: true,
      });
      await cache.set('k', 1);
      expect(await cache.get('k')).toBe(1);
    });

    it('is created again if dropped while in use', async () => {
      const name = table('dropped');
      const cache = openCache({ options: { table: name } });
      await cache.set('k', 1);
      await dropTables(admin, name);
      await cache.set('k', 2);
      expect(await cache.get('k')).toBe(2);
    });

    it('names are validated (never interpolated raw) and quoted', async () => {
      for (const bad of ['x; DROP TABLE y', '1abc', 'a.b.c', 'a"b', '', 'x'.repeat(53), 'é']) {
        await expectConfigError({ options: { table: bad } }, /options\.table/);
      }
      const name = table('MixedCase');
      const cache = openCache({ options: { table: name } });
      await cache.set('k', 1);
      expect(await describeTable(name)).toBeDefined();
    });

    it('uses named prepared statements', async () => {
      const pool = new pg.Pool({ connectionString: POSTGRES_URL, max: 1 });
      const cache = openCache({ location: '', options: { table: table('prepared'), pool } });
      await cache.set('k', 1);
      await cache.get('k');
      await cache.incr('k');
      const { rows } = await pool.query<{ name: string; statement: string }>(
        "SELECT name, statement FROM pg_prepared_statements WHERE name LIKE 'skycache%'",
      );
      expect(rows.map((row) => row.statement)).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^INSERT INTO .* ON CONFLICT \(key\) DO UPDATE/),
          expect.stringMatching(/^SELECT value, data FROM/),
          expect.stringMatching(/^WITH target AS .* FOR UPDATE/),
        ]),
      );
      await cache.close();
      await pool.end();
    });
  });

  describe('payloads', () => {
    it('keeps text in value (readable with SQL), binary in data; strings come back as strings', async () => {
      const name = table('payloads');
      const store = openStore({ table: name });
      const binary = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
      const payloads: Array<[string, string | Buffer]> = [
        ['text', '{"a":1}'],
        ['unicode', 'héllo wörld 😀 — ✓'],
        ['empty-text', ''],
        ['bytes', binary],
        ['empty-bytes', Buffer.alloc(0)],
      ];
      for (const [key, value] of payloads) await store.set(key, value, null);
      for (const [key, value] of payloads) expect(await store.get(key)).toEqual(value);
      const { rows } = await admin.query(
        `SELECT key, value, data IS NOT NULL AS binary FROM "${name}" ORDER BY key`,
      );
      expect(rows).toEqual([
        { key: 'bytes', value: null, binary: true },
        { key: 'empty-bytes', value: null, binary: true },
        { key: 'empty-text', value: '', binary: false },
        { key: 'text', value: '{"a":1}', binary: false },
        { key: 'unicode', value: 'héllo wörld 😀 — ✓', binary: false },
      ]);
      // PostgreSQL text cannot hold NUL: such a string is kept as its UTF-8 bytes.
      await store.set('nul', 'a\u0000b', null);
      expect(Buffer.from((await store.get('nul'))!).toString()).toBe('a\u0000b');
      expect(await store.getMany(['text', 'missing', 'bytes'])).toEqual([
        '{"a":1}',
        undefined,
        binary,
      ]);
    });

    it('round-trips values under every serializer and a custom one producing NUL characters', async () => {
      const name = table('serializers');
      const value = { id: 1, text: 'a\u0000b', list: [1, 'two', null], nested: { ok: true } };
      for (const serializer of ['json', 'v8', 'msgpack'] as const) {
        const cache = openCache({ serializer, keyPrefix: serializer, options: { table: name } });
        await cache.set('v', value);
        expect(await cache.get('v')).toEqual(value);
      }
      const cache = openCache({
        keyPrefix: 'custom',
        options: { table: name },
        serializer: {
          name: 'nul-joined',
          serialize: (v) => (v as string[]).join('\u0000'),
          deserialize: (b) => (typeof b === 'string' ? b : b.toString()).split('\u0000'),
        },
      });
      await cache.set('v', ['a', 'b']);
      expect(await cache.get('v')).toEqual(['a', 'b']);
    });

    it('incr works on integers other SQL clients wrote, and keeps the expiry', async () => {
      const name = table('interop');
      const clock = makeClock();
      const cache = openCache({ options: { table: name } }, clock.now);
      await cache.set('n', 1, 60);
      await admin.query(`UPDATE "${name}" SET value = '41' WHERE key = ':1:n'`);
      expect(await cache.incr('n')).toBe(42);
      expect(await cache.ttl('n')).toBe(60);
      // …and other clients can add to what skycache stored, in SQL.
      await admin.query(
        `UPDATE "${name}" SET value = (value::bigint + 8)::text WHERE key = ':1:n'`,
      );
      expect(await cache.get('n')).toBe(50);
      await cache.set('big', Number.MAX_SAFE_INTEGER - 1);
      expect(await cache.incr('big')).toBe(Number.MAX_SAFE_INTEGER);
      await expect(cache.incr('big')).rejects.toMatchObject({ code: 'ERR_CACHE_INVALID_VALUE' });
      expect(await cache.get('big')).toBe(Number.MAX_SAFE_INTEGER);
    });
  });

  describe('keys are literal, patterns are globs', () => {
    const awkward = [
      '%',
      '_',
      '\\',
      "'",
      '"',
      "'; DROP TABLE skycache_test_store_literal; --",
      'a%c',
      'abc',
      'a_c',
      'a_cd',
      'a\\c',
      'a\\_c',
      'a*c',
      'a[b]c',
      'line\nbreak',
      'ünï😀',
    ];

    it('keys with LIKE, glob and quote characters are stored, read and deleted as themselves', async () => {
      const name = table('literal');
      const cache = openCache({ keyPrefix: 'p%_\\', options: { table: name } });
      const other = openCache({ keyPrefix: 'pX_\\', options: { table: name } });
      await cache.setMany(awkward.map((key) => [key, key] as const));
      await other.set('a_c', 'other');
      for (const key of awkward) expect(await cache.get(key)).toBe(key);
      expect(await collect(cache.keys())).toEqual([...awkward].sort());
      expect(await cache.delete('%')).toBe(true);
      expect(await cache.get('a%c')).toBe('a%c');
      // `_` in a glob is itself, `*` is any run: a_c* is a_c and a_cd, not abc nor a%c.
      expect(await cache.deletePattern('a_c*')).toBe(2);
      expect(await cache.has('a_c')).toBe(false);
      expect(await cache.has('a_cd')).toBe(false);
      expect(await cache.has('abc')).toBe(true);
      expect(await cache.has('a%c')).toBe(true);
      expect(await other.get('a_c')).toBe('other');
      expect(await cache.deletePattern('a\\*c')).toBe(1);
      expect(await cache.has('a*c')).toBe(false);
      // clear() with a prefix full of LIKE characters stays within it.
      await cache.clear();
      expect(await collect(cache.keys())).toEqual([]);
      expect(await other.get('a_c')).toBe('other');
      expect(await countRows(admin, name)).toBe(1);
    });

    it('every glob selects in SQL exactly the keys the JavaScript matcher selects', async () => {
      const name = table('globs');
      const store = openStore({ table: name });
      const keys = [...awkward, 'k1', 'k2', 'ka', 'kB', 'k-', 'k]', 'k^', 'k!', 'kab', 'a', 'ab'];
      await store.setMany(
        keys.map((key) => [`p:${key}`, 'v']),
        null,
      );
      await store.set('q:k1', 'v', null);
      const patterns = [
        '*',
        'k?',
        'k[0-9]',
        'k[!0-9]',
        'k[^a-z]',
        'k[a-z]*',
        'k[]]',
        'k[\\]]',
        'k[-]',
        'k[!]]',
        'k[z-a]',
        '[!z-a]*',
        'a?c',
        'a\\?c',
        'a[%_]c',
        '*c',
        '?',
        '\\*',
        'a\\\\*',
        "'*",
        '*😀',
        'line?break',
        'k[\\^]',
        'k[!a-zA-Z0-9]',
        '[ak]*b',
      ];
      for (const pattern of patterns) {
        const expected = keys.filter(makeKeyMatcher('', pattern)).sort();
        expect(await collect(store.keys({ prefix: 'p:', pattern })), pattern).toEqual(
          expected.map((key) => `p:${key}`).sort(),
        );
      }
      expect(await store.deleteMatching({ prefix: 'p:', pattern: 'k[0-9]' })).toBe(2);
      expect(await store.get('q:k1')).toBe('v');
    });

    it('keys() pages through many keys', async () => {
      const store = openStore({ table: table('paging') });
      const keys = Array.from({ length: 2500 }, (_, i) => `many:${i}`);
      await store.setMany(
        keys.map((key) => [key, '1']),
        null,
      );
      expect(await collect(store.keys({ prefix: 'many:', pattern: '*' }))).toEqual(
        [...keys].sort(),
      );
      expect(await store.deleteMatching({ prefix: 'many:', pattern: '*' })).toBe(2500);
    });
  });

  describe('expiry without cron or timers', () => {
    it('expired rows disappear from the table under write traffic, and only then', async () => {
      const name = table('purge');
      const clock = makeClock();
      const store = openStore({ table: name }, clock.now);
      const expiring = Array.from({ length: 300 }, (_, i) => [`old:${i}`, 'x'] as const);
      await store.setMany(expiring, clock.now() + 1000);
      await store.set('forever', 'x', null);
      clock.advance(2000);
      expect(await store.get('old:1')).toBeUndefined();
      // Reads remove nothing, and no timer does either.
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(await countRows(admin, name)).toBe(301);
      for (let i = 0; i < 100; i++) await store.set(`new:${i}`, 'x', clock.now() + 60_000);
      await expect.poll(() => countRows(admin, name), POLL).toBe(101);
    });

    it(`purges at most once per ${PURGE_INTERVAL_MS} ms of the store's clock, however many writes`, async () => {
      const name = table('purge_interval');
      const clock = makeClock();
      const store = openStore({ table: name }, clock.now);
      await store.setMany([['first', 'x']], clock.now() + 10);
      // Past the interval of any purge the first write may have started.
      clock.advance(PURGE_INTERVAL_MS);
      // A purge falls due within PURGE_EVERY_WRITES writes.
      for (let i = 0; i < PURGE_EVERY_WRITES; i++) await store.set(`a:${i}`, 'x', null);
      await expect.poll(() => countRows(admin, name), POLL).toBe(PURGE_EVERY_WRITES);
      // Rows that expire less than the interval after that purge stay through many more writes
      // (the clock stands still, so no purge can start)…
      await store.setMany([['second', 'x']], clock.now() + 10);
      clock.advance(20);
      for (let i = 0; i < 4 * PURGE_EVERY_WRITES; i++) await store.set(`b:${i}`, 'x', null);
      expect(await countRows(admin, name)).toBe(5 * PURGE_EVERY_WRITES + 1);
      // …until the interval has passed: then the next due write purges them.
      clock.advance(PURGE_INTERVAL_MS);
      for (let i = 0; i < PURGE_EVERY_WRITES; i++) await store.set(`c:${i}`, 'x', null);
      await expect.poll(() => countRows(admin, name), POLL).toBe(6 * PURGE_EVERY_WRITES);
    });

    it('a backlog larger than one purge is cleared by runs back to back, with no more writes', async () => {
      const name = table('purge_backlog');
      const clock = makeClock();
      const store = openStore({ table: name }, clock.now);
      const backlog = 2 * PURGE_BATCH + 200;
      const expiring = Array.from({ length: backlog }, (_, i) => [`old:${i}`, 'x'] as const);
      await store.setMany(expiring, clock.now() + 1000);
      clock.advance(2000);
      // Just enough writes for one purge to fall due; the clock stands still.
      for (let i = 0; i < PURGE_EVERY_WRITES; i++) await store.set(`new:${i}`, 'x', null);
      await expect.poll(() => countRows(admin, name), POLL).toBe(PURGE_EVERY_WRITES);
    });

    it('maxEntries culls Django-style before the write returns: expired first, then 1/cullFrequency, sparing the newest', async () => {
      const clock = makeClock();
      const name = table('cull');
      const store = openStore({ table: name, maxEntries: 10, cullFrequency: 2 }, clock.now);
      for (let i = 0; i < 6; i++) await store.set(`soon:${i}`, 'x', clock.now() + 1000);
      for (let i = 0; i < 4; i++) await store.set(`later:${i}`, 'x', clock.now() + 60_000);
      expect(await countRows(admin, name)).toBe(10);
      clock.advance(2000);
      // Eleven rows: the six expired ones go, and that is enough.
      await store.set('newest', 'x', null);
      expect(await countRows(admin, name)).toBe(5);
      for (let i = 0; i < 6; i++) await store.set(`more:${i}`, 'x', clock.now() + 30_000);
      // Eleven live rows: half of them (5) go, soonest-expiring first; never-expiring ones last.
      expect(await countRows(admin, name)).toBe(6);
      expect(await store.has('newest')).toBe(true);
      expect(await collect(store.keys({ prefix: 'later:', pattern: '*' }))).toHaveLength(4);
    });

    it('cullFrequency 0 removes every other entry', async () => {
      const name = table('cull0');
      const store = openStore({ table: name, maxEntries: 5, cullFrequency: 0 });
      for (let i = 0; i < 6; i++) await store.set(`k${i}`, 'x', null);
      expect(await countRows(admin, name)).toBe(1);
      expect(await store.get('k5')).toBe('x');
    });

    // Django's test_cull and test_zero_cull (tests/cache/tests.py), through the Cache API.
    it.each([
      [3, 29],
      [0, 19],
    ])(
      "Django's sequence: maxEntries 30, cullFrequency %i, 49 awaited sets leave exactly %i",
      async (cullFrequency, left) => {
        const name = table(`django_cull_${cullFrequency}`);
        const cache = openCache({ options: { table: name, maxEntries: 30, cullFrequency } });
        for (let i = 1; i < 50; i++) await cache.set(`cull${i}`, 'value', { timeout: 1000 });
        let count = 0;
        for (let i = 1; i < 50; i++) if (await cache.has(`cull${i}`)) count++;
        expect(count).toBe(left);
        expect(await countRows(admin, name)).toBe(left);
      },
    );

    it('setMany and add count their inserts; overwrites and deletes keep the count exact', async () => {
      const name = table('cull_many');
      const store = openStore({ table: name, maxEntries: 10, cullFrequency: 2 });
      await store.setMany(
        Array.from({ length: 8 }, (_, i) => [`m${i}`, 'x'] as const),
        null,
      );
      for (let i = 0; i < 8; i++) await store.set(`m${i}`, 'y', null); // overwrites: no cull
      expect(await countRows(admin, name)).toBe(8);
      await store.delete('m0');
      await store.deleteMany(['m1', 'nope']);
      expect(await store.add('a1', 'x', null)).toBe(true);
      expect(await store.add('a1', 'x', null)).toBe(false);
      await store.setMany(
        [
          ['s1', 'x'],
          ['s2', 'x'],
          ['s3', 'x'],
          ['s4', 'x'],
        ],
        null,
      ); // 11 rows
      expect(await countRows(admin, name)).toBe(6); // 11 − max(1, floor(11 / 2))
      await store.clear();
      for (let i = 0; i < 10; i++) await store.set(`c${i}`, 'x', null);
      expect(await countRows(admin, name)).toBe(10);
      const counter = await admin.query<{ n: string }>(`SELECT n FROM "${name}_count"`);
      expect(Number(counter.rows[0]!.n)).toBe(10);
    });

    it('concurrent writers in several pools never take the table far past maxEntries', async () => {
      const name = table('cull_concurrent');
      const maxEntries = 50;
      // A pool each (pool settings are part of the sharing key), as separate processes would have.
      const writers = Array.from({ length: 4 }, (_, w) =>
        openCache({ options: { table: name, maxEntries, cullFrequency: 3, poolSize: 10 + w } }),
      );
      let peak = 0;
      await Promise.all(
        writers.map(async (cache, w) => {
          for (let round = 0; round < 10; round++) {
            await Promise.all(
              Array.from({ length: 10 }, (_, i) =>
                cache.set(`w${w}:${round}:${i}`, 'x', { timeout: 600 }),
              ),
            );
            peak = Math.max(peak, await countRows(admin, name));
          }
        }),
      );
      // At most the writes in flight (4 writers × 10) past the limit, and back under it at rest.
      expect(peak).toBeLessThanOrEqual(maxEntries + 40);
      expect(await countRows(admin, name)).toBeLessThanOrEqual(maxEntries + 40);
      const counter = await admin.query<{ n: string }>(`SELECT n FROM "${name}_count"`);
      expect(Number(counter.rows[0]!.n)).toBe(await countRows(admin, name));
    });

    it('a counter row lost (as a crash empties an unlogged table) is counted again on the next insert', async () => {
      const name = table('cull_lost');
      const store = openStore({ table: name, maxEntries: 5, cullFrequency: 0 });
      for (let i = 0; i < 4; i++) await store.set(`k${i}`, 'x', null);
      await admin.query(`TRUNCATE "${name}_count"`);
      await store.set('k4', 'x', null); // counted afresh: 5 rows, not over
      expect(await countRows(admin, name)).toBe(5);
      await store.set('k5', 'x', null); // 6 > 5: all but the newest go
      expect(await countRows(admin, name)).toBe(1);
      const counter = await admin.query<{ n: string }>(`SELECT n FROM "${name}_count"`);
      expect(Number(counter.rows[0]!.n)).toBe(1);
    });

    it('a table written before maxEntries was set is counted once, then culled exactly', async () => {
      const name = table('cull_late');
      const plain = openStore({ table: name });
      for (let i = 0; i < 12; i++) await plain.set(`old${i}`, 'x', null);
      const bounded = openStore({ table: name, maxEntries: 12, cullFrequency: 3 });
      await bounded.set('new', 'x', null); // 13 rows → 13 − 4
      expect(await countRows(admin, name)).toBe(9);
      await plain.set('plain', 'x', null); // counted by the triggers, culled by the next bounded insert
      for (let i = 0; i < 3; i++) await bounded.set(`n${i}`, 'x', null); // 10, 11, 12, 13 → 9
      expect(await countRows(admin, name)).toBe(9);
    });
  });

  describe('pools and connections', () => {
    it('connection() is the pg.Pool before any query; caches on one table share it', async () => {
      const name = table('shared');
      const first = openCache({ options: { table: name } });
      const second = openCache({ options: { table: name } });
      const pool = first.connection() as Pool;
      expect(pool).toBeInstanceOf(pg.Pool);
      expect(pool.totalCount).toBe(0);
      expect(second.connection()).toBe(pool);
      expect(openCache({ options: { table: table('shared_other') } }).connection()).not.toBe(pool);
      await first.set('k', 1);
      await first.close();
      expect(await second.get('k')).toBe(1);
    });

    it('options.pool is borrowed: used, and not ended on close', async () => {
      const pool = new pg.Pool({ connectionString: POSTGRES_URL, max: 2 });
      const cache = openCache({ location: '', options: { table: table('borrowed'), pool } });
      expect(cache.connection()).toBe(pool);
      await cache.set('k', 1);
      await cache.close();
      expect((await pool.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
      await pool.end();
    });

    it('many concurrent multi-key writes in different orders neither deadlock nor fail', async () => {
      const store = openStore({ table: table('deadlock') });
      const keys = Array.from({ length: 30 }, (_, i) => `k${i}`);
      const shuffled = () => [...keys].sort(() => Math.random() - 0.5);
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          i % 3 === 2
            ? store.deleteMany(shuffled())
            : store.setMany(
                shuffled().map((key) => [key, String(i)] as const),
                null,
              ),
        ),
      );
      for (const result of results) if (Array.isArray(result)) expect(result).toEqual([]);
      // Duplicate keys in one call: the last value wins, as with successive sets.
      expect(
        await store.setMany(
          [
            ['d', '1'],
            ['d', '2'],
          ],
          null,
        ),
      ).toEqual([]);
      expect(await store.get('d')).toBe('2');
    });
  });

  describe('configuration', () => {
    it('rejects bad options with ConfigError naming the option', async () => {
      const bad: Array<[Record<string, unknown>, RegExp]> = [
        [{ maxEntries: 0 }, /options\.maxEntries/],
        [{ cullFrequency: -1 }, /options\.cullFrequency/],
        [{ poolSize: 0 }, /options\.poolSize/],
        [{ connectTimeout: 0 }, /options\.connectTimeout/],
        [{ statementTimeout: '5 s' }, /options\.statementTimeout/],
        [{ pool: {} }, /options\.pool/],
        [{ pool: new pg.Pool(), poolSize: 3 }, /options\.poolSize/],
        [{ tabel: 'x' }, /options\.tabel/],
      ];
      for (const [options, message] of bad) await expectConfigError({ options }, message);
      await expectConfigError({ location: 'my_cache_table' }, /options\.table/);
    });

    it('never prints the password of a DSN, even one that was not percent-encoded', async () => {
      for (const location of [
        'postgres://app:s3cret-pw@127.0.0.1:1/test',
        'postgres://app:s3cret pw@127.0.0.1:1/test',
        'postgresql://app:s3cret%40pw@127.0.0.1:1/test?sslmode=disable',
      ]) {
        const cache = openCache({ location, operationTimeout: '1s' });
        const error = await cache.get('k').catch((reason: unknown) => reason);
        expect(error).toMatchObject({ code: 'ERR_CACHE_BACKEND' });
        const printed = `${String(error)} ${inspect(error, { depth: 10 })}`;
        expect(printed).not.toMatch(/s3cret/);
        await cache.close();
      }
    });

    it('works from a URL, with options and driver parameters in the query', async () => {
      const name = table('url');
      const cache = createCache(
        `${POSTGRES_URL}?table=${name}&maxEntries=100&keyPrefix=u&application_name=skycache-url-test&sslmode=disable`,
      );
      caches.push(cache);
      await cache.set('k', 1);
      expect(await cache.get('k')).toBe(1);
      const { rows } = await admin.query(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'skycache-url-test'",
      );
      expect(rows[0].n).toBeGreaterThan(0);
      expect(() => createCache(`${POSTGRES_URL}?maxEntries=-1`)).toThrow(/maxEntries/);
      expect(() => createCache(`${POSTGRES_URL}?nonsense=1`)).toThrow(/nonsense/);
    });

    it('accepts the original settings shape', async () => {
      const name = table('upper');
      const cache = createCache({
        BACKEND: 'fastapp.cache.PostgresBackend',
        LOCATION: POSTGRES_URL,
        OPTIONS: { TABLE: name, MAX_ENTRIES: 100, CULL_FREQUENCY: 4 },
      });
      caches.push(cache);
      expect(cache.backend).toBe('postgres');
      await cache.set('k', 1);
      expect(await countRows(admin, name)).toBe(1);
    });
  });
});
