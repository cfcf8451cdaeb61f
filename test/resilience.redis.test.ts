/**
 * Resilience on the Redis backend (issue 6): locked `getOrSet` and `runOnce` across real processes,
 * lock safety on the real store (the Lua compare-and-delete / compare-and-renew), `getOrSet` under
 * load through a killed and a paused server (private throwaway `redis-server` processes), and
 * `incrVersion`'s atomic move. The shared server's database 9 is this file's.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { RedisStore } from '../src/backends/redis/store.js';
import type { Cache } from '../src/core/cache.js';
import { KeyNotFoundError, LockTimeoutError } from '../src/core/errors.js';
import { silentLogger } from '../src/core/logger.js';
import { crossProcessTests } from './fixtures/resilience-processes.js';
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
import {
  freePorts,
  makeRedisCache,
  probeRedis,
  rawClient,
  redisUrl,
  startRedisServer,
  type RedisServer,
} from './fixtures/redis-servers.js';
import { describeWithService, probeService } from './support/services.js';

const LOCATION = redisUrl(9);
const BREAKER_OPEN = /circuit breaker is open/;

const dirs = new TempDirs();
const watch = new RejectionWatch();
const opened: Cache[] = [];
const servers: RedisServer[] = [];

beforeEach(() => watch.install());
afterEach(async () => {
  await sleep(5);
  watch.uninstall();
  for (const cache of opened.splice(0)) {
    await cache.clear().catch(() => {});
    await cache.close();
  }
  dirs.cleanUp();
  expect(watch.seen).toEqual([]);
});
afterAll(async () => {
  await Promise.all(servers.splice(0).map((server) => server.dispose()));
});

/** A key prefix no other test (or earlier run) used. */
function freshPrefix(): string {
  return `res${randomBytes(4).toString('hex')}`;
}

/** A cache on database 9 under `keyPrefix`, closed (and its entries cleared) after the test. */
function cacheOn(keyPrefix: string): Cache {
  const cache = makeRedisCache({ location: LOCATION, keyPrefix });
  opened.push(cache);
  return cache;
}

describeWithService('Redis', await probeRedis(LOCATION), 'resilience on redis', () => {
  describe('across processes', () => {
    crossProcessTests(() => {
      const keyPrefix = freshPrefix();
      return {
        spec: JSON.stringify({
          backend: 'redis',
          location: LOCATION,
          keyPrefix,
          // Four processes on a busy CI machine: the point here is coordination, not timeouts.
          // Not longer: a worker lingers up to this long after closing its cache before exiting.
          operationTimeout: '2s',
        }),
        cache: cacheOn(keyPrefix),
      };
    }, dirs);
  });

  describe('lock safety on the real store', () => {
    it('a lock that expired and was re-acquired: the first holder cannot release or extend it', async () => {
      const deleteIfValue = vi.spyOn(RedisStore.prototype, 'deleteIfValue');
      const touchIfValue = vi.spyOn(RedisStore.prototype, 'touchIfValue');
      const raw = await rawClient(LOCATION);
      try {
        const prefix = freshPrefix();
        const a = cacheOn(prefix);
        const b = cacheOn(prefix);

        // release(): A's lock expires in Redis (PX), B takes it, A's release leaves it alone.
        const first = await a.lock('job', { ttl: '200ms', wait: 0 });
        await sleep(300);
        const second = await b.lock('job', { ttl: 10, wait: 0 });
        expect(await first.release()).toBe(false);
        expect(deleteIfValue).toHaveBeenCalledTimes(1);
        expect(await raw.pTTL(`${prefix}:1:job`)).toBeGreaterThan(9000);
        expect(await rejection(a.lock('job', { wait: 0 }))).toBeInstanceOf(LockTimeoutError);

        // extend(): the same story; A's extend neither renews nor shortens B's lock.
        const third = await a.lock('task', { ttl: '200ms', wait: 0 });
        await sleep(300);
        const fourth = await b.lock('task', { ttl: 10, wait: 0 });
        expect(await third.extend(2)).toBe(false);
        expect(touchIfValue).toHaveBeenCalledTimes(1);
        const left = await raw.pTTL(`${prefix}:1:task`);
        expect(left).toBeGreaterThan(9000);
        expect(left).toBeLessThanOrEqual(10_000);
        expect(await third.release()).toBe(false);
        expect(await rejection(a.lock('task', { wait: 0 }))).toBeInstanceOf(LockTimeoutError);

        // The rightful holders still own their locks, and can renew them.
        await sleep(50);
        const before = await raw.pTTL(`${prefix}:1:task`);
        expect(await fourth.extend()).toBe(true);
        expect(await raw.pTTL(`${prefix}:1:task`)).toBeGreaterThan(before);
        expect(await fourth.release()).toBe(true);
        expect(await second.release()).toBe(true);
        expect(await raw.exists([`${prefix}:1:job`, `${prefix}:1:task`])).toBe(0);
        const again = await a.lock('job', { wait: 0 });
        expect(await again.release()).toBe(true);
      } finally {
        deleteIfValue.mockRestore();
        touchIfValue.mockRestore();
        raw.destroy();
      }
    });
  });

  describe('incrVersion (the store moves the entry atomically)', () => {
    it('moves the value and its remaining TTL; a missing key is KeyNotFoundError', async () => {
      const cache = cacheOn(freshPrefix());
      await cache.set('k', { v: 1 }, 60);
      await sleep(300);
      expect(await cache.incrVersion('k')).toBe(2);
      expect(await cache.get('k')).toBeUndefined();
      expect(await cache.get('k', { version: 2 })).toEqual({ v: 1 });
      const ttl = await cache.ttl('k', { version: 2 });
      expect(ttl).toBeGreaterThan(55);
      expect(ttl).toBeLessThan(59.8); // the remaining TTL, not a fresh 60 s
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
      const raw = await rawClient(LOCATION);
      const MOVES = 60;
      const made = Array.from({ length: MOVES + 1 }, (_, i) => `${prefix}:${i + 1}:k`);
      await cache.set('k', 'v', 60);
      let moving = true;
      const seen: number[] = [];
      // MGET reads every version in one atomic step: exactly one of them holds the entry.
      const reader = (async () => {
        while (moving) {
          const values = await raw.mGet(made);
          seen.push(values.filter((value) => value !== null).length);
        }
      })();
      try {
        for (let version = 1; version <= MOVES; version++) {
          expect(await cache.incrVersion('k', 1, { version })).toBe(version + 1);
        }
      } finally {
        moving = false;
        await reader.finally(() => raw.destroy());
      }
      expect(seen.length).toBeGreaterThan(5);
      expect(seen.filter((count) => count !== 1)).toEqual([]);
      expect(await cache.get('k', { version: MOVES + 1 })).toBe('v');
    });
  });
});

