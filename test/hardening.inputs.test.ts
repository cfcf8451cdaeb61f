/**
 * Issue 12, input hardening on every backend (memory, disk, real Redis, real PostgreSQL):
 * - durations over 1,000 years, NaN and Infinity are refused before any store is touched, and do
 *   not count as backend failures (item 3);
 * - keys, namespace names and lock names are non-empty, well-formed strings: a lone surrogate
 *   would collide with others once UTF-8 encoded (item 2), and non-strings are `InvalidKeyError`,
 *   never `TypeError` (item 6);
 * - a namespace too long for any key is `InvalidKeyError` for every operation, and an empty
 *   pattern covers nothing (item 6);
 * - `operationTimeout: '30d'` on a network store waits, it does not fail at once (item 4).
 */
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';

import {
  configDurationToMs,
  durationToMs,
  MAX_DURATION_MS,
  resolveTimeout,
} from '../src/core/duration.js';
import {
  ConfigError,
  createCache,
  InvalidKeyError,
  InvalidValueError,
  type Cache,
} from '../src/index.js';
import {
  allBackends,
  failureOf,
  redisBackend,
  removeTempDirs,
} from './fixtures/hardening-backends.js';
import { describeWithService } from './support/services.js';

const YEAR_S = 365.25 * 86_400;
const TOO_LONG: unknown[] = [1e308, '9999999999999d', 1000 * YEAR_S + 1, '365251d', NaN, Infinity];

const opened: Cache[] = [];
const warnings: string[] = [];
const onWarning = (warning: Error): void => {
  warnings.push(`${warning.name}: ${warning.message}`);
};

beforeEach(() => {
  warnings.length = 0;
  process.on('warning', onWarning);
});
afterEach(async () => {
  process.off('warning', onWarning);
  for (const cache of opened.splice(0)) {
    await cache.clear().catch(() => {});
    await cache.close();
  }
  expect(warnings).toEqual([]);
});
afterAll(removeTempDirs);

describe('durations are bounded by 1,000 years', () => {
  it('accepts 1,000 years exactly and refuses anything longer', () => {
    expect(MAX_DURATION_MS).toBe(1000 * YEAR_S * 1000);
    expect(durationToMs('365250d')).toBe(MAX_DURATION_MS);
    expect(durationToMs(1000 * YEAR_S)).toBe(MAX_DURATION_MS);
    for (const value of TOO_LONG) {
      expect(() => durationToMs(value as number, 'hardTimeout')).toThrow(InvalidValueError);
      expect(() => configDurationToMs(value, 'cache "x": field "timeout"')).toThrow(ConfigError);
    }
    expect(() => durationToMs(1e308, 'timeout')).toThrow(/timeout: .*1,000 years/);
  });

  it('has no lower bound: any negative timeout discards', () => {
    expect(resolveTimeout(-1e308, 300_000)).toBe('discard');
    expect(resolveTimeout('-9999999999999d', null)).toBe('discard');
    expect(durationToMs(-1e308)).toBeLessThan(0);
  });

  it.each([
    ['timeout', { timeout: 1e308 }],
    ['timeout', { timeout: '9999999999999d' }],
    ['operationTimeout', { operationTimeout: 1e308 }],
    ['operationTimeout', { operationTimeout: '9999999999999d' }],
    ['openFor', { circuitBreaker: { failures: 5, openFor: 1e308 } }],
  ])('a config %s over 1,000 years is a ConfigError', (field, config) => {
    expect(() => createCache({ backend: 'memory', ...config }, 'web')).toThrow(
      new RegExp(`web.*${field}`),
    );
    expect(() => createCache({ backend: 'memory', ...config })).toThrow(ConfigError);
  });

  it("disk's busyTimeout is bounded by SQLite's int of ms: longer is a ConfigError, not a failing open", () => {
    expect(() =>
      createCache({ backend: 'disk', location: '/tmp/unused', options: { busyTimeout: '30d' } }),
    ).toThrow(/busyTimeout.*2147483647/);
    expect(() =>
      createCache({ backend: 'disk', location: '/tmp/unused', options: { busyTimeout: '24d' } }),
    ).not.toThrow();
  });
});

