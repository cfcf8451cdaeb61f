/**
 * getOrSet's resilience options on real stores (memory and disk): in-process single flight,
 * stale-while-revalidate, stale-if-error, stale windows decided at store time, jitter,
 * nullTimeout, soft and hard loader timeouts, and option validation. Expiry runs on a hand-moved
 * clock; loader delays use real timers.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import type { Cache } from '../src/core/cache.js';
import {
  InvalidValueError,
  KeyNotFoundError,
  LoaderTimeoutError,
  CacheError,
} from '../src/core/errors.js';
import type { CacheEvents } from '../src/core/events.js';
import { createCache } from '../src/core/registry.js';
import {
  cacheWithClock,
  collect,
  deferred,
  freshLocation,
  makeClock,
  recordingLogger,
  rejection,
  RejectionWatch,
  sleep,
  TempDirs,
  timed,
  type RecordingLogger,
  type TestClock,
} from './fixtures/resilience-helpers.js';

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

const KINDS = ['memory', 'disk'] as const;
/** The stale-window tests also run on a memory store keeping references (`serialize: false`). */
const STALE_KINDS = ['memory', 'memory-references', 'disk'] as const;
type Kind = (typeof STALE_KINDS)[number];

/** A cache of `kind` on `clock`, closed after the test. */
function make(kind: Kind, clock: TestClock, logger: RecordingLogger = recordingLogger()): Cache {
  const cache = cacheWithClock(
    kind === 'disk'
      ? { backend: 'disk', location: dirs.make(), logger }
      : {
          backend: 'memory',
          location: freshLocation(),
          logger,
          options: kind === 'memory-references' ? { serialize: false } : {},
        },
    clock,
  );
  opened.push(cache);
  return cache;
}

function events<E extends keyof CacheEvents>(cache: Cache, name: E): Array<CacheEvents[E]> {
  const seen: Array<CacheEvents[E]> = [];
  cache.on(name, (payload) => void seen.push(payload));
  return seen;
}

/** A loader that always fails with `error`, counting its calls. */
function failing(error: Error) {
  const loader = vi.fn((): Promise<string> => Promise.reject(error));
  return loader;
}

describe('single flight in one process', () => {
  it.each(KINDS)('1,000 concurrent cold getOrSet on %s: the loader runs once', async (kind) => {
    const cache = make(kind, makeClock());
    let calls = 0;
    const loader = async () => {
      calls++;
      await sleep(50);
      return { loaded: calls };
    };
    const results = await Promise.all(
      Array.from({ length: 1000 }, () => cache.getOrSet('cold', loader, 60)),
    );
    expect(calls).toBe(1);
    for (const result of results) expect(result).toEqual({ loaded: 1 });
    expect(await cache.get('cold')).toEqual({ loaded: 1 });
  });

  it('1,000 concurrent cold getOrSet with a synchronous loader: the loader runs once', async () => {
    const cache = make('memory', makeClock());
    const loader = vi.fn(() => 'sync value');
    const results = await Promise.all(
      Array.from({ length: 1000 }, () => cache.getOrSet('cold', loader)),
    );
    expect(loader).toHaveBeenCalledTimes(1);
    expect(new Set(results)).toEqual(new Set(['sync value']));
  });
});

