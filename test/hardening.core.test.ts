/**
 * Issue 12, the fixes that live in the core (items 1, 3, 4, 6, 7, 8), on every backend they apply
 * to (memory, disk, real Redis, real PostgreSQL):
 * - `getOrSetSync` with a promise-returning loader is `InvalidValueError` and the promise's
 *   rejection is handled (item 1);
 * - `hardTimeout`, `softTimeout`, lock `ttl`/`wait`, `runOnce` `ttl` and `operationTimeout` beyond
 *   Node's 2^31−1 ms timer limit mean what they say, with no `TimeoutOverflowWarning` (item 4);
 * - `runOnce` names follow the key rules (item 6);
 * - input errors never reach the breaker or the error reports (item 3);
 * - a burst of failures caused by client-side queueing does not open the breaker (item 7);
 * - the logger gets at most one warning per operation per second during a burst (item 8).
 */
import { afterAll, afterEach, beforeEach, describe, expect, it, onTestFinished } from 'vitest';

import { memoryBackend as memoryDefinition } from '../src/backends/memory.js';
import { CircuitBreaker } from '../src/core/guard/breaker.js';
import { silentLogger, type Logger } from '../src/core/logger.js';
import {
  createCache,
  InvalidKeyError,
  InvalidValueError,
  SerializationError,
  type BackendContext,
  type Cache,
  type Store,
} from '../src/index.js';
import {
  allBackends,
  diskBackend,
  failureOf,
  freshPrefix,
  memoryBackend,
  postgresBackend,
  redisBackend,
  removeTempDirs,
} from './fixtures/hardening-backends.js';
import { rawClient, startRedisServer } from './fixtures/redis-servers.js';
import { describeWithService } from './support/services.js';

const opened: Cache[] = [];
const warnings: string[] = [];
const unhandled: unknown[] = [];
const onWarning = (warning: Error): void => {
  warnings.push(`${warning.name}: ${warning.message}`);
};
const onUnhandled = (reason: unknown): void => {
  unhandled.push(reason);
};

beforeEach(() => {
  warnings.length = 0;
  unhandled.length = 0;
  process.on('warning', onWarning);
  process.on('unhandledRejection', onUnhandled);
});
afterEach(async () => {
  // Let a stray rejection surface before looking.
  await new Promise((resolve) => setTimeout(resolve, 20));
  process.off('warning', onWarning);
  process.off('unhandledRejection', onUnhandled);
  for (const cache of opened.splice(0)) {
    await cache.clear().catch(() => {});
    await cache.close();
  }
  expect(warnings).toEqual([]);
  expect(unhandled).toEqual([]);
});
afterAll(removeTempDirs);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface RecordingLogger extends Logger {
  readonly lines: Array<{ object: Record<string, unknown>; message: string | undefined }>;
}

function recordingLogger(): RecordingLogger {
  const lines: RecordingLogger['lines'] = [];
  return {
    lines,
    warn: (object, message) => lines.push({ object, message }),
    error: (object, message) => lines.push({ object, message }),
    debug: () => {},
  };
}

describe('circuit breaker rounds (item 7)', () => {
  const make = () => new CircuitBreaker({ failures: 3, openForMs: 1000 }, () => 0, 'x');

  it('failures of operations in flight together count once', () => {
    const breaker = make();
    const tickets = Array.from({ length: 1000 }, () => breaker.admit('get'));
    for (const ticket of tickets) breaker.failed(ticket);
    expect(breaker.state).toBe('closed');
  });

  it('failures of operations started one after another open it', () => {
    const breaker = make();
    for (let i = 0; i < 3; i++) breaker.failed(breaker.admit('get'));
    expect(breaker.state).toBe('open');
    expect(() => breaker.admit('get')).toThrow(/circuit breaker is open/);
  });

  it('a success between rounds resets the count', () => {
    const breaker = make();
    breaker.failed(breaker.admit('get'));
    breaker.failed(breaker.admit('get'));
    breaker.admit('get');
    breaker.succeeded();
    breaker.failed(breaker.admit('get'));
    breaker.failed(breaker.admit('get'));
    expect(breaker.state).toBe('closed');
  });
});

