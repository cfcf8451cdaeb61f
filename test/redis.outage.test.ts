/**
 * Outages, on private `redis-server` processes (stopping or pausing the shared server would
 * disturb the other test files): a dead, stopped or paused Redis gives `BackendError` within the
 * operation timeout, never a hang, and the same cache object recovers by itself when Redis is back.
 * Also: a client passed in by the application is used, never closed, and collects no listeners.
 */
import { createClient } from '@redis/client';
import { afterAll, afterEach, expect, it } from 'vitest';
import type { Cache } from '../src/core/cache.js';
import type { Logger } from '../src/core/logger.js';
import { caches, closeCaches, initCaches } from '../src/core/registry.js';
import { redisBackend } from '../src/backends/redis.js';
import {
  freePorts,
  makeRedisCache,
  probeRedis,
  rawClient,
  redisRegistered,
  redisUrl,
  startRedisServer,
  type RedisServer,
} from './fixtures/redis-servers.js';
import { describeWithService, probeService } from './support/services.js';

const TIMEOUT_MS = 200;
/** Slack for timers and a loaded machine. */
const SLACK_MS = 250;

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
process.on('unhandledRejection', onUnhandled);

const servers: RedisServer[] = [];
const opened: Cache[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((cache) => cache.close()));
});
afterAll(async () => {
  await Promise.all(servers.map((server) => server.dispose()));
  process.off('unhandledRejection', onUnhandled);
  expect(unhandled).toEqual([]);
});

const unavailable =
  (await probeService(async () => {
    servers.push(await startRedisServer());
  }, 10_000)) ?? (await probeRedis());

/**
 * A cache on `url` with a short operation timeout and a quick reconnect. The circuit breaker (on
 * by default for redis) is off: these tests are about the backend's own behaviour, every call
 * reaching it.
 */
function outageCache(url: string, logger?: Logger): Cache {
  const cache = makeRedisCache({
    location: `${url}/0`,
    keyPrefix: 'outage',
    operationTimeout: `${TIMEOUT_MS}ms`,
    circuitBreaker: false,
    options: { reconnectMaxDelay: '200ms' },
    ...(logger ? { logger } : {}),
  });
  opened.push(cache);
  return cache;
}

/** Milliseconds `promise` took to settle, and its rejection (if any). */
async function timed(promise: Promise<unknown>): Promise<{ ms: number; error?: unknown }> {
  const start = performance.now();
  try {
    await promise;
    return { ms: performance.now() - start };
  } catch (error) {
    return { ms: performance.now() - start, error };
  }
}

/** Retries `attempt` until it succeeds (the cache reconnecting by itself), within `withinMs`. */
async function eventually<T>(attempt: () => Promise<T>, withinMs = 5000): Promise<T> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

const backendError = expect.objectContaining({ code: 'ERR_CACHE_BACKEND' });