describe.each(STALE_KINDS)('stale windows on %s', (kind) => {
  const opts = { timeout: 10, staleWhileRevalidate: 60 };

  describe('staleWhileRevalidate', () => {
    it('serves the stale value at once to every caller, refreshes once, then serves the fresh value', async () => {
      const clock = makeClock();
      const cache = make(kind, clock);
      const stale = events(cache, 'stale');
      expect(await cache.getOrSet('k', () => 'v1', opts)).toBe('v1');
      clock.advance(15_000); // 5 s past its timeout, inside the 60 s window

      const gate = deferred<string>();
      const loader = vi.fn(() => gate.promise);
      // Many callers while the refresh is still running: all get the stale value, without waiting.
      const results = await Promise.all(
        Array.from({ length: 50 }, () => cache.getOrSet('k', loader, opts)),
      );
      expect(results).toEqual(Array.from({ length: 50 }, () => 'v1'));
      expect(await cache.getOrSet('k', loader, opts)).toBe('v1');
      expect(loader).toHaveBeenCalledTimes(1);
      expect(stale.length).toBe(51);
      for (const event of stale) {
        expect(event).toMatchObject({
          key: 'k',
          madeKey: cache.makeKey('k'),
          reason: 'revalidate',
        });
      }

      gate.resolve('v2');
      await vi.waitFor(async () => expect(await cache.get('k')).toBe('v2'));
      expect(await cache.getOrSet('k', loader, opts)).toBe('v2');
      expect(loader).toHaveBeenCalledTimes(1);
      expect(await cache.ttl('k')).toBe(10);
    });

    it('outside the reading call’s own window it waits for the loader', async () => {
      const clock = makeClock();
      const cache = make(kind, clock);
      // Kept for 10 s + 60 s; read with a 5 s window, 20 s after expiry.
      await cache.getOrSet('k', () => 'v1', { timeout: 10, staleIfError: 60 });
      clock.advance(30_000);
      const gate = deferred<string>();
      let settled = false;
      const result = cache
        .getOrSet('k', () => gate.promise, { timeout: 10, staleWhileRevalidate: 5 })
        .finally(() => (settled = true));
      await sleep(30);
      expect(settled).toBe(false);
      gate.resolve('v2');
      expect(await result).toBe('v2');
    });

    it('a failing background refresh is reported, never thrown; the stale value is still served', async () => {
      const clock = makeClock();
      const logger = recordingLogger();
      const cache = make(kind, clock, logger);
      const errors = events(cache, 'error');
      await cache.getOrSet('k', () => 'v1', opts);
      clock.advance(15_000);
      const problem = new Error('origin down');
      const loader = failing(problem);
      expect(await cache.getOrSet('k', loader, opts)).toBe('v1');
      await vi.waitFor(() => expect(errors.map((event) => event.error)).toContain(problem));
      expect(logger.warnings.some((warning) => warning.object.err === problem)).toBe(true);
      expect(await cache.getOrSet('k', () => 'v2', opts)).toBe('v1');
      await vi.waitFor(async () => expect(await cache.get('k')).toBe('v2'));
    });
  });

  describe('staleIfError', () => {
    const sie = { timeout: 10, staleIfError: 60 };

    it('within the window: the loader’s error gives the stale value, reported to the logger and as an error event', async () => {
      const clock = makeClock();
      const logger = recordingLogger();
      const cache = make(kind, clock, logger);
      const errors = events(cache, 'error');
      const stale = events(cache, 'stale');
      await cache.getOrSet('k', () => ({ n: 1 }), sie);
      clock.advance(40_000);
      const problem = new Error('database unavailable');
      const loader = failing(problem);
      expect(await cache.getOrSet('k', loader, sie)).toEqual({ n: 1 });
      expect(loader).toHaveBeenCalledTimes(1);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatchObject({ key: 'k', madeKey: cache.makeKey('k'), error: problem });
      expect(logger.warnings.some((warning) => warning.object.err === problem)).toBe(true);
      expect(stale).toEqual([{ key: 'k', madeKey: cache.makeKey('k'), reason: 'error' }]);
      // Nothing was stored by the failed load: the next good loader replaces the stale value.
      expect(await cache.getOrSet('k', () => ({ n: 2 }), sie)).toEqual({ n: 2 });
      expect(await cache.get('k')).toEqual({ n: 2 });
    });

    it('outside the reading call’s window the loader’s error propagates as the same object', async () => {
      const clock = makeClock();
      const cache = make(kind, clock);
      await cache.getOrSet('k', () => 'v1', sie);
      clock.advance(40_000); // 30 s past expiry: kept (60 s window) but the reader allows 10 s
      const problem = new Error('boom');
      expect(
        await rejection(cache.getOrSet('k', failing(problem), { timeout: 10, staleIfError: 10 })),
      ).toBe(problem);
    });

    it('past the stored window the entry is gone: the error propagates even with a wide reading window', async () => {
      const clock = makeClock();
      const cache = make(kind, clock);
      await cache.getOrSet('k', () => 'v1', { timeout: 10, staleIfError: 5 });
      clock.advance(20_000);
      const problem = new TypeError('boom');
      expect(await rejection(cache.getOrSet('k', failing(problem), { staleIfError: 3600 }))).toBe(
        problem,
      );
    });

    it('without any stale value the loader’s error propagates as the same object, nothing stored', async () => {
      const cache = make(kind, makeClock());
      const problem = new Error('first load fails');
      expect(await rejection(cache.getOrSet('k', failing(problem), sie))).toBe(problem);
      expect(await cache.has('k')).toBe(false);
    });
  });

  describe('decided at store time', () => {
    it.each([
      ['staleIfError is the larger', { staleWhileRevalidate: 5, staleIfError: 20 }],
      ['staleWhileRevalidate is the larger', { staleWhileRevalidate: 20, staleIfError: 5 }],
    ])('the entry is kept for timeout + max(swr, sie) (%s)', async (_label, windows) => {
      const clock = makeClock();
      const cache = make(kind, clock);
      await cache.getOrSet('k', () => 'v1', { timeout: 10, ...windows });
      const problem = new Error('down');
      clock.advance(29_500); // 19.5 s past expiry: still kept
      expect(await cache.getOrSet('k', failing(problem), { staleIfError: 3600 })).toBe('v1');
      clock.advance(1_000); // 20.5 s past expiry: gone
      expect(await rejection(cache.getOrSet('k', failing(problem), { staleIfError: 3600 }))).toBe(
        problem,
      );
    });

    it('a value stored without a window is not kept past its timeout, whatever the reader asks', async () => {
      const clock = makeClock();
      const cache = make(kind, clock);
      await cache.getOrSet('k', () => 'v1', 10);
      clock.advance(11_000);
      const problem = new Error('down');
      expect(
        await rejection(
          cache.getOrSet('k', failing(problem), { staleIfError: 3600, staleWhileRevalidate: 3600 }),
        ),
      ).toBe(problem);
    });

    it('before its timeout a windowed entry looks like any other to get/has/ttl/keys/getMany', async () => {
      const clock = makeClock();
      const cache = make(kind, clock);
      await cache.getOrSet('k', () => 'v1', { timeout: 10, staleIfError: 60 });
      clock.advance(4_000);
      expect(await cache.get('k')).toBe('v1');
      expect(await cache.has('k')).toBe(true);
      expect(await cache.ttl('k')).toBe(6); // the logical timeout, not the kept window
      expect(await collect(cache.keys())).toEqual(['k']);
      expect(await cache.getMany(['k'])).toEqual(new Map([['k', 'v1']]));
    });

    it('past its timeout get/has/ttl/keys/getMany/touch treat it as absent while getOrSet still serves it', async () => {
      const clock = makeClock();
      const cache = make(kind, clock);
      await cache.getOrSet('k', () => 'v1', { timeout: 10, staleIfError: 60 });
      await cache.set('other', 'plain', 3600);
      clock.advance(15_000);
      expect(await cache.get('k')).toBeUndefined();
      expect(await cache.get('k', { default: 'dflt' })).toBe('dflt');
      expect(await cache.has('k')).toBe(false);
      expect(await cache.ttl('k')).toBeUndefined();
      expect(await collect(cache.keys())).toEqual(['other']);
      expect(await collect(cache.keys('k*'))).toEqual([]);
      expect(await cache.getMany(['k', 'other'])).toEqual(new Map([['other', 'plain']]));
      expect(await cache.touch('k', 100)).toBe(false);
      expect(await cache.getOrSet('k', failing(new Error('down')), { staleIfError: 60 })).toBe(
        'v1',
      );
    });

    it('add on an entry past its timeout (kept only for a stale window) stores, like on an expired key', async () => {
      const clock = makeClock();
      const cache = make(kind, clock);
      await cache.getOrSet('k', () => 'v1', { timeout: 10, staleIfError: 60 });
      clock.advance(15_000);
      expect(await cache.add('k', 'added', 100)).toBe(true);
      expect(await cache.get('k')).toBe('added');
    });

    it('incr works on a live integer stored by getOrSet with a stale window', async () => {
      const cache = make(kind, makeClock());
      expect(await cache.getOrSet('n', () => 5, { timeout: 10, staleIfError: 60 })).toBe(5);
      expect(await cache.incr('n')).toBe(6);
      expect(await cache.get('n')).toBe(6);
    });

    it('incr on an integer past its timeout (kept only for a stale window) is KeyNotFoundError', async () => {
      const clock = makeClock();
      const cache = make(kind, clock);
      await cache.getOrSet('n', () => 5, { timeout: 10, staleIfError: 60 });
      clock.advance(15_000);
      expect(await rejection(cache.incr('n'))).toBeInstanceOf(KeyNotFoundError);
    });

    it('incrVersion of an entry past its timeout (kept only for a stale window) is KeyNotFoundError', async () => {
      const clock = makeClock();
      const cache = make(kind, clock);
      await cache.getOrSet('k', () => 'v1', { timeout: 10, staleIfError: 60 });
      clock.advance(15_000);
      expect(await rejection(cache.incrVersion('k'))).toBeInstanceOf(KeyNotFoundError);
      expect(await cache.has('k', { version: 2 })).toBe(false);
    });
  });
});

