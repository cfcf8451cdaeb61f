/**
 * The async API never throws: a bad key is a rejected promise on every path `get` and `set` take
 * (sync store direct, guarded network store, tiered store), so `cache.get(k).catch(…)` and
 * `Promise.all` see it like any other failure.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createCache, InvalidKeyError, type Cache } from '../src/index.js';
import { redisBackend } from './fixtures/hardening-backends.js';
import { describeWithService } from './support/services.js';

const opened: Cache[] = [];
afterAll(async () => {
  await Promise.all(opened.map((cache) => cache.close()));
});

/** How `call` fails: `'threw'` synchronously, or `'rejected'` with the error. */
async function howItFails(call: () => Promise<unknown>): Promise<[string, unknown]> {
  let promise: Promise<unknown>;
  try {
    promise = call();
  } catch (error) {
    return ['threw', error];
  }
  try {
    await promise;
    return ['resolved', undefined];
  } catch (error) {
    return ['rejected', error];
  }
}

async function expectRejections(cache: Cache): Promise<void> {
  await cache.set('ok', 1);
  // Read once so every hot path (memo, direct read, tier) is warm.
  expect(await cache.get('ok')).toBe(1);
  for (const call of [
    () => cache.get('bad\uD800'),
    () => cache.get('bad\uD800', { version: 2 }),
    () => cache.set('bad\uD800', 1),
    () => cache.get(42 as unknown as string),
    () => cache.set('', 1),
    () => cache.getOrSet('bad\uD800', () => 1),
  ]) {
    const [how, error] = await howItFails(call);
    expect(how, String(call)).toBe('rejected');
    expect(error).toBeInstanceOf(InvalidKeyError);
  }
}

const redisUnavailable = await redisBackend.unavailable();

describe('bad keys reject, never throw', () => {
  it('on a sync store (memory, disk path)', async () => {
    const cache = createCache({ backend: 'memory', location: 'async-errors' });
    opened.push(cache);
    await expectRejections(cache);
  });

  describeWithService('Redis', redisUnavailable, 'on Redis', () => {
    it('through the guard (no L1)', async () => {
      const cache = redisBackend.make();
      opened.push(cache);
      await expectRejections(cache);
    });

    it('through a tiered store (redis + l1)', async () => {
      const cache = redisBackend.make({ l1: { maxEntries: 100 } });
      opened.push(cache);
      await expectRejections(cache);
    });
  });
});