describeWithService('redis-server', unavailable, 'redis backend outages', () => {
  it('a Redis that is not there: BackendError within the timeout, then at once; connects when it starts', async () => {
    const [port] = await freePorts(1);
    const cache = outageCache(`redis://127.0.0.1:${port}`);
    const first = await timed(cache.get('k'));
    expect(first.error).toEqual(backendError);
    expect(first.ms).toBeLessThan(TIMEOUT_MS + SLACK_MS);
    // The outage is known now: no more waiting out the timeout.
    const next = await timed(cache.set('k', 1));
    expect(next.error).toEqual(backendError);
    expect(next.ms).toBeLessThan(50);

    const server = await startRedisServer({ port });
    servers.push(server);
    await eventually(() => cache.set('k', 1));
    expect(await cache.get('k')).toBe(1);
  });

  it('a killed server: every operation fails within the timeout; the same cache recovers', async () => {
    const server = await startRedisServer();
    servers.push(server);
    const warnings: string[] = [];
    const logger: Logger = {
      warn: (_, message) => warnings.push(message ?? ''),
      error: () => {},
      debug: () => {},
    };
    const cache = outageCache(server.url, logger);
    await cache.set('k', 'before');
    expect(await cache.get('k')).toBe('before');

    await server.kill();
    const outcomes = await timed(
      Promise.allSettled([
        ...Array.from({ length: 10 }, (_, i) => cache.get(`k${i}`)),
        ...Array.from({ length: 10 }, (_, i) => cache.set(`k${i}`, i)),
        cache.incr('n'),
        cache.getMany(['a', 'b']),
        cache.setMany({ a: 1, b: 2 }),
        cache.deletePattern('*'),
      ]).then((results) => {
        for (const result of results) {
          expect(result.status).toBe('rejected');
          expect((result as PromiseRejectedResult).reason).toEqual(backendError);
        }
      }),
    );
    expect(outcomes.error).toBeUndefined();
    expect(outcomes.ms).toBeLessThan(TIMEOUT_MS + SLACK_MS);
    // getOrSet still answers with the loader's value during the outage.
    expect(await cache.getOrSet('g', () => 'loaded')).toBe('loaded');

    await server.start();
    await eventually(() => cache.set('k', 'after'));
    expect(await cache.get('k')).toBe('after');
    // One warning for the outage and one for the recovery, not one per reconnect attempt.
    expect(warnings.filter((w) => w.includes('connection problem'))).toHaveLength(1);
    expect(warnings.filter((w) => w.includes('restored'))).toHaveLength(1);
  });

  it('a paused server (CLIENT PAUSE): BackendError within the timeout, then works again', async () => {
    const server = await startRedisServer();
    servers.push(server);
    const cache = outageCache(server.url);
    await cache.set('k', 'v');
    const admin = await rawClient(server.url);
    try {
      await admin.sendCommand(['CLIENT', 'PAUSE', '1500', 'ALL']);
      const read = await timed(cache.get('k'));
      expect(read.error).toEqual(backendError);
      // The store's own deadline or the Cache's (both are the operation timeout).
      expect((read.error as Error).message).toContain(`${TIMEOUT_MS} ms`);
      expect(read.ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 20);
      expect(read.ms).toBeLessThan(TIMEOUT_MS + SLACK_MS);
      const write = await timed(cache.set('other', 1));
      expect(write.error).toEqual(backendError);
      expect(write.ms).toBeLessThan(TIMEOUT_MS + SLACK_MS);
      // Commands sent at different moments each get their own full timeout.
      const staggered = await Promise.all(
        [0, 40, 80, 120].map(async (delay) => {
          await new Promise((resolve) => setTimeout(resolve, delay));
          return timed(cache.get('k'));
        }),
      );
      for (const outcome of staggered) {
        expect(outcome.error).toEqual(backendError);
        expect(outcome.ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 20);
        expect(outcome.ms).toBeLessThan(TIMEOUT_MS + SLACK_MS);
      }
      // Once the pause ends, the late replies are dropped and new commands are answered.
      expect(await eventually(() => cache.get('k'))).toBe('v');
    } finally {
      admin.destroy();
    }
  });

  it('close() during an outage does not hang', async () => {
    const server = await startRedisServer();
    servers.push(server);
    const cache = outageCache(server.url);
    await cache.set('k', 1);
    await server.kill();
    const closing = await timed(cache.close());
    expect(closing.error).toBeUndefined();
    expect(closing.ms).toBeLessThan(TIMEOUT_MS + SLACK_MS);
  });
});

describeWithService('Redis', await probeRedis(), 'redis backend clients', () => {
  const url = redisUrl(14);

  it('a client passed in is used as is, never closed, and keeps no listeners', async () => {
    const client = createClient({ url });
    client.on('error', () => {});
    await client.connect();
    const events = ['error', 'ready', 'end', 'reconnecting'];
    const baseline = events.map((event) => client.listenerCount(event));
    try {
      for (let round = 0; round < 5; round++) {
        const a = makeRedisCache({ keyPrefix: 'given', options: { client } });
        const b = makeRedisCache({ keyPrefix: 'given', options: { client } });
        await a.set('k', round);
        expect(await b.get('k')).toBe(round);
        expect(a.connection()).toBe(client);
        await a.close();
        await b.close();
        expect(events.map((event) => client.listenerCount(event))).toEqual(baseline);
        expect(client.isOpen).toBe(true);
      }
      expect(await client.get('given:1:k')).toBe('4');
    } finally {
      await client.del('given:1:k');
      client.destroy();
    }
  });

  it('caches.connection() returns a usable client before any cache operation', async () => {
    initCaches({
      default: {
        backend: redisRegistered ? 'redis' : redisBackend.factory,
        location: url,
        operationTimeout: '2s',
      },
    });
    try {
      const client = caches.connection() as ReturnType<typeof createClient>;
      expect(await client.ping()).toBe('PONG');
      await caches.get().set('via-cache', 1);
      expect(await client.get(':1:via-cache')).toBe('1');
      await client.del(':1:via-cache');
    } finally {
      await closeCaches();
    }
  });

  it('caches on one location share one client; closing one leaves the other working', async () => {
    const a = makeRedisCache({ location: url, keyPrefix: 'share-a' });
    const b = makeRedisCache({ location: url, keyPrefix: 'share-b' });
    expect(a.connection()).toBe(b.connection());
    await a.set('k', 1);
    await a.close();
    await b.set('k', 2);
    expect(await b.get('k')).toBe(2);
    await b.clear();
    await b.close();
  });
});