describe('jitter', () => {
  it.each([
    [0.25, 100],
    [0.5, 60],
    [1, 40],
  ])(
    'jitter %s reduces the stored timeout (%s s) by at most that fraction',
    async (jitter, timeout) => {
      const clock = makeClock();
      const cache = make('memory', clock);
      const ttls: number[] = [];
      for (let i = 0; i < 200; i++) {
        await cache.getOrSet(`k${i}`, () => i, { timeout, jitter });
        const ttl = await cache.ttl(`k${i}`);
        expect(typeof ttl).toBe('number');
        ttls.push(ttl as number);
      }
      for (const ttl of ttls) {
        expect(ttl).toBeGreaterThanOrEqual(timeout * (1 - jitter));
        expect(ttl).toBeLessThanOrEqual(timeout);
        expect(ttl).toBeGreaterThan(0);
      }
      // Random, spread over the range (200 uniform draws cover more than half of it).
      expect(Math.max(...ttls) - Math.min(...ttls)).toBeGreaterThan(timeout * jitter * 0.5);
    },
  );

  it('jitter 0 (and no jitter) keeps the exact timeout', async () => {
    const cache = make('memory', makeClock());
    await cache.getOrSet('a', () => 1, { timeout: 100, jitter: 0 });
    await cache.getOrSet('b', () => 1, { timeout: 100 });
    expect(await cache.ttl('a')).toBe(100);
    expect(await cache.ttl('b')).toBe(100);
  });

  it('applies to nullTimeout too, and never to a value that does not expire', async () => {
    const cache = make('memory', makeClock());
    for (let i = 0; i < 50; i++) {
      await cache.getOrSet(`n${i}`, () => null, { timeout: 1000, nullTimeout: 40, jitter: 0.5 });
      const ttl = (await cache.ttl(`n${i}`)) as number;
      expect(ttl).toBeGreaterThanOrEqual(20);
      expect(ttl).toBeLessThanOrEqual(40);
    }
    await cache.getOrSet('forever', () => 1, { timeout: null, jitter: 0.5 });
    expect(await cache.ttl('forever')).toBeNull();
  });

  it('does not jitter the stale window', async () => {
    const clock = makeClock();
    const cache = make('memory', clock);
    await cache.getOrSet('k', () => 'v1', { timeout: 100, jitter: 0.5, staleIfError: 50 });
    const ttl = (await cache.ttl('k')) as number;
    expect(ttl).toBeLessThanOrEqual(100);
    const problem = new Error('down');
    clock.advance(ttl * 1000 + 49_000);
    expect(await cache.getOrSet('k', failing(problem), { staleIfError: 3600 })).toBe('v1');
    clock.advance(2_000);
    expect(await rejection(cache.getOrSet('k', failing(problem), { staleIfError: 3600 }))).toBe(
      problem,
    );
  });

  it.each([[-0.1], [1.01], [Number.NaN], [Number.POSITIVE_INFINITY], ['0.5']])(
    'jitter %s is an InvalidValueError and the loader is not called',
    async (jitter) => {
      const cache = make('memory', makeClock());
      const loader = vi.fn(() => 'v');
      const error = await rejection(
        cache.getOrSet('k', loader, { jitter: jitter as unknown as number }),
      );
      expect(error).toBeInstanceOf(InvalidValueError);
      expect(error).toMatchObject({ code: 'ERR_CACHE_INVALID_VALUE' });
      expect(loader).not.toHaveBeenCalled();
      expect(await cache.has('k')).toBe(false);
    },
  );
});

