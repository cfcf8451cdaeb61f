/**
 * Resilience on the PostgreSQL backend (issue 6): locked `getOrSet` and `runOnce` across real
 * processes, lock safety on the real store (compare-and-delete / compare-and-renew in one SQL
 * statement each), `getOrSet` under load through a proxy that drops or freezes every connection,
 * and `incrVersion`'s atomic move. The tables are this file's own.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { PostgresStore } from '../src/backends/postgres/store.js';
import type { Cache } from '../src/core/cache.js';
import { KeyNotFoundError, LockTimeoutError } from '../src/core/errors.js';
import { silentLogger } from '../src/core/logger.js';
import { createCache } from '../src/core/registry.js';
import {
  adminPool,
  backend,
  dropTables,
  POSTGRES_URL,
  probePostgres,
} from './fixtures/postgres-helpers.js';
import { PostgresProxy } from './fixtures/postgres-proxy.js';
import {
  cacheWithClock,
  liveClock,
  recordingLogger,
  rejection,
  RejectionWatch,
  sleep,
  TempDirs,
} from './fixtures/resilience-helpers.js';
import { expectOutageBehaviour, getOrSetThroughOutage } from './fixtures/resilience-load.js';
import { crossProcessTests } from './fixtures/resilience-processes.js';
import { describeWithService } from './support/services.js';

const TABLE = 'skycache_test_resilience';
const LOAD_TABLE = 'skycache_test_resilience_load';
const BREAKER_OPEN = /circuit breaker is open/;

const dirs = new TempDirs();
const watch = new RejectionWatch();
const opened: Cache[] = [];

beforeEach(() => watch.install());
afterEach(async () => {
  await sleep(5);
  watch.uninstall();
  for (const cache of opened.splice(0)) await cache.close();
  dirs.cleanUp();
  expect(watch.seen).toEqual([]);
});

/** A key prefix no other test (or earlier run) used. */
function freshPrefix(): string {
  return `res${randomBytes(4).toString('hex')}`;
}

/** A cache on this file's table under `keyPrefix`, closed after the test. */
function cacheOn(keyPrefix: string): Cache {
  const cache = createCache({
    backend,
    location: POSTGRES_URL,
    keyPrefix,
    logger: silentLogger,
    // A CI machine running every test file at once can stall longer than the 250 ms default.
    operationTimeout: '2s',
    options: { table: TABLE },
  });
  opened.push(cache);
  return cache;
}

