/**
 * The shared conformance suite on tiered caches: redis + l1 (Redis bus), postgres + l1
 * (LISTEN/NOTIFY bus) and disk + l1 (no bus; sync). The whole Cache API must behave exactly as on
 * the store alone. Redis database 11 with the suite's prefixes (it does not empty the database);
 * a PostgreSQL table of this file; a directory per disk test. Plus: `getMany` hits carry their
 * tier and count in `l1Hits`/`l2Hits` as `get` hits do.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { createCache } from '../src/core/registry.js';
import { silentLogger } from '../src/core/logger.js';
import { runConformanceSuite } from '../src/testing/index.js';
import { adminPool, dropTables, POSTGRES_URL, probePostgres } from './fixtures/postgres-helpers.js';
import { makeRedisCache, probeRedis, redisUrl } from './fixtures/redis-servers.js';
import { describeWithService } from './support/services.js';

const l1 = { maxEntries: 1000, timeout: '60s' };

const redisUnavailable = await probeRedis();
describeWithService('Redis', redisUnavailable, 'tiered: redis + l1', () => {
  runConformanceSuite({
    name: 'conformance',
    backendName: 'redis',
    supportsSync: false,
    // Database 7 is this file's alone, so the suite may also empty the whole store.
    // Reads and TTLs go over the network (a read through L2 is the entry and its expiry, and
    // `ttl` checks tags) on a machine busy with other test files.
    ttlPrecisionMs: 500,
    makeCache: (overrides) => makeRedisCache({ location: redisUrl(7), l1, ...overrides }),
  });
});

const TABLE = 'skycache_test_tiers_conformance';
const postgresUnavailable = await probePostgres();
describeWithService('PostgreSQL', postgresUnavailable, 'tiered: postgres + l1', () => {
  afterAll(async () => {
    const pool = adminPool();
    await dropTables(pool, TABLE);
    await pool.end();
  });
  runConformanceSuite({
    name: 'conformance',
    backendName: 'postgres',
    supportsSync: false,
    ttlPrecisionMs: 500,
    makeCache: (overrides) =>
      createCache({
        backend: 'postgres',
        location: POSTGRES_URL,
        logger: silentLogger,
        operationTimeout: '2s',
        options: { table: TABLE },
        l1,
        ...overrides,
      }),
  });
});

// One directory per test, as in disk.conformance.test.ts.
const root = mkdtempSync(join(tmpdir(), 'skycache-tiers-conformance-'));
let location = '';
let count = 0;
beforeEach(() => {
  location = join(root, String(count++));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

runConformanceSuite({
  name: 'tiered: disk + l1 (no bus)',
  supportsSync: true,
  backendName: 'disk',
  // Every write is a SQLite transaction with fsync, on a machine busy with other test files.
  ttlPrecisionMs: 300,
  makeCache: (overrides) => createCache({ backend: 'disk', location, l1, ...overrides }),
});

describe('tiered: getMany hits carry their tier', () => {
  it('counts each hit in l1Hits or l2Hits and puts the tier on the hit event', async () => {
    const cache = createCache({ backend: 'disk', location, l1, logger: silentLogger });
    const tiers: Array<[string, string | undefined]> = [];
    cache.on('hit', (event) => tiers.push([event.key, (event as { tier?: string }).tier]));
    await cache.set('a', 1);
    await cache.set('b', 2);
    expect(await cache.get('a')).toBe(1); // from L2, now copied into L1
    tiers.length = 0;
    const before = cache.stats();
    expect(await cache.getMany(['a', 'b', 'c'])).toEqual(
      new Map([
        ['a', 1],
        ['b', 2],
      ]),
    );
    expect(tiers).toEqual([
      ['a', 'l1'],
      ['b', 'l2'],
    ]);
    expect(cache.stats().l1Hits - before.l1Hits).toBe(1);
    expect(cache.stats().l2Hits - before.l2Hits).toBe(1);
    tiers.length = 0;
    expect(cache.getManySync(['b', 'a'])).toEqual(
      new Map([
        ['b', 2],
        ['a', 1],
      ]),
    );
    expect(tiers).toEqual([
      ['b', 'l1'],
      ['a', 'l1'],
    ]);
    await cache.close();
  });
});
