/**
 * Two processes, A and B, each with a tiered cache on one store: what A writes, deletes,
 * invalidates by tag or clears is what B reads next, on the Redis and on the PostgreSQL bus; and
 * when B's bus connection is killed while A writes, B never serves its old L1 copy.
 * Redis: database 11 of the shared server with a prefix of this run, and a private redis-server
 * for CLIENT KILL. PostgreSQL: a table (and so a channel) of this run.
 */
import { randomBytes } from 'node:crypto';
import { createClient } from '@redis/client';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { adminPool, dropTables, POSTGRES_URL, probePostgres } from './fixtures/postgres-helpers.js';
import {
  probeRedis,
  redisUrl,
  startRedisServer,
  type RedisServer,
} from './fixtures/redis-servers.js';
import {
  expectAWritesReachB,
  killWorkers,
  startWorker,
  warm as warmUp,
  type Worker,
} from './fixtures/tiers-processes.js';
import { describeWithService } from './support/services.js';

const run = randomBytes(5).toString('hex');
const POLL = { timeout: 5000, interval: 5 };
afterEach(killWorkers);

/** Reads in B until it answers from L1. */
const warm = (worker: Worker, key: string) => warmUp(worker, key, POLL);

/** B must never answer `old` for `key` during `ms`, and must answer `expected` at the end. */
async function neverOld(worker: Worker, key: string, old: unknown, expected: unknown, ms = 1000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    expect((await worker.get(key)).value).not.toEqual(old);
  }
  await expect.poll(async () => (await worker.get(key)).value, POLL).toEqual(expected);
}

function crossProcessTests(config: () => Record<string, unknown>) {
  it('writes, deletes, tag deletes and clears in A are what B reads next', async () => {
    await expectAWritesReachB(config, POLL);
  });
}

const redisUnavailable = await probeRedis();

describeWithService('Redis', redisUnavailable, 'two processes on the Redis bus', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(async () => {
    await server?.dispose();
  });
  const config = (location: string) => ({
    backend: 'redis',
    location,
    keyPrefix: `tiers-proc-${run}`,
    operationTimeout: '2s',
    l1: { maxEntries: 1000, timeout: '60s' },
  });

  crossProcessTests(() => config(redisUrl(11)));

  it('B never serves its old L1 copy after its subscriber is killed while A writes', async () => {
    const [a, b] = await Promise.all([
      startWorker(config(server.url)),
      startWorker(config(server.url)),
    ]);
    await a.call('set', 'k', 'old');
    expect(await warm(b, 'k')).toBe('old');
    const admin = createClient({ url: server.url });
    await admin.connect();
    await admin.sendCommand(['CLIENT', 'KILL', 'TYPE', 'pubsub']);
    await a.call('set', 'k', 'new');
    await neverOld(b, 'k', 'old', 'new');
    // Back on the bus: L1 serves again.
    expect(await warm(b, 'k')).toBe('new');
    await admin.close();
    await Promise.all([a.close(), b.close()]);
  });
});

const postgresUnavailable = await probePostgres();

describeWithService(
  'PostgreSQL',
  postgresUnavailable,
  'two processes on the PostgreSQL bus',
  () => {
    const table = `skycache_test_tiers_proc_${run}`;
    afterAll(async () => {
      const pool = adminPool();
      await dropTables(pool, table);
      await pool.end();
    });
    const config = () => ({
      backend: 'postgres',
      location: POSTGRES_URL,
      operationTimeout: '2s',
      options: { table },
      l1: { maxEntries: 1000, timeout: '60s' },
    });

    crossProcessTests(config);

    it('B never serves its old L1 copy after its listener is terminated while A writes', async () => {
      const [a, b] = await Promise.all([startWorker(config()), startWorker(config())]);
      await a.call('set', 'k', 'old');
      expect(await warm(b, 'k')).toBe('old');
      const pool = adminPool();
      // Both processes' listeners of this table's channel (B's among them).
      const { rowCount } = await pool.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1`,
        [`skycache-bus skycache_bus_pg_${table}`.slice(0, 63)],
      );
      expect(rowCount).toBeGreaterThanOrEqual(2);
      await a.call('set', 'k', 'new');
      await neverOld(b, 'k', 'old', 'new');
      expect(await warm(b, 'k')).toBe('new');
      await pool.end();
      await Promise.all([a.close(), b.close()]);
    });
  },
);