describe('getOrSetSync with a promise-returning loader (item 1)', () => {
  for (const backend of [memoryBackend, diskBackend]) {
    it(`is InvalidValueError on ${backend.name}, and the loader's rejection is handled`, async () => {
      const cache = backend.make();
      opened.push(cache);
      const boom = new Error('loader failed later');
      expect(() =>
        cache.getOrSetSync('k', async () => {
          throw boom;
        }),
      ).toThrow(InvalidValueError);
      expect(() =>
        cache.getOrSetSync('k2', () => Promise.reject(new Error('rejected at once'))),
      ).toThrow(InvalidValueError);
      expect(() => cache.getOrSetSync('k3', () => Promise.resolve(1))).toThrow(InvalidValueError);
      expect(cache.hasSync('k')).toBe(false);
      expect(cache.hasSync('k3')).toBe(false);
      // The rejections would surface within a few ticks if nobody handled them.
      await sleep(50);
      expect(unhandled).toEqual([]);
    });
  }
});

for (const backend of allBackends) {
  describeWithService(
    backend.name,
    await backend.unavailable(),
    `long durations and names in the core on ${backend.name}`,
    () => {
      const make = (config?: Parameters<typeof backend.make>[0]): Cache => {
        const cache = backend.make(config);
        opened.push(cache);
        return cache;
      };

      it("hardTimeout: '30d' lets a 50 ms loader finish (item 4)", async () => {
        const cache = make();
        const value = await cache.getOrSet(
          'slow',
          async () => {
            await sleep(50);
            return 'loaded';
          },
          { hardTimeout: '30d' },
        );
        expect(value).toBe('loaded');
        expect(await cache.get('slow')).toBe('loaded');
      });

      it("softTimeout: '30d' waits for the loader instead of serving the stale value (item 4)", async () => {
        const cache = make();
        await cache.getOrSet('k', () => 'old', { timeout: 0.05, staleIfError: 600 });
        await sleep(150);
        const value = await cache.getOrSet(
          'k',
          async () => {
            await sleep(50);
            return 'new';
          },
          { timeout: 60, staleIfError: 600, softTimeout: '30d' },
        );
        expect(value).toBe('new');
      });

      it("locks with ttl and wait of '30d' work and time out only when they say (item 4)", async () => {
        const cache = make();
        const first = await cache.lock('job', { ttl: '30d', wait: '30d' });
        const ttl = (await cache.ttl('job')) as number | undefined;
        // The lock entry lives under the lock's made key; when visible, it lives 30 days.
        if (typeof ttl === 'number') expect(ttl).toBeGreaterThan(29 * 86_400);
        const second = cache.lock('job', { ttl: '30d', wait: '30d' });
        await sleep(100);
        expect(await first.release()).toBe(true);
        const got = await second;
        expect(await got.release()).toBe(true);
      });

      it("runOnce with a ttl of '100d' runs its job without renewal storms or warnings (item 4)", async () => {
        const cache = make();
        let runs = 0;
        const result = await cache.runOnce(
          'migrate',
          async () => {
            runs++;
            await sleep(300);
          },
          { ttl: '100d' },
        );
        expect(result).toEqual({ ran: true });
        expect(runs).toBe(1);
        expect(await cache.runOnce('migrate', () => runs++, { ttl: '100d' })).toEqual({
          ran: false,
        });
      });

      it('runOnce names follow the key rules: InvalidKeyError, never TypeError, fn not run (item 6)', async () => {
        const cache = make();
        let runs = 0;
        const bad: unknown[] = [
          Object.create(null),
          Symbol('job'),
          {},
          123,
          null,
          undefined,
          '',
          'job\uD800',
        ];
        for (const name of bad) {
          const error = await failureOf(() => cache.runOnce(name as string, () => runs++));
          expect(error, typeof name).toBeInstanceOf(InvalidKeyError);
          expect((error as Error).message).toMatch(/runOnce name/);
        }
        expect(runs).toBe(0);
        const tooLong = await failureOf(() => cache.runOnce('n'.repeat(200_000), () => runs++));
        expect(tooLong).toBeInstanceOf(InvalidKeyError);
        expect(runs).toBe(0);
      });

      it('input errors are neither error reports nor logged (item 3)', async () => {
        const logger = recordingLogger();
        const cache = make({ logger });
        const errors: unknown[] = [];
        cache.on('error', (event) => errors.push(event));
        for (let i = 0; i < 10; i++) {
          await expect(cache.set('k', 1n)).rejects.toBeInstanceOf(SerializationError);
          await expect(cache.getOrSet('k', () => 1, 1e308)).rejects.toBeInstanceOf(
            InvalidValueError,
          );
          await expect(cache.getOrSet('k', () => 1, { hardTimeout: NaN })).rejects.toBeInstanceOf(
            InvalidValueError,
          );
          await expect(cache.getOrSet('\uDC00', () => 1)).rejects.toBeInstanceOf(InvalidKeyError);
        }
        expect(errors).toEqual([]);
        expect(logger.lines).toEqual([]);
        expect(cache.stats().errors).toBe(0);
        expect(cache.stats().circuit).toBe('closed');
      });
    },
  );
}

