/**
 * getOrSet's shared reads (SPEC, getOrSet row): concurrent callers of one store and made key share
 * one read and, on a miss, one load; a caller arriving while a read or a load is in flight joins
 * it. Store calls are counted by a counting store and through the `skycache:operation` channel.
 */
import { tracingChannel } from 'node:diagnostics_channel';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { createCache } from '../src/core/registry.js';
import type { OperationTraceContext } from '../src/core/tracing.js';
import type { BackendContext, Store } from '../src/core/store.js';
import { MapStore } from './fixtures/custom-backend.js';
import { freshLocation, sleep } from './fixtures/resilience-helpers.js';

/** An async store over a Map whose calls are counted and delayed (`delays[method]` per call, ms). */
function countingStore(
  delays: Partial<Record<'get' | 'add' | 'set', (call: number) => number>> = {},
) {
  const counts = { get: 0, add: 0, set: 0 };
  const factory = (context: BackendContext): Store => {
    const map = new MapStore(context.now);
    const delayed =
      <A extends unknown[], R>(method: 'get' | 'add' | 'set', real: (...args: A) => R) =>
      async (...args: A): Promise<R> => {
        const call = counts[method]++;
        const ms = delays[method]?.(call) ?? 0;
        if (ms > 0) await sleep(ms);
        return real(...args);
      };
    return {
      ...Object.fromEntries(
        (
          [
            'getMany',
            'setMany',
            'delete',
            'deleteMany',
            'touch',
            'incr',
            'expiry',
            'keys',
            'deleteMatching',
            'clear',
            'close',
          ] as const
        ).map((method) => [method, (map[method] as (...args: unknown[]) => unknown).bind(map)]),
      ),
      capabilities: { sync: false },
      client: map.client,
      get: delayed('get', (key: string) => map.get(key)),
      add: delayed('add', (key: string, value, expiresAt: number | null) =>
        map.add(key, value as string, expiresAt),
      ),
      set: delayed('set', (key: string, value, expiresAt: number | null) =>
        map.set(key, value as string, expiresAt),
      ),
    } as unknown as Store;
  };
  return { factory, counts };
}

const caches: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(caches.splice(0).map((cache) => cache.close()));
});

function track<C extends { close(): Promise<void> }>(cache: C): C {
  caches.push(cache);
  return cache;
}

describe('shared reads', () => {
  it('1,000 concurrent cold getOrSet calls make exactly one store read and one write', async () => {
    const { factory, counts } = countingStore({ get: () => 20, add: () => 20 });
    const cache = track(createCache({ backend: factory, keyPrefix: 'shared' }));
    const loader = vi.fn(async () => {
      await sleep(20);
      return { loaded: true };
    });
    const results = await Promise.all(
      Array.from({ length: 1000 }, () => cache.getOrSet('cold', loader, 60)),
    );
    expect(loader).toHaveBeenCalledTimes(1);
    expect(counts).toEqual({ get: 1, add: 1, set: 0 });
    for (const result of results) expect(result).toEqual({ loaded: true });
    expect(cache.stats()).toMatchObject({ misses: 1000, sets: 1, loads: 1 });
  });

  it('on the memory backend too, counted through the skycache:operation tracing channel', async () => {
    const cache = track(createCache({ backend: 'memory', location: freshLocation() }, 'traced'));
    const operations: string[] = [];
    const channel = tracingChannel<unknown, OperationTraceContext>('skycache:operation');
    const ignore = () => {};
    const handlers = {
      start: (context: OperationTraceContext) => {
        if (context.alias === 'traced') operations.push(context.operation);
      },
      end: ignore,
      asyncStart: ignore,
      asyncEnd: ignore,
      error: ignore,
    };
    channel.subscribe(handlers);
    try {
      const loader = vi.fn(async () => {
        await sleep(20);
        return 'v';
      });
      const results = await Promise.all(
        Array.from({ length: 1000 }, () => cache.getOrSet('cold', loader)),
      );
      expect(new Set(results)).toEqual(new Set(['v']));
      expect(loader).toHaveBeenCalledTimes(1);
      // One read (the miss) and one write (the add of the loaded value).
      expect(operations).toEqual(['getOrSet', 'getOrSet']);
    } finally {
      channel.unsubscribe(handlers);
    }
  });

  it('a caller arriving while the read is in flight joins it; one arriving during the load joins the load', async () => {
    const { factory, counts } = countingStore({ get: () => 40 });
    const cache = track(createCache({ backend: factory }));
    const loader = vi.fn(async () => {
      await sleep(60);
      return 'loaded';
    });
    const first = cache.getOrSetWithSource('k', loader);
    await sleep(10); // the read is still in flight
    const duringRead = cache.getOrSetWithSource('k', loader);
    await sleep(60); // the read is done, the load runs
    const duringLoad = cache.getOrSetWithSource('k', loader);
    expect(await first).toEqual({ value: 'loaded', source: 'loaded' });
    expect(await duringRead).toEqual({ value: 'loaded', source: 'joined' });
    expect(await duringLoad).toEqual({ value: 'loaded', source: 'joined' });
    expect(loader).toHaveBeenCalledTimes(1);
    expect(counts.get).toBe(1);
    // Once everything settled, the next call reads again and hits.
    expect(await cache.getOrSetWithSource('k', loader)).toEqual({ value: 'loaded', source: 'hit' });
    expect(counts.get).toBe(2);
  });

  it('a failed load followed by slow readers does not start a second load', async () => {
    // The first read is fast, every later one slow: a caller with a read of its own would finish
    // it after the load failed, and start a second load.
    const { factory, counts } = countingStore({ get: (call) => (call === 0 ? 10 : 150) });
    const cache = track(createCache({ backend: factory }));
    const failure = new Error('loader failed');
    const loader = vi.fn(async () => {
      await sleep(20);
      throw failure;
    });
    // Each outcome is taken at once: on a loaded machine the load can fail before the last caller
    // arrives, and a rejection nobody handled yet would be reported as unhandled.
    const callers: Array<Promise<PromiseSettledResult<unknown>>> = [];
    for (let i = 0; i < 20; i++) {
      callers.push(Promise.allSettled([cache.getOrSet('k', loader)]).then(([outcome]) => outcome!));
      if (i % 5 === 4) await sleep(5);
    }
    const settled = await Promise.all(callers);
    expect(loader).toHaveBeenCalledTimes(1);
    expect(counts.get).toBe(1);
    for (const outcome of settled) {
      expect(outcome.status).toBe('rejected');
      if (outcome.status === 'rejected') expect(outcome.reason).toBe(failure);
    }
    expect(cache.stats()).toMatchObject({ loads: 1, loadFailures: 1 });
    // The failed flight is over: the next call reads and loads again.
    expect(await cache.getOrSet('k', () => 'recovered')).toBe('recovered');
  });

  it('callers of different made keys do not share', async () => {
    const { factory, counts } = countingStore({ get: () => 10 });
    const cache = track(createCache({ backend: factory }));
    const results = await Promise.all([
      cache.getOrSet('a', () => 'a'),
      cache.getOrSet('b', () => 'b'),
      cache.getOrSet('a', () => 'a v2', { version: 2 }),
    ]);
    expect(results).toEqual(['a', 'b', 'a v2']);
    expect(counts.get).toBe(3);
  });
});
