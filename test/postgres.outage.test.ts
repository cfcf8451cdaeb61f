/**
 * Outages, played three ways: a closed port (nothing listens), a proxy in front of the shared
 * server that can drop or freeze every connection, and a throwaway cluster of our own that is
 * really stopped and started (skipped, visibly, where no PostgreSQL binaries are installed).
 * In every case: a typed error, no hang, no crash from idle connections, and recovery.
 */
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresBackend, type PostgresStore } from '../src/backends/postgres.js';
import type { Cache } from '../src/core/cache.js';
import type { Logger } from '../src/core/logger.js';
import { createCache } from '../src/core/registry.js';
import { startCluster, type Cluster } from './fixtures/postgres-cluster.js';
import {
  adminPool,
  backend,
  dropTables,
  pg,
  POSTGRES_URL,
  probePostgres,
} from './fixtures/postgres-helpers.js';
import { PostgresProxy } from './fixtures/postgres-proxy.js';
import { describeWithService, servicesRequired } from './support/services.js';

const TABLE = 'skycache_test_outage';
const OPERATION_TIMEOUT_MS = 300;
/** Room for a loaded machine's timers: the point is "no hang", not precision. */
const SLACK_MS = 700;

/** A logger that keeps what it is told. */
function recordingLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  return {
    warnings,
    warn: (_object, message) => warnings.push(message ?? ''),
    error: (_object, message) => warnings.push(message ?? ''),
    debug: () => {},
  };
}

/** The error a promise rejects with, and how long that took (ms). */
async function failure(promise: Promise<unknown>): Promise<{ error: unknown; ms: number }> {
  const started = performance.now();
  try {
    await promise;
  } catch (error) {
    return { error, ms: performance.now() - started };
  }
  throw new Error('expected a rejection');
}