describeWithService('PostgreSQL', await probePostgres(), 'resilience on postgres', () => {
  const admin = adminPool();
  afterAll(async () => {
    await dropTables(admin, TABLE, LOAD_TABLE);
    await admin.end();
  });

  /** The stored `expires_at` (epoch ms) of a made key, `undefined` if there is no row. */
  async function expiresAt(made: string): Promise<number | null | undefined> {
    const { rows } = await admin.query<{ expires_at: string | null }>(
      `SELECT expires_at FROM "${TABLE}" WHERE key = $1`,
      [made],
    );
    const row = rows[0];
    if (row === undefined) return undefined;
    return row.expires_at === null ? null : Number(row.expires_at);
  }

  describe('across processes', () => {
    crossProcessTests(() => {
      const keyPrefix = freshPrefix();
      return {
        spec: JSON.stringify({
          backend: 'postgres',
          location: POSTGRES_URL,
          keyPrefix,
          // Four processes on a busy CI machine: the point here is coordination, not timeouts.
          operationTimeout: '5s',
          options: { table: TABLE },
        }),
        cache: cacheOn(keyPrefix),
      };
    }, dirs);
  });

  describe('lock safety on the real store', () => {
    it('a lock that expired and was re-acquired: the first holder cannot release or extend it', async () => {
      const deleteIfValue = vi.spyOn(PostgresStore.prototype, 'deleteIfValue');
      const touchIfValue = vi.spyOn(PostgresStore.prototype, 'touchIfValue');
      try {
        const prefix = freshPrefix();
        const a = cacheOn(prefix);
        const b = cacheOn(prefix);

        // An expired lock nobody took: no longer ours either.
        const lapsed = await a.lock('idle', { ttl: '200ms', wait: 0 });
        await sleep(300);
        expect(await lapsed.release()).toBe(false);

        // release(): A's row expires, B's add replaces it, A's release leaves B's lock alone.
        const first = await a.lock('job', { ttl: '200ms', wait: 0 });
        await sleep(300);
        const second = await b.lock('job', { ttl: 10, wait: 0 });
        const secondUntil = await expiresAt(`${prefix}:1:job`);
        expect(await first.release()).toBe(false);
        expect(deleteIfValue).toHaveBeenCalledTimes(2);
        expect(await expiresAt(`${prefix}:1:job`)).toBe(secondUntil);
        expect(await rejection(a.lock('job', { wait: 0 }))).toBeInstanceOf(LockTimeoutError);

        // extend(): the same story; A's extend neither renews nor shortens B's lock.
        const third = await a.lock('task', { ttl: '200ms', wait: 0 });
        await sleep(300);
        const fourth = await b.lock('task', { ttl: 10, wait: 0 });
        const fourthUntil = await expiresAt(`${prefix}:1:task`);
        expect(await third.extend(2)).toBe(false);
        expect(touchIfValue).toHaveBeenCalledTimes(1);
        expect(await expiresAt(`${prefix}:1:task`)).toBe(fourthUntil);
        expect(await third.release()).toBe(false);
        expect(await rejection(a.lock('task', { wait: 0 }))).toBeInstanceOf(LockTimeoutError);

        // The rightful holders still own their locks, and can renew them.
        await sleep(20);
        expect(await fourth.extend()).toBe(true);
        expect(await expiresAt(`${prefix}:1:task`)).toBeGreaterThan(fourthUntil!);
        expect(await fourth.release()).toBe(true);
        expect(await second.release()).toBe(true);
        expect(await expiresAt(`${prefix}:1:job`)).toBeUndefined();
        expect(await expiresAt(`${prefix}:1:task`)).toBeUndefined();
        const again = await a.lock('job', { wait: 0 });
        expect(await again.release()).toBe(true);
      } finally {
        deleteIfValue.mockRestore();
        touchIfValue.mockRestore();
      }
    });
  });

  describe('incrVersion (the store moves the entry atomically)', () => {
    it('moves the value and its remaining TTL; a missing key is KeyNotFoundError', async () => {
      const prefix = freshPrefix();
      const cache = cacheOn(prefix);
      await cache.set('k', { v: 1 }, 60);
      const until = await expiresAt(`${prefix}:1:k`);
      await sleep(50);
      expect(await cache.incrVersion('k')).toBe(2);
      expect(await cache.get('k')).toBeUndefined();
      expect(await expiresAt(`${prefix}:1:k`)).toBeUndefined();
      expect(await cache.get('k', { version: 2 })).toEqual({ v: 1 });
      // The same expiry moved along: the remaining TTL, not a fresh 60 s.
      expect(await expiresAt(`${prefix}:2:k`)).toBe(until);
      expect(await cache.ttl('k', { version: 2 })).toBeLessThanOrEqual(60);
      await cache.set('forever', 'f', null);
      expect(await cache.incrVersion('forever', 3)).toBe(4);
      expect(await cache.ttl('forever', { version: 4 })).toBeNull();
      expect(await cache.decrVersion('forever', 3, { version: 4 })).toBe(1);
      expect(await cache.get('forever')).toBe('f');

      const missing = await rejection(cache.incrVersion('missing'));
      expect(missing).toBeInstanceOf(KeyNotFoundError);
      expect(missing).toMatchObject({ code: 'ERR_CACHE_KEY_NOT_FOUND' });
      // The version it was moved away from is missing now.
      expect(await rejection(cache.incrVersion('k'))).toBeInstanceOf(KeyNotFoundError);
    });

    it('concurrent incrVersion of one entry: exactly one moves it, the others get KeyNotFoundError', async () => {
      const cache = cacheOn(freshPrefix());
      await cache.set('k', 'v', 60);
      const outcomes = await Promise.allSettled(
        Array.from({ length: 8 }, () => cache.incrVersion('k')),
      );
      const moved = outcomes.filter((outcome) => outcome.status === 'fulfilled');
      expect(moved).toEqual([{ status: 'fulfilled', value: 2 }]);
      for (const outcome of outcomes) {
        if (outcome.status === 'rejected') expect(outcome.reason).toBeInstanceOf(KeyNotFoundError);
      }
      expect(await cache.get('k', { version: 2 })).toBe('v');
      expect(await cache.get('k', { version: 3 })).toBeUndefined();
    });

    it('a reader never sees the entry in both versions or in neither while incrVersion moves it', async () => {
      const prefix = freshPrefix();
      const cache = cacheOn(prefix);
      const MOVES = 40;
      const made = Array.from({ length: MOVES + 1 }, (_, i) => `${prefix}:${i + 1}:k`);
      await cache.set('k', 'v', 60);
      let moving = true;
      const seen: number[] = [];
      // One statement reads every version from one snapshot: exactly one of them holds the entry.
      const reader = (async () => {
        while (moving) {
          const { rows } = await admin.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM "${TABLE}" WHERE key = ANY($1::text[])`,
            [made],
          );
          seen.push(rows[0]!.n);
        }
      })();
      try {
        for (let version = 1; version <= MOVES; version++) {
          expect(await cache.incrVersion('k', 1, { version })).toBe(version + 1);
        }
      } finally {
        moving = false;
        await reader;
      }
      expect(seen.length).toBeGreaterThan(5);
      expect(seen.filter((count) => count !== 1)).toEqual([]);
      expect(await cache.get('k', { version: MOVES + 1 })).toBe('v');
    });
  });

  describe('outage under load, through a proxy', () => {
    const OPERATION_TIMEOUT_MS = 300;
    const LOADER_MS = 20;
    /** Room for a loaded CI machine's timers. */
    const SLACK_MS = 250;

    async function outageCache() {
      const proxy = await PostgresProxy.open(POSTGRES_URL);
      const logger = recordingLogger();
      const cache = createCache({
        backend,
        location: proxy.url(POSTGRES_URL),
        keyPrefix: freshPrefix(),
        logger,
        operationTimeout: `${OPERATION_TIMEOUT_MS}ms`,
        circuitBreaker: { failures: 5, openFor: '1s' },
        options: { table: LOAD_TABLE },
      });
      opened.push(cache);
      // The table exists before the load starts.
      await cache.get('warm-up');
      return { proxy, cache, logger };
    }

    it('the circuit breaker is on by default: { failures: 5, openFor: 5s }', async () => {
      const clock = liveClock();
      const cache = cacheWithClock(
        {
          backend,
          location: 'postgres://postgres@127.0.0.1:1/test',
          logger: silentLogger,
          operationTimeout: `${OPERATION_TIMEOUT_MS}ms`,
          options: { table: LOAD_TABLE },
        },
        clock,
      );
      opened.push(cache);
      for (let i = 0; i < 5; i++) {
        const error = await rejection(cache.get('k'));
        expect(error).toMatchObject({ code: 'ERR_CACHE_BACKEND' });
        expect((error as Error).message).not.toMatch(BREAKER_OPEN);
      }
      expect(await rejection(cache.get('k'))).toMatchObject({ message: BREAKER_OPEN });
      clock.advance(4900);
      expect(await rejection(cache.set('k', 1))).toMatchObject({ message: BREAKER_OPEN });
      clock.advance(200);
      // Past openFor: one trial reaches the (still absent) server.
      const trial = await rejection(cache.get('k'));
      expect(trial).toMatchObject({ code: 'ERR_CACHE_BACKEND' });
      expect((trial as Error).message).not.toMatch(BREAKER_OPEN);
      expect(await rejection(cache.get('k'))).toMatchObject({ message: BREAKER_OPEN });
    });

    it('every connection dropped (server gone) during a loop of getOrSet, then back: the same cache recovers', async () => {
      const { proxy, cache, logger } = await outageCache();
      try {
        const run = await getOrSetThroughOutage(cache, {
          down: () => proxy.stop(),
          up: () => proxy.start(),
          downForMs: 2000,
          loaderMs: LOADER_MS,
        });
        expectOutageBehaviour(run, logger, {
          operationTimeoutMs: OPERATION_TIMEOUT_MS,
          loaderMs: LOADER_MS,
          slackMs: SLACK_MS,
        });
        expect(await cache.getOrSet('after', () => 'stored')).toBe('stored');
        expect(await cache.get('after')).toBe('stored');
      } finally {
        await cache.close();
        await proxy.stop();
      }
    });

    it('server frozen during a loop of getOrSet, then thawed: answers within the bound, then recovers', async () => {
      const { proxy, cache, logger } = await outageCache();
      try {
        const run = await getOrSetThroughOutage(cache, {
          down: () => Promise.resolve(proxy.freeze()),
          up: () => Promise.resolve(proxy.thaw()),
          downForMs: 2000,
          loaderMs: LOADER_MS,
        });
        expectOutageBehaviour(run, logger, {
          operationTimeoutMs: OPERATION_TIMEOUT_MS,
          loaderMs: LOADER_MS,
          slackMs: SLACK_MS,
        });
        expect(await cache.getOrSet('after', () => 'stored')).toBe('stored');
        expect(await cache.get('after')).toBe('stored');
      } finally {
        await cache.close();
        await proxy.stop();
      }
    });
  });
});