/** Whether a private `redis-server` can be started here (the outage tests stop their own). */
const serverUnavailable = await probeService(async () => {
  await (await startRedisServer()).dispose();
}, 10_000);

describeWithService('redis-server', serverUnavailable, 'redis outage under load', () => {
  const OPERATION_TIMEOUT_MS = 200;
  const LOADER_MS = 20;
  /** Room for a loaded CI machine's timers. */
  const SLACK_MS = 250;

  function outageCache(server: RedisServer) {
    const logger = recordingLogger();
    const cache = makeRedisCache({
      location: `${server.url}/0`,
      keyPrefix: 'load',
      logger,
      operationTimeout: `${OPERATION_TIMEOUT_MS}ms`,
      circuitBreaker: { failures: 5, openFor: '1s' },
      options: { reconnectMaxDelay: '200ms' },
    });
    opened.push(cache);
    return { cache, logger };
  }

  it('the circuit breaker is on by default: { failures: 5, openFor: 5s }', async () => {
    const [port] = await freePorts(1);
    const clock = liveClock();
    const cache = cacheWithClock(
      {
        backend: 'redis',
        location: `redis://127.0.0.1:${port}/0`,
        logger: silentLogger,
        operationTimeout: `${OPERATION_TIMEOUT_MS}ms`,
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

  it('server killed during a loop of getOrSet, then restarted: the same cache recovers', async () => {
    const server = await startRedisServer();
    servers.push(server);
    const { cache, logger } = outageCache(server);
    const run = await getOrSetThroughOutage(cache, {
      down: () => server.kill(),
      up: () => server.start(),
      downForMs: 2000,
      loaderMs: LOADER_MS,
    });
    expectOutageBehaviour(run, logger, {
      operationTimeoutMs: OPERATION_TIMEOUT_MS,
      loaderMs: LOADER_MS,
      slackMs: SLACK_MS,
    });
    // Loaded values are stored again.
    expect(await cache.getOrSet('after', () => 'stored')).toBe('stored');
    expect(await cache.get('after')).toBe('stored');
  });

  it('server paused (CLIENT PAUSE) during a loop of getOrSet: answers within the bound, then recovers', async () => {
    const server = await startRedisServer();
    servers.push(server);
    const { cache, logger } = outageCache(server);
    const admin = await rawClient(server.url);
    try {
      const run = await getOrSetThroughOutage(cache, {
        down: async () => {
          await admin.sendCommand(['CLIENT', 'PAUSE', '2100', 'ALL']);
        },
        // The pause ends by itself.
        up: () => sleep(100),
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
      admin.destroy();
    }
  });
});