describe('nullTimeout and undefined', () => {
  it('a null result is stored for nullTimeout, other values for the timeout', async () => {
    const clock = makeClock();
    const cache = make('memory', clock);
    const loader = vi.fn((): null => null);
    expect(await cache.getOrSet('missing', loader, { timeout: 300, nullTimeout: 5 })).toBeNull();
    expect(await cache.getOrSet('present', () => 'x', { timeout: 300, nullTimeout: 5 })).toBe('x');
    expect(await cache.ttl('missing')).toBe(5);
    expect(await cache.ttl('present')).toBe(300);
    // A stored null is a hit.
    expect(await cache.get('missing', { default: 'dflt' })).toBeNull();
    expect(await cache.getOrSet('missing', loader, { timeout: 300, nullTimeout: 5 })).toBeNull();
    expect(loader).toHaveBeenCalledTimes(1);
    clock.advance(5_001);
    expect(await cache.has('missing')).toBe(false);
    expect(await cache.getOrSet('missing', loader, { timeout: 300, nullTimeout: 5 })).toBeNull();
    expect(loader).toHaveBeenCalledTimes(2);
    expect(await cache.has('present')).toBe(true);
  });

  it('without nullTimeout a null result is stored like any value', async () => {
    const cache = make('memory', makeClock());
    await cache.getOrSet('k', () => null, 120);
    expect(await cache.ttl('k')).toBe(120);
    expect(await cache.has('k')).toBe(true);
  });

  it('nullTimeout 0 returns null and keeps nothing', async () => {
    const cache = make('memory', makeClock());
    expect(await cache.getOrSet('k', () => null, { nullTimeout: 0 })).toBeNull();
    expect(await cache.has('k')).toBe(false);
  });

  it('an undefined result is returned and never stored', async () => {
    const cache = make('memory', makeClock());
    const loader = vi.fn((): undefined => undefined);
    expect(await cache.getOrSet('k', loader, { timeout: 300, nullTimeout: 5 })).toBeUndefined();
    expect(await cache.has('k')).toBe(false);
    expect(await cache.getOrSet('k', loader)).toBeUndefined();
    expect(loader).toHaveBeenCalledTimes(2);
  });
});