for (const backend of allBackends) {
  describeWithService(
    backend.name,
    await backend.unavailable(),
    `input errors on ${backend.name}`,
    () => {
      const make = (config?: Parameters<typeof backend.make>[0]): Cache => {
        const cache = backend.make(config);
        opened.push(cache);
        return cache;
      };

      it('refuses a timeout over 1,000 years (or NaN, Infinity) in every storing call, touching nothing', async () => {
        const cache = make();
        const errors: unknown[] = [];
        cache.on('error', (event) => errors.push(event));
        await cache.set('kept', 'before');
        for (const timeout of TOO_LONG as Array<number | string>) {
          for (const call of [
            () => cache.set('kept', 'after', timeout),
            () => cache.set('new', 1, { timeout }),
            () => cache.add('new', 1, timeout),
            () => cache.touch('kept', timeout),
            () => cache.setMany({ new: 1, kept: 'after' }, timeout),
            () => cache.getOrSet('new', () => 1, { timeout }),
            () => cache.getOrSet('new', () => null, { nullTimeout: timeout }),
          ]) {
            const error = await failureOf(call);
            expect(error).toBeInstanceOf(InvalidValueError);
            expect(error).toMatchObject({ code: 'ERR_CACHE_INVALID_VALUE' });
          }
        }
        expect(await cache.get('kept')).toBe('before');
        expect(await cache.has('new')).toBe(false);
        expect(errors).toEqual([]);
      });

      it('keeps an entry for 1,000 years when asked', async () => {
        const cache = make();
        await cache.set('long', 'value', '365250d');
        expect(await cache.get('long')).toBe('value');
        const ttl = (await cache.ttl('long')) as number;
        expect(ttl).toBeGreaterThan(1000 * YEAR_S - 600);
        expect(ttl).toBeLessThanOrEqual(1000 * YEAR_S);
        expect(await cache.touch('long', 1000 * YEAR_S)).toBe(true);
        expect(await cache.add('other', 1, 1000 * YEAR_S)).toBe(true);
      });

      it('refuses keys with a lone surrogate instead of letting them collide', async () => {
        const cache = make();
        const lone = ['user:\uD800', 'user:\uDC00', 'user:\uDBFF', '\uDFFFtail', 'a\uD83D'];
        for (const key of lone) {
          for (const call of [
            () => cache.set(key, 'secret-of-A'),
            () => cache.get(key),
            () => cache.delete(key),
            () => cache.has(key),
            () => cache.add(key, 1),
            () => cache.touch(key),
            () => cache.ttl(key),
            () => cache.incr(key),
            () => cache.getOrSet(key, () => 1),
            () => cache.getMany(['ok', key]),
            () =>
              cache.setMany([
                ['ok', 1],
                [key, 2],
              ]),
            () => cache.deleteMany(['ok', key]),
            () => cache.namespace(key),
            () => cache.lock(key),
            () => cache.keys(key)[Symbol.asyncIterator]().next(),
            () => cache.deletePattern(key),
          ]) {
            const error = await failureOf(call);
            expect(error, `${String(call)} with ${JSON.stringify(key)}`).toBeInstanceOf(
              InvalidKeyError,
            );
          }
        }
        // Nothing was written by the refused batch, and U+FFFD is an ordinary key of its own.
        expect(await cache.has('ok')).toBe(false);
        await cache.set('user:\uFFFD', 'replacement');
        await cache.set('user:\uD83D\uDE00', 'emoji');
        expect(await cache.get('user:\uFFFD')).toBe('replacement');
        expect(await cache.get('user:\uD83D\uDE00')).toBe('emoji');
      });

      it('refuses non-string keys and names with InvalidKeyError, never TypeError', async () => {
        const cache = make();
        const bad: unknown[] = [
          Symbol('k'),
          Object.create(null),
          {},
          [],
          123,
          0n,
          null,
          undefined,
          '',
        ];
        for (const key of bad) {
          for (const call of [
            () => cache.get(key as string),
            () => cache.set(key as string, 1),
            () => cache.delete(key as string),
            () => cache.getOrSet(key as string, () => 1),
            () => cache.getMany([key as string]),
            () => cache.namespace(key as string),
            () => cache.lock(key as string),
          ]) {
            const error = await failureOf(call);
            expect(error, `${String(call)} with ${typeof key}`).toBeInstanceOf(InvalidKeyError);
          }
        }
      });

      it('a namespace too long for any key fails every operation with InvalidKeyError, touching nothing', async () => {
        const cache = make();
        await cache.set('sentinel', 1);
        const huge = cache.namespace('n'.repeat(200_000));
        for (const call of [
          () => huge.set('k', 1),
          () => huge.get('k'),
          () => huge.clear(),
          () => huge.deletePattern('*'),
          () => huge.deletePattern(''),
          () => huge.keys()[Symbol.asyncIterator]().next(),
          () => cache.deletePattern('p'.repeat(200_000)),
          () => cache.deletePattern(`${'?'.repeat(5000)}*`),
        ]) {
          const error = await failureOf(call);
          expect(error, String(call)).toBeInstanceOf(InvalidKeyError);
        }
        expect(await cache.get('sentinel')).toBe(1);
      });

      it('an empty pattern covers nothing', async () => {
        const cache = make();
        await cache.set('a', 1);
        expect(await cache.deletePattern('')).toBe(0);
        const found: string[] = [];
        for await (const key of cache.keys('')) found.push(key);
        expect(found).toEqual([]);
        expect(await cache.get('a')).toBe(1);
      });

      if (backend.network) {
        it('input errors never open the circuit breaker', async () => {
          const cache = make({ circuitBreaker: { failures: 2, openFor: '30s' } });
          for (let i = 0; i < 10; i++) {
            await expect(cache.set('k', 1, 1e308)).rejects.toBeInstanceOf(InvalidValueError);
            await expect(cache.get('\uD800')).rejects.toBeInstanceOf(InvalidKeyError);
          }
          await cache.set('k', 'fine');
          expect(await cache.get('k')).toBe('fine');
        });
      }
    },
  );
}

// PostgreSQL's case is in hardening.core.test.ts: there the core's own per-operation timer matters.
for (const backend of [redisBackend]) {
  describeWithService(
    backend.name,
    await backend.unavailable(),
    `operationTimeout beyond Node's timer limit on ${backend.name}`,
    () => {
      it("'30d' waits as long as it says: calls succeed, no TimeoutOverflowWarning", async () => {
        const cache = backend.make({ operationTimeout: '30d' });
        opened.push(cache);
        // The first call also waits for the connection: the path with a timer of its own.
        await cache.set('a', 1);
        const started = performance.now();
        await Promise.all(Array.from({ length: 20 }, (_, i) => cache.set(`k${i}`, i)));
        expect(await cache.getMany(['a', 'k3'])).toEqual(
          new Map([
            ['a', 1],
            ['k3', 3],
          ]),
        );
        expect(performance.now() - started).toBeLessThan(10_000);
        await cache.close();
        // After a close the next call reconnects, again through the not-ready path.
        expect(await cache.get('k7')).toBe(7);
      });
    },
  );
}