describeWithService(
  'postgres',
  await postgresBackend.unavailable(),
  "operationTimeout: '30d' on postgres (item 4)",
  () => {
    it('calls succeed, no TimeoutOverflowWarning', async () => {
      const cache = postgresBackend.make({ operationTimeout: '30d' });
      opened.push(cache);
      await cache.set('a', 1);
      await Promise.all(Array.from({ length: 20 }, (_, i) => cache.set(`k${i}`, i)));
      expect(await cache.get('k3')).toBe(3);
      await cache.clear();
      expect(await cache.get('k3')).toBeUndefined();
    });

    it("options connectTimeout and statementTimeout of '30d' work too", async () => {
      const cache = postgresBackend.make({
        options: { connectTimeout: '30d', statementTimeout: '30d' },
      });
      opened.push(cache);
      await cache.set('a', 1);
      expect(await cache.get('a')).toBe(1);
    });
  },
);

describe('runOnce lock renewal with a long ttl (item 4)', () => {
  it('renews about every ttl/3, never every millisecond', async () => {
    let renewals = 0;
    const counting = async (context: BackendContext): Promise<Store> => {
      const store = await memoryDefinition.factory(context);
      return new Proxy(store, {
        get(target, property) {
          const value: unknown = Reflect.get(target, property);
          if (property === 'touchIfValue' && typeof value === 'function') {
            return (...args: unknown[]) => {
              renewals++;
              return (value as (...a: unknown[]) => unknown).apply(target, args);
            };
          }
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
    };
    const cache = createCache({ backend: counting, location: freshPrefix('renew') });
    opened.push(cache);
    await cache.runOnce('job', () => sleep(300), { ttl: '100d' });
    expect(renewals).toBe(0);
    // A short ttl still renews: 0.3 s → every 100 ms.
    await cache.runOnce('short', () => sleep(350), { ttl: 0.3 });
    expect(renewals).toBeGreaterThanOrEqual(1);
    expect(renewals).toBeLessThanOrEqual(6);
  });
});

describeWithService(
  'redis',
  await redisBackend.unavailable(),
  'the breaker and the logger under bursts on redis (items 7, 8)',
  () => {
    it('1,000 concurrent cold getOrSet calls that time out together (a stalled server) do not open the breaker', async () => {
      // A server of its own: pausing the shared one would stall the other test files.
      const server = await startRedisServer();
      const admin = await rawClient(server.url);
      const cache = createCache({
        backend: 'redis',
        location: server.url,
        logger: silentLogger,
        operationTimeout: '250ms',
      });
      opened.push(cache);
      onTestFinished(async () => {
        await admin.close().catch(() => {});
        await server.dispose();
      });
      await cache.set('warm', 1);
      const errors: unknown[] = [];
      cache.on('error', (event) => errors.push(event));
      // The server stalls (a long command, a fork, a paused VM) just as the burst is sent: every
      // read's deadline passes before it answers, so all of them fail at about the same moment.
      // Long enough that a loaded machine still sends the burst inside the pause.
      const pauseMs = 1500;
      const pausedUntil = performance.now() + pauseMs;
      await admin.sendCommand(['CLIENT', 'PAUSE', String(pauseMs), 'ALL']);
      const calls = Array.from({ length: 1000 }, (_, i) => cache.getOrSet(`cold${i}`, () => i, 60));
      const values = await Promise.all(calls);
      expect(values[999]).toBe(999);
      // The burst really failed (the reads timed out), and each failure was reported.
      expect(errors.length).toBeGreaterThanOrEqual(5);
      expect(cache.stats().circuit).toBe('closed');
      // The next plain get is served, not failed fast. (The burst's 1,000 writes are queued in
      // front of it on a loaded machine; a get that times out behind them is retried, but one
      // refused by an open breaker is not.) First the pause ends.
      await sleep(Math.max(0, pausedUntil - performance.now()) + 100);
      let warm: unknown;
      for (let attempt = 0; attempt < 5 && warm === undefined; attempt++) {
        warm = await cache.get('warm').catch((error: Error) => {
          expect(error.message).not.toMatch(/circuit breaker is open/);
          return undefined;
        });
      }
      expect(warm).toBe(1);
      expect(cache.stats().circuit).toBe('closed');
    });

    it('rounds of 1,000 concurrent cold getOrSet calls with the default settings leave the breaker closed', async () => {
      const cache = redisBackend.make({ operationTimeout: '250ms' });
      opened.push(cache);
      for (let round = 0; round < 10; round++) {
        const values = await Promise.all(
          Array.from({ length: 1000 }, (_, i) => cache.getOrSet(`r${round}:${i}`, () => i, 60)),
        );
        expect(values[500]).toBe(500);
        expect(cache.stats().circuit).toBe('closed');
      }
    });

    it('during an outage the logger gets about one line per operation per second, events get every failure', async () => {
      const logger = recordingLogger();
      // Nothing listens on port 1: every operation fails.
      const cache = createCache({
        backend: 'redis',
        location: 'redis://127.0.0.1:1/0',
        keyPrefix: freshPrefix(),
        operationTimeout: '100ms',
        circuitBreaker: false,
        logger,
      });
      const errors: unknown[] = [];
      cache.on('error', (event) => errors.push(event));
      const started = performance.now();
      let calls = 0;
      while (performance.now() - started < 1500) {
        await Promise.all(
          Array.from({ length: 50 }, (_, i) => cache.getOrSet(`k${calls + i}`, () => i)),
        );
        calls += 50;
      }
      const seconds = (performance.now() - started) / 1000;
      // The line that closes the last folded second comes at its end.
      await sleep(1200);
      await cache.close().catch(() => {});
      expect(errors.length).toBeGreaterThanOrEqual(calls);
      // Failure reports carry their operation (the driver's own connection warnings do not).
      const reports = logger.lines.filter((line) => line.object.operation !== undefined);
      const perOperation = new Map<string, number>();
      for (const line of reports) {
        const operation = String(line.object.operation);
        perOperation.set(operation, (perOperation.get(operation) ?? 0) + 1);
      }
      for (const count of perOperation.values()) {
        expect(count).toBeLessThanOrEqual(Math.ceil(seconds) + 2);
      }
      // The folded counts account for every failure that was not logged on its own.
      const accounted = reports.reduce((sum, line) => sum + 1 + Number(line.object.folded ?? 0), 0);
      expect(accounted).toBe(errors.length);
    });
  },
);