/** Retries `attempt` until it resolves (a reconnecting pool needs a try or two), within `ms`. */
async function eventually<T>(attempt: () => Promise<T>, ms = 5000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

function makeCache(location: string, logger: Logger = recordingLogger()): Cache {
  return createCache({
    backend,
    location,
    logger,
    operationTimeout: `${OPERATION_TIMEOUT_MS}ms`,
    // The breaker would fail fast after a few failures; these tests watch the store itself.
    circuitBreaker: false,
    options: { table: TABLE },
  });
}

const unavailable = await probePostgres();

describeWithService('PostgreSQL', unavailable, 'postgres backend outages', () => {
  const admin = adminPool();
  afterAll(async () => {
    await dropTables(admin, TABLE);
    await admin.end();
  });

  it('nothing listening: BackendError at once, and the password is never printed', async () => {
    const cache = makeCache('postgres://app:s3cret-pw@127.0.0.1:1/test');
    const { error, ms } = await failure(cache.get('k'));
    expect(error).toMatchObject({ code: 'ERR_CACHE_BACKEND' });
    expect(ms).toBeLessThan(OPERATION_TIMEOUT_MS + SLACK_MS);
    const printed = `${String(error)}\n${inspect(error, { depth: 10 })}`;
    expect(printed).toMatch(/ECONNREFUSED|reachable/);
    expect(printed).not.toContain('s3cret-pw');
    await cache.close();
  });

  it("a statement stuck behind another session's lock is cancelled after statementTimeout", async () => {
    const cache = createCache({
      backend,
      location: POSTGRES_URL,
      logger: recordingLogger(),
      operationTimeout: '3s',
      circuitBreaker: false,
      options: { table: TABLE, statementTimeout: '300ms' },
    });
    await cache.set('locked', 1, 60);
    const holder = await admin.connect();
    try {
      await holder.query('BEGIN');
      await holder.query(`SELECT 1 FROM "${TABLE}" WHERE key = ':1:locked' FOR UPDATE`);
      const { error, ms } = await failure(cache.incr('locked'));
      expect(error).toMatchObject({
        code: 'ERR_CACHE_BACKEND',
        message: expect.stringMatching(/statementTimeout/),
      });
      expect(ms).toBeGreaterThanOrEqual(280);
      expect(ms).toBeLessThan(2000);
    } finally {
      await holder.query('ROLLBACK');
      holder.release();
    }
    expect(await cache.incr('locked')).toBe(2);
    await cache.close();
  });

  it("clear() waits for a busy table's lock only briefly, and the cache works on", async () => {
    const cache = createCache({
      backend,
      location: POSTGRES_URL,
      logger: recordingLogger(),
      operationTimeout: '1s',
      circuitBreaker: false,
      options: { table: TABLE, poolSize: 1 },
    });
    await cache.set('kept', 1, 60);
    const reader = await admin.connect();
    try {
      await reader.query('BEGIN');
      await reader.query(`SELECT count(*) FROM "${TABLE}"`);
      const { error, ms } = await failure(cache.clear());
      expect(error).toMatchObject({
        code: 'ERR_CACHE_BACKEND',
        message: expect.stringMatching(/lock/),
      });
      expect(ms).toBeLessThan(1000 + SLACK_MS);
    } finally {
      await reader.query('ROLLBACK');
      reader.release();
    }
    expect(await cache.get('kept')).toBe(1);
    await cache.clear();
    expect(await cache.get('kept')).toBeUndefined();
    await cache.close();
  });

  it('a borrowed pool with no free connection: BackendError after connectTimeout, then recovery', async () => {
    const pool = new pg.Pool({ connectionString: POSTGRES_URL, max: 1 });
    pool.on('error', () => {});
    const cache = createCache({
      backend,
      logger: recordingLogger(),
      operationTimeout: '3s',
      circuitBreaker: false,
      options: { table: TABLE, pool, connectTimeout: '300ms' },
    });
    await cache.set('borrowed', 1, 60);
    const busy = await pool.connect();
    const { error, ms } = await failure(cache.get('borrowed'));
    expect(error).toMatchObject({
      code: 'ERR_CACHE_BACKEND',
      message: expect.stringMatching(/no connection within 300 ms/),
    });
    expect(ms).toBeGreaterThanOrEqual(280);
    expect(ms).toBeLessThan(2000);
    busy.release();
    expect(await cache.get('borrowed')).toBe(1);
    await cache.close();
    expect(pool.totalCount).toBe(1);
    await pool.end();
  });

  describe('through a proxy', () => {
    let proxy: PostgresProxy;
    beforeAll(async () => {
      proxy = await PostgresProxy.open(POSTGRES_URL);
    });
    afterAll(() => proxy.stop());

    it('server gone: typed errors without hanging, idle connections dropped quietly; back: works again', async () => {
      const logger = recordingLogger();
      const cache = makeCache(proxy.url(POSTGRES_URL), logger);
      await cache.set('k', 'before', 60);
      // Several connections in the pool, idle when the server goes.
      await Promise.all(Array.from({ length: 5 }, (_, i) => cache.set(`k${i}`, i, 60)));

      await proxy.stop();
      for (const operation of [
        () => cache.get('k'),
        () => cache.set('k', 'during'),
        () => cache.incr('k0'),
      ]) {
        const { error, ms } = await failure(operation());
        expect(error).toMatchObject({ code: 'ERR_CACHE_BACKEND' });
        expect(ms).toBeLessThan(OPERATION_TIMEOUT_MS + SLACK_MS);
      }
      // The idle connections' failure was reported, not thrown at the process.
      await expect.poll(() => logger.warnings.length, { timeout: 5000 }).toBeGreaterThan(0);

      await proxy.start();
      expect(await eventually(() => cache.get('k'))).toBe('before');
      await cache.set('k', 'after', 60);
      expect(await cache.get('k')).toBe('after');
      await cache.close();
    });

    it('server frozen: BackendError within operationTimeout; thawed: works again', async () => {
      const cache = makeCache(proxy.url(POSTGRES_URL));
      await cache.set('frozen', 1, 60);
      proxy.freeze();
      try {
        for (const operation of [() => cache.get('frozen'), () => cache.incr('frozen')]) {
          const { error, ms } = await failure(operation());
          expect(error).toMatchObject({ code: 'ERR_CACHE_BACKEND' });
          expect(ms).toBeGreaterThanOrEqual(OPERATION_TIMEOUT_MS - 20);
          expect(ms).toBeLessThan(OPERATION_TIMEOUT_MS + SLACK_MS);
        }
      } finally {
        proxy.thaw();
      }
      // An incr that timed out may still have been applied once the server resumed (the one case
      // no client can rule out); either way the entry is there and the cache answers again.
      expect([1, 2]).toContain(await eventually(() => cache.get('frozen')));
      await cache.close();
    });

    it('a server that accepts but never answers: the store gives up after connectTimeout', async () => {
      proxy.freeze();
      const store = postgresBackend.factory({
        alias: 'frozen',
        location: proxy.url(POSTGRES_URL),
        options: { table: TABLE, connectTimeout: '400ms' },
        now: Date.now,
        logger: recordingLogger(),
        operationTimeoutMs: OPERATION_TIMEOUT_MS,
      }) as PostgresStore;
      try {
        const { error, ms } = await failure(store.createTable());
        expect(error).toMatchObject({ code: 'ERR_CACHE_BACKEND' });
        expect((error as Error).message).toMatch(/connect|reachable/);
        expect(ms).toBeGreaterThanOrEqual(380);
        expect(ms).toBeLessThan(1500);
      } finally {
        proxy.thaw();
        await store.close();
      }
    });
  });

  describe('a server of our own, stopped and started', () => {
    let cluster: Cluster | undefined;
    let why = '';
    beforeAll(async () => {
      const started = await startCluster();
      if (typeof started === 'string') why = started;
      else cluster = started;
    }, 30_000);
    afterAll(() => cluster?.destroy());

    it('stop → BackendError, start → works; a crash empties the UNLOGGED table, nothing worse', async (context) => {
      if (!cluster) {
        // A throwaway server needs initdb and a free port; where it cannot start the test is
        // skipped on a laptop, and fails in CI (SKYCACHE_REQUIRE_SERVICES=1).
        if (servicesRequired)
          throw new Error(`the throwaway PostgreSQL cluster did not start: ${why}`);
        console.warn(`[skycache tests] skipping the throwaway-cluster outage test: ${why}`);
        // Skipped: no throwaway cluster on this machine (see above); never in CI.
        context.skip();
        return;
      }
      const cache = makeCache(cluster.url);
      await cache.set('k', 'kept', 60);

      await cluster.stop('fast');
      const { error, ms } = await failure(cache.get('k'));
      expect(error).toMatchObject({ code: 'ERR_CACHE_BACKEND' });
      expect(ms).toBeLessThan(OPERATION_TIMEOUT_MS + SLACK_MS);

      await cluster.start();
      // A clean shutdown keeps UNLOGGED rows.
      expect(await eventually(() => cache.get('k'))).toBe('kept');

      await cluster.stop('immediate');
      await cluster.start();
      // After a crash PostgreSQL empties UNLOGGED tables: a cache miss, not an error.
      expect(await eventually(() => cache.get('k'))).toBeUndefined();
      await cache.set('k', 'again', 60);
      expect(await cache.get('k')).toBe('again');
      await cache.close();
    }, 30_000);
  });
});