describe.each(KINDS)('loader time limits on %s', (kind) => {
  const SOFT = 100;
  const SLOW = 500;

  async function staleEntry(clock: TestClock, cache: Cache): Promise<void> {
    await cache.getOrSet('k', () => 'old', { timeout: 10, staleIfError: 60 });
    clock.advance(20_000);
  }

  describe('softTimeout', () => {
    it('with a stale value and a slow loader: the stale value after about softTimeout, the loaded value stored afterwards', async () => {
      const clock = makeClock();
      const cache = make(kind, clock);
      const stale = events(cache, 'stale');
      await staleEntry(clock, cache);
      const loader = vi.fn(async () => {
        await sleep(SLOW);
        return 'new';
      });
      const { ms, value } = await timed(
        cache.getOrSet('k', loader, { timeout: 10, staleIfError: 60, softTimeout: `${SOFT}ms` }),
      );
      expect(value).toBe('old');
      expect(ms).toBeGreaterThanOrEqual(SOFT - 10);
      expect(ms).toBeLessThan(SLOW - 100);
      expect(stale).toEqual([{ key: 'k', madeKey: cache.makeKey('k'), reason: 'soft-timeout' }]);
      expect(await cache.get('k')).toBeUndefined(); // still only stale
      await vi.waitFor(async () => expect(await cache.get('k')).toBe('new'), { timeout: 2000 });
      expect(loader).toHaveBeenCalledTimes(1);
    });

    it('callers arriving while the soft-timed-out loader still runs share it (one loader call)', async () => {
      const clock = makeClock();
      const cache = make(kind, clock);
      await staleEntry(clock, cache);
      const loader = vi.fn(async () => {
        await sleep(SLOW);
        return 'new';
      });
      const opts = { timeout: 10, staleIfError: 60, softTimeout: `${SOFT}ms` };
      expect(await cache.getOrSet('k', loader, opts)).toBe('old');
      // The first loader call is still running in the background.
      const later = await Promise.all([
        cache.getOrSet('k', loader, opts),
        cache.getOrSet('k', loader, opts),
      ]);
      for (const value of later) expect(['old', 'new']).toContain(value);
      await vi.waitFor(async () => expect(await cache.get('k')).toBe('new'), { timeout: 2000 });
      expect(loader).toHaveBeenCalledTimes(1);
    });

    it('a loader failing after softTimeout is reported, never thrown or left unhandled', async () => {
      const clock = makeClock();
      const logger = recordingLogger();
      const cache = make(kind, clock, logger);
      const errors = events(cache, 'error');
      await staleEntry(clock, cache);
      const problem = new Error('late failure');
      const value = await cache.getOrSet(
        'k',
        async () => {
          await sleep(SOFT + 100);
          throw problem;
        },
        { timeout: 10, staleIfError: 60, softTimeout: `${SOFT}ms` },
      );
      expect(value).toBe('old');
      await vi.waitFor(() => expect(errors.map((event) => event.error)).toContain(problem));
      expect(logger.warnings.some((warning) => warning.object.err === problem)).toBe(true);
      expect(await cache.get('k')).toBeUndefined();
    });

    it('without a stale value it waits for the loader', async () => {
      const cache = make(kind, makeClock());
      const { ms, value } = await timed(
        cache.getOrSet(
          'k',
          async () => {
            await sleep(SLOW);
            return 'new';
          },
          { staleIfError: 60, softTimeout: `${SOFT}ms` },
        ),
      );
      expect(value).toBe('new');
      expect(ms).toBeGreaterThanOrEqual(SLOW - 20);
      expect(await cache.get('k')).toBe('new');
    });

    it('a loader faster than softTimeout gives its own value', async () => {
      const clock = makeClock();
      const cache = make(kind, clock);
      const stale = events(cache, 'stale');
      await staleEntry(clock, cache);
      expect(
        await cache.getOrSet('k', () => 'quick', {
          timeout: 10,
          staleIfError: 60,
          softTimeout: '300ms',
        }),
      ).toBe('quick');
      expect(stale).toEqual([]);
      expect(await cache.get('k')).toBe('quick');
    });
  });

  describe('hardTimeout', () => {
    it('a loader slower than hardTimeout: LoaderTimeoutError, nothing stored (even once it finishes)', async () => {
      const cache = make(kind, makeClock());
      let finished = false;
      const { ms, error, ok } = await timed(
        cache.getOrSet(
          'k',
          async () => {
            await sleep(300);
            finished = true;
            return 'late';
          },
          { hardTimeout: '100ms' },
        ),
      );
      expect(ok).toBe(false);
      expect(error).toBeInstanceOf(LoaderTimeoutError);
      expect(error).toBeInstanceOf(CacheError);
      expect(error).toMatchObject({ code: 'ERR_CACHE_LOADER_TIMEOUT' });
      expect(ms).toBeGreaterThanOrEqual(90);
      expect(ms).toBeLessThan(280);
      await vi.waitFor(() => expect(finished).toBe(true));
      await sleep(20);
      expect(await cache.has('k')).toBe(false);
    });

    it('counts as a loader error for staleIfError: the stale value within the window', async () => {
      const clock = makeClock();
      const logger = recordingLogger();
      const cache = make(kind, clock, logger);
      const errors = events(cache, 'error');
      const stale = events(cache, 'stale');
      await staleEntry(clock, cache);
      const { ms, value } = await timed(
        cache.getOrSet(
          'k',
          async () => {
            await sleep(400);
            return 'late';
          },
          { timeout: 10, staleIfError: 60, hardTimeout: '100ms' },
        ),
      );
      expect(value).toBe('old');
      expect(ms).toBeLessThan(350);
      expect(errors).toHaveLength(1);
      expect(errors[0]!.error).toBeInstanceOf(LoaderTimeoutError);
      expect(logger.warnings.some((w) => w.object.err instanceof LoaderTimeoutError)).toBe(true);
      expect(stale.map((event) => event.reason)).toEqual(['error']);
      await sleep(400);
      expect(await cache.get('k')).toBeUndefined(); // the abandoned loader stored nothing
    });

    it('outside the staleIfError window the LoaderTimeoutError propagates', async () => {
      const clock = makeClock();
      const cache = make(kind, clock);
      await staleEntry(clock, cache);
      const error = await rejection(
        cache.getOrSet('k', () => sleep(300).then(() => 'late'), {
          staleIfError: 5,
          hardTimeout: '50ms',
        }),
      );
      expect(error).toBeInstanceOf(LoaderTimeoutError);
    });

    it('a loader within hardTimeout gives its value', async () => {
      const cache = make(kind, makeClock());
      expect(await cache.getOrSet('k', async () => 'in time', { hardTimeout: 1 })).toBe('in time');
      expect(await cache.get('k')).toBe('in time');
    });
  });
});

