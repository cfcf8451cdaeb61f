/**
 * The continuation form of the store contract (`Store.getThen` / `setThen`, docs/backends.md):
 * a store that has it gets the Cache's `get`/`set` through it, with the same answers, failures,
 * breaker bookkeeping, failOpen and tag checks as through `get`/`set`.
 */
import { describe, expect, it } from 'vitest';
import { BackendError } from '../src/core/errors.js';
import { silentLogger } from '../src/core/logger.js';
import { createCache } from '../src/core/registry.js';
import type {
  BackendContext,
  CacheConfig,
  Continuation,
  KeyHint,
  Payload,
  Store,
} from '../src/index.js';
import { cacheWithClock, faultyNetworkStore, makeClock } from './fixtures/resilience-helpers.js';

/** The fault-injecting Map store, bounding its own operations and with the continuation form. */
function continuationStore() {
  const { factory, control } = faultyNetworkStore();
  const counts = { getThen: 0, setThen: 0 };
  const make = async (context: BackendContext): Promise<Store> => {
    const store = (await factory(context)) as Store & Record<string, unknown>;
    return Object.assign(store, {
      capabilities: { sync: false, boundsOperations: true },
      getThen<R>(key: string, hint: KeyHint | undefined, next: Continuation<R>): Promise<R> {
        counts.getThen++;
        return Promise.resolve(store.get(key, hint)).then(
          (payload) => next.value(payload),
          (error: unknown) => next.error(error),
        );
      },
      setThen<R>(
        key: string,
        value: Payload,
        ttlMs: number | null,
        next: Continuation<R>,
      ): Promise<R> {
        counts.setThen++;
        const expiresAt = ttlMs === null ? null : context.now() + ttlMs;
        return Promise.resolve(store.set(key, value, expiresAt)).then(
          (result) => next.value(result),
          (error: unknown) => next.error(error),
        );
      },
    });
  };
  return { make, control, counts };
}

function cacheOn(
  make: (context: BackendContext) => Promise<Store>,
  config: Omit<CacheConfig, 'backend'> = {},
) {
  return createCache({ backend: make, logger: silentLogger, ...config });
}

describe('a store with getThen / setThen', () => {
  it('answers get and set through them, hits and misses alike', async () => {
    const { make, counts } = continuationStore();
    const cache = cacheOn(make);
    await cache.set('warm', 1); // opens the store (the first call runs the program)
    const before = { ...counts };
    await cache.set('k', { a: [1, 2] });
    expect(await cache.get('k')).toEqual({ a: [1, 2] });
    expect(await cache.get('absent', { default: 'd' })).toBe('d');
    expect(counts.setThen - before.setThen).toBe(1);
    expect(counts.getThen - before.getThen).toBe(2);
    const stats = cache.stats();
    expect(stats.hits).toBe(1);
    expect(stats.misses).toBe(1);
  });

  it('wraps a failure in BackendError, and fails open when asked', async () => {
    const { make, control } = continuationStore();
    const strict = cacheOn(make, { circuitBreaker: false });
    await strict.set('k', 'v');
    control.mode = 'throw';
    const failure = await strict.get('k').catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(BackendError);
    expect((failure as BackendError).cause).toBe(control.error);
    await expect(strict.set('k', 'w')).rejects.toBeInstanceOf(BackendError);

    const reported: string[] = [];
    const { make: failing, control: failingControl } = continuationStore();
    const lenient = cacheOn(failing, { circuitBreaker: false, failOpen: true });
    lenient.on('error', (event) => reported.push(event.operation));
    await lenient.set('k', 'v');
    failingControl.mode = 'throw';
    expect(await lenient.get('k', { default: 'fallback' })).toBe('fallback');
    await lenient.set('k', 'w');
    expect(reported).toEqual(['get', 'set']);
  });

  it('counts failures toward the breaker, which then fails fast without calling the store', async () => {
    const { make, control, counts } = continuationStore();
    const cache = cacheOn(make, { circuitBreaker: { failures: 2, openFor: '1h' } });
    await cache.set('k', 'v');
    control.mode = 'throw';
    await expect(cache.get('k')).rejects.toBeInstanceOf(BackendError);
    await expect(cache.get('k')).rejects.toBeInstanceOf(BackendError);
    const calls = counts.getThen;
    await expect(cache.get('k')).rejects.toThrow(/circuit breaker is open/);
    expect(counts.getThen).toBe(calls);
    expect(cache.stats().circuit).toBe('open');
  });

  it('a success in between resets the breaker count', async () => {
    const { make, control } = continuationStore();
    const cache = cacheOn(make, { circuitBreaker: { failures: 2, openFor: '1h' } });
    await cache.set('k', 'v');
    control.mode = 'throw';
    await expect(cache.get('k')).rejects.toBeInstanceOf(BackendError);
    control.mode = 'ok';
    expect(await cache.get('k')).toBe('v');
    control.mode = 'throw';
    await expect(cache.get('k')).rejects.toBeInstanceOf(BackendError);
    expect(cache.stats().circuit).toBe('closed');
  });

  it('a getThen that throws (against the contract) still ends as a BackendError', async () => {
    const { make } = continuationStore();
    const throwing = async (context: BackendContext): Promise<Store> => {
      const store = await make(context);
      return Object.assign(store, {
        getThen(): never {
          throw new Error('broken store');
        },
      });
    };
    const cache = cacheOn(throwing, { circuitBreaker: false });
    await cache.set('k', 'v');
    const failure = await cache.get('k').catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(BackendError);
    expect((failure as Error).message).toContain('broken store');
  });

  it("takes the write's lifetime: plain and tagged entries expire by the cache's clock", async () => {
    const { make, counts } = continuationStore();
    const clock = makeClock();
    const cache = cacheWithClock({ backend: make, logger: silentLogger }, clock);
    await cache.set('warm', 1);
    const before = counts.setThen;
    await cache.set('plain', 'p', 10);
    await cache.set('tagged', 't', { timeout: 20, tags: ['x'] });
    await cache.set('forever', 'f', null);
    expect(counts.setThen - before).toBe(2); // the tagged write goes through `set`
    expect(await cache.ttl('plain')).toBe(10);
    expect(await cache.ttl('tagged')).toBe(20);
    expect(await cache.ttl('forever')).toBeNull();
    clock.advance(10_000);
    expect(await cache.get('plain')).toBeUndefined();
    expect(await cache.get('tagged')).toBe('t');
    clock.advance(10_000);
    expect(await cache.get('tagged')).toBeUndefined();
    expect(await cache.get('forever')).toBe('f');
  });

  it('checks tags on the way: a deleted tag makes the entry a miss', async () => {
    const { make, counts } = continuationStore();
    const cache = cacheOn(make);
    await cache.set('warm', 1);
    const setsBefore = counts.setThen;
    await cache.set('tagged', 'v', { tags: ['t'] });
    await cache.set('plain', 'p');
    // The tagged write needs the tag's token first: it goes through `set`, the plain one through
    // `setThen`.
    expect(counts.setThen - setsBefore).toBe(1);
    const getsBefore = counts.getThen;
    expect(await cache.get('tagged')).toBe('v');
    expect(await cache.get('plain')).toBe('p');
    await cache.deleteByTag('t');
    expect(await cache.get('tagged')).toBeUndefined();
    expect(await cache.get('plain')).toBe('p');
    expect(counts.getThen - getsBefore).toBe(4);
  });
});