describe('option validation', () => {
  it.each<[string, Record<string, unknown>]>([
    ['staleWhileRevalidate not a duration', { staleWhileRevalidate: 'soon' }],
    ['staleWhileRevalidate with a space', { staleWhileRevalidate: '5 s' }],
    ['staleIfError negative', { staleIfError: -1 }],
    ['staleIfError upper-case unit', { staleIfError: '5S' }],
    ['softTimeout not a duration', { softTimeout: 'fast' }],
    ['hardTimeout an object', { hardTimeout: {} }],
    ['hardTimeout negative', { hardTimeout: '-5s' }],
    ['nullTimeout not a timeout', { nullTimeout: 'forever' }],
    ['lock a string', { lock: 'yes' }],
    ['lock.timeout not a duration', { lock: { timeout: 'long' } }],
    ['lock.wait not a duration', { lock: { wait: [] } }],
    ['jitter above 1', { jitter: 2 }],
  ])('%s: InvalidValueError, loader not called, nothing stored', async (_label, options) => {
    const cache = createCache({ backend: 'memory', location: freshLocation() });
    opened.push(cache);
    const loader = vi.fn(() => 'v');
    const error = await rejection(cache.getOrSet('k', loader, options as never));
    expect(error).toBeInstanceOf(InvalidValueError);
    expect(error).toMatchObject({ code: 'ERR_CACHE_INVALID_VALUE' });
    expect(loader).not.toHaveBeenCalled();
    expect(await cache.has('k')).toBe(false);
  });

  it('valid durations in every accepted form are taken', async () => {
    const cache = createCache({ backend: 'memory', location: freshLocation() });
    opened.push(cache);
    expect(
      await cache.getOrSet('k', () => 'v', {
        timeout: '5m',
        staleWhileRevalidate: '30s',
        staleIfError: 90,
        softTimeout: '250ms',
        hardTimeout: '1.5',
        nullTimeout: null,
        jitter: 0.1,
        lock: { timeout: '2s', wait: 0.5 },
      }),
    ).toBe('v');
  });
});
