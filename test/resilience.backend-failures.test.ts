/**
 * A network store that throws or hangs: the operation timeout, the circuit breaker, failOpen and
 * getOrSet's outage bound. The store is a fault-injecting "network" store
 * (`capabilities: { sync: false }`) over a Map; everything else is the real Cache.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { resolveConfig } from '../src/config/resolve.js';
import type { CacheConfig } from '../src/config/types.js';
import type { Cache } from '../src/core/cache.js';
import { BackendError, ConfigError, KeyNotFoundError } from '../src/core/errors.js';
import type { CacheEvents } from '../src/core/events.js';
import { createCache } from '../src/core/registry.js';
import {
  cacheWithClock,
  collect,
  faultyNetworkStore,
  makeClock,
  recordingLogger,
  rejection,
  RejectionWatch,
  sleep,
  timed,
  type FaultControl,
  type RecordingLogger,
  type TestClock,
} from './fixtures/resilience-helpers.js';

/** The operation timeout the tests configure. */
const OP_MS = 100;
/** Scheduling slack on top of a time bound. */
const SLACK_MS = 120;
/** "Failing fast": far below the operation timeout. */
const FAST_MS = 30;

const watch = new RejectionWatch();
const opened: Cache[] = [];

beforeEach(() => watch.install());
afterEach(async () => {
  // A few ticks for late rejections to surface, then check nothing leaked.
  await sleep(10);
  watch.uninstall();
  for (const cache of opened.splice(0)) await cache.close();
  expect(watch.seen).toEqual([]);
});

interface Setup {
  cache: Cache;
  control: FaultControl;
  logger: RecordingLogger;
  errors: Array<CacheEvents['error']>;
}

/** A cache on a fresh faulty network store (operationTimeout 100 ms unless given). */
function setup(config: Partial<CacheConfig> = {}, clock?: TestClock): Setup {
  const { factory, control } = faultyNetworkStore();
  const logger = recordingLogger();
  const full = { backend: factory, operationTimeout: `${OP_MS}ms`, logger, ...config };
  const cache = clock ? cacheWithClock(full, clock, 'net') : createCache(full, 'net');
  opened.push(cache);
  const errors: Array<CacheEvents['error']> = [];
  cache.on('error', (event) => void errors.push(event));
  return { cache, control, logger, errors };
}

/** Fails within `ms` if `promise` has not settled by then (so a hang fails the test, not the run). */
function guard<T>(promise: Promise<T>, ms: number): Promise<T> {
  return Promise.race([
    promise,
    sleep(ms).then(() => {
      throw new Error(`still pending after ${ms} ms`);
    }),
  ]);
}

/** Every async data operation of the Cache, with valid arguments. */
const OPERATIONS: Array<[string, (cache: Cache) => Promise<unknown>]> = [
  ['get', (c) => c.get('k')],
  ['set', (c) => c.set('k', 1)],
  ['add', (c) => c.add('k', 1)],
  ['delete', (c) => c.delete('k')],
  ['has', (c) => c.has('k')],
  ['touch', (c) => c.touch('k', 10)],
  ['ttl', (c) => c.ttl('k')],
  ['incr', (c) => c.incr('k')],
  ['decr', (c) => c.decr('k')],
  ['getMany', (c) => c.getMany(['a', 'b'])],
  ['setMany', (c) => c.setMany({ a: 1, b: 2 })],
  ['deleteMany', (c) => c.deleteMany(['a', 'b'])],
  ['clear', (c) => c.clear()],
  ['incrVersion', (c) => c.incrVersion('k')],
  ['decrVersion', (c) => c.decrVersion('k')],
  ['deletePattern', (c) => c.deletePattern('a*')],
  ['keys', (c) => collect(c.keys())],
];

describe('operationTimeout with a hanging store', () => {
  it.each(OPERATIONS)(
    '%s fails with BackendError within operationTimeout',
    async (_name, operation) => {
      const { cache, control } = setup();
      control.mode = 'hang';
      const { ms, ok, error } = await timed(guard(operation(cache), 1000));
      expect(ok).toBe(false);
      expect(error).toBeInstanceOf(BackendError);
      expect(error).toMatchObject({ code: 'ERR_CACHE_BACKEND' });
      expect(ms).toBeGreaterThanOrEqual(OP_MS - 10);
      expect(ms).toBeLessThan(OP_MS + SLACK_MS);
    },
  );

  it('the default operationTimeout is 250 ms', async () => {
    const { cache, control } = setup({ operationTimeout: undefined });
    control.mode = 'hang';
    const { ms, error } = await timed(guard(cache.get('k'), 2000));
    expect(error).toBeInstanceOf(BackendError);
    expect(ms).toBeGreaterThanOrEqual(240);
    expect(ms).toBeLessThan(250 + SLACK_MS);
  });

  it('a slow answer within operationTimeout is fine', async () => {
    const { cache } = setup();
    await cache.set('k', 'v');
    expect(await cache.get('k')).toBe('v');
  });

  it('getOrSet returns the loader’s value within operationTimeout + the loader’s time', async () => {
    const { cache, control, logger, errors } = setup();
    control.mode = 'hang';
    const loader = vi.fn(async () => {
      await sleep(50);
      return 'loaded';
    });
    const { ms, value } = await timed(guard(cache.getOrSet('k', loader), 2000));
    expect(value).toBe('loaded');
    expect(loader).toHaveBeenCalledTimes(1);
    expect(ms).toBeLessThan(OP_MS + 50 + SLACK_MS);
    expect(errors.length).toBeGreaterThanOrEqual(1);
    expect(errors[0]).toMatchObject({ key: 'k', operation: 'getOrSet' });
    expect(errors[0]!.error).toBeInstanceOf(BackendError);
    expect(logger.warnings.length).toBeGreaterThanOrEqual(1);
    // The write that still hangs is reported when it times out, never thrown.
    await vi.waitFor(() => expect(errors.length).toBeGreaterThanOrEqual(2));
  });

  it('after a failed read getOrSet does not wait for the write of the loaded value', async () => {
    const { cache, control } = setup();
    control.methodModes.set('get', 'throw');
    control.methodModes.set('add', 'hang');
    control.methodModes.set('set', 'hang');
    const { ms, value } = await timed(cache.getOrSet('k', () => sleep(20).then(() => 'loaded')));
    expect(value).toBe('loaded');
    expect(ms).toBeLessThan(OP_MS - 20); // waiting for the hanging write would take >= 100 ms
  });

  it('getOrSet with { lock: true } during an outage is bound the same way', async () => {
    const { cache, control } = setup();
    control.mode = 'hang';
    const { ms, value } = await timed(
      guard(
        cache.getOrSet('k', () => sleep(50).then(() => 'loaded'), { lock: true }),
        2000,
      ),
    );
    expect(value).toBe('loaded');
    expect(ms).toBeLessThan(OP_MS + 50 + SLACK_MS);
  });

  it('getOrSet concurrent callers during an outage share one loader call and all get its value', async () => {
    const { cache, control } = setup();
    control.mode = 'hang';
    const loader = vi.fn(async () => {
      await sleep(30);
      return { v: 1 };
    });
    const results = await guard(
      Promise.all(Array.from({ length: 50 }, () => cache.getOrSet('k', loader))),
      2000,
    );
    for (const result of results) expect(result).toEqual({ v: 1 });
    expect(loader.mock.calls.length).toBeGreaterThanOrEqual(1);
  });

  it('recovers when the store answers again', async () => {
    const { cache, control } = setup();
    control.mode = 'hang';
    expect(await rejection(cache.set('k', 1))).toBeInstanceOf(BackendError);
    control.mode = 'ok';
    await cache.set('k', 2);
    expect(await cache.get('k')).toBe(2);
    expect(await cache.getOrSet('k', () => 3)).toBe(2);
  });
});

describe('circuit breaker', () => {
  const breaker = { circuitBreaker: { failures: 3, openFor: '1s' } };

  it('after `failures` consecutive failures operations fail fast, without reaching the store', async () => {
    const { cache, control } = setup(breaker, makeClock());
    control.mode = 'hang';
    for (let i = 0; i < 3; i++) {
      const { ms, error } = await timed(cache.get('k'));
      expect(error).toBeInstanceOf(BackendError);
      expect(ms).toBeGreaterThanOrEqual(OP_MS - 10);
    }
    expect(control.calls).toBe(3);
    for (const [name, operation] of OPERATIONS) {
      if (name === 'keys') continue; // its own test below
      const { ms, error } = await timed(guard(operation(cache), 1000));
      expect(error).toBeInstanceOf(BackendError);
      expect(error).toMatchObject({ code: 'ERR_CACHE_BACKEND' });
      expect(ms).toBeLessThan(FAST_MS);
    }
    expect(control.calls).toBe(3);
  });

  it('keys fails fast too while the breaker is open, without reaching the store', async () => {
    const { cache, control } = setup(breaker, makeClock());
    control.mode = 'throw';
    for (let i = 0; i < 3; i++) await rejection(cache.get('k'));
    const calls = control.calls;
    const { ms, error } = await timed(guard(collect(cache.keys()), 1000));
    expect(error).toBeInstanceOf(BackendError);
    expect(ms).toBeLessThan(FAST_MS);
    expect(control.calls).toBe(calls);
  });

  it('stays open for openFor, then one successful trial closes it', async () => {
    const clock = makeClock();
    const { cache, control } = setup(breaker, clock);
    control.mode = 'throw';
    for (let i = 0; i < 3; i++) await rejection(cache.get('k'));
    control.mode = 'ok';
    clock.advance(999);
    expect(await rejection(cache.set('k', 1))).toBeInstanceOf(BackendError);
    expect(control.calls).toBe(3);
    clock.advance(1);
    await cache.set('k', 1); // the trial
    expect(control.calls).toBe(4);
    expect(await cache.get('k')).toBe(1);
    expect(await cache.has('k')).toBe(true);
    expect(control.calls).toBe(6);
  });

  it('a failed trial opens it again for openFor', async () => {
    const clock = makeClock();
    const { cache, control } = setup(breaker, clock);
    control.mode = 'throw';
    for (let i = 0; i < 3; i++) await rejection(cache.get('k'));
    clock.advance(1000);
    expect(await rejection(cache.get('k'))).toBeInstanceOf(BackendError); // the trial
    expect(control.calls).toBe(4);
    control.mode = 'ok';
    expect(await rejection(cache.get('k'))).toBeInstanceOf(BackendError); // open again
    clock.advance(500);
    expect(await rejection(cache.get('k'))).toBeInstanceOf(BackendError);
    expect(control.calls).toBe(4);
    clock.advance(500);
    expect(await cache.get('k')).toBeUndefined();
    expect(control.calls).toBe(5);
  });

  it('lets exactly one trial through while it runs', async () => {
    const clock = makeClock();
    const { cache, control } = setup(breaker, clock);
    control.mode = 'throw';
    for (let i = 0; i < 3; i++) await rejection(cache.get('k'));
    clock.advance(1000);
    control.mode = 'hang';
    const trial = timed(cache.get('k'));
    const others = await Promise.all(Array.from({ length: 10 }, () => timed(cache.get('k'))));
    for (const other of others) {
      expect(other.error).toBeInstanceOf(BackendError);
      expect(other.ms).toBeLessThan(FAST_MS);
    }
    expect(control.calls).toBe(4);
    const { error, ms } = await trial;
    expect(error).toBeInstanceOf(BackendError);
    expect(ms).toBeGreaterThanOrEqual(OP_MS - 10);
    expect(await rejection(cache.get('k'))).toBeInstanceOf(BackendError);
    expect(control.calls).toBe(4);
  });

  it('only consecutive backend failures count: a success or a KeyNotFoundError resets the run', async () => {
    const { cache, control } = setup(breaker, makeClock());
    control.mode = 'throw';
    await rejection(cache.get('k'));
    await rejection(cache.get('k'));
    control.mode = 'ok';
    expect(await rejection(cache.incr('absent'))).toBeInstanceOf(KeyNotFoundError);
    control.mode = 'throw';
    await rejection(cache.get('k'));
    await rejection(cache.get('k'));
    control.mode = 'ok';
    await cache.set('k', 1);
    control.mode = 'throw';
    await rejection(cache.get('k'));
    await rejection(cache.get('k'));
    const before = control.calls;
    await rejection(cache.get('k')); // the third in a row: reaches the store, then opens
    expect(control.calls).toBe(before + 1);
    await rejection(cache.get('k'));
    expect(control.calls).toBe(before + 1);
  });

  it('getOrSet with the breaker open returns the loader’s value at once', async () => {
    const { cache, control, errors } = setup(breaker, makeClock());
    control.mode = 'hang';
    for (let i = 0; i < 3; i++) await rejection(cache.get('k'));
    const { ms, value } = await timed(cache.getOrSet('k', () => 'loaded'));
    expect(value).toBe('loaded');
    expect(ms).toBeLessThan(FAST_MS);
    expect(control.calls).toBe(3);
    await vi.waitFor(() =>
      expect(errors.filter((event) => event.operation === 'getOrSet').length).toBeGreaterThan(0),
    );
  });

  it('background writes of getOrSet count as failures', async () => {
    const { cache, control } = setup(
      { circuitBreaker: { failures: 2, openFor: '1s' } },
      makeClock(),
    );
    control.mode = 'throw';
    // A failed read, then the loaded value's write in the background: two failures.
    expect(await cache.getOrSet('k', () => 'v')).toBe('v');
    await vi.waitFor(() => expect(control.calls).toBe(2));
    await sleep(5);
    expect(await rejection(cache.get('k'))).toBeInstanceOf(BackendError);
    expect(control.calls).toBe(2);
  });

  it('is per cache object: another cache on the same store is not affected', async () => {
    const { factory, control } = faultyNetworkStore();
    const clock = makeClock();
    const logger = recordingLogger();
    const config = { backend: factory, operationTimeout: `${OP_MS}ms`, logger, ...breaker };
    const a = cacheWithClock(config, clock, 'a');
    const b = cacheWithClock(config, clock, 'b');
    opened.push(a, b);
    control.mode = 'throw';
    for (let i = 0; i < 3; i++) await rejection(a.get('k'));
    control.mode = 'ok';
    expect(await rejection(a.get('k'))).toBeInstanceOf(BackendError);
    const before = control.calls;
    await b.set('k', 1);
    expect(await b.get('k')).toBe(1);
    expect(control.calls).toBe(before + 2);
  });

  it('custom stores have no breaker unless configured: every call reaches the store', async () => {
    const { cache, control } = setup();
    control.mode = 'throw';
    for (let i = 0; i < 20; i++) {
      expect(await rejection(cache.get('k'))).toBeInstanceOf(BackendError);
    }
    expect(control.calls).toBe(20);
  });

  it('circuitBreaker: false never fails fast', async () => {
    const { cache, control } = setup({ circuitBreaker: false });
    control.mode = 'throw';
    for (let i = 0; i < 20; i++) await rejection(cache.set('k', i));
    expect(control.calls).toBe(20);
    control.mode = 'ok';
    await cache.set('k', 'back');
    expect(await cache.get('k')).toBe('back');
  });

  it('is off by default for memory and disk', () => {
    expect(resolveConfig({ backend: 'memory' }, 'm').circuitBreaker).toBeUndefined();
    expect(
      resolveConfig({ backend: 'disk', location: '/tmp/x' }, 'd').circuitBreaker,
    ).toBeUndefined();
  });

  it.each(['redis://127.0.0.1:6379/0', 'postgres://u@127.0.0.1/db'])(
    'is on by default for %s with { failures: 5, openFor: 5s }',
    (url) => {
      expect(resolveConfig(url, 'n').circuitBreaker).toEqual({ failures: 5, openForMs: 5000 });
    },
  );

  it.each<[string, unknown]>([
    ['failures 0', { failures: 0, openFor: '1s' }],
    ['failures not an integer', { failures: 1.5 }],
    ['openFor not a duration', { failures: 3, openFor: 'later' }],
    ['an unknown field', { failures: 3, openFor: '1s', halfOpen: 2 }],
    ['a string', 'on'],
  ])('an invalid circuitBreaker (%s) is a ConfigError', (_label, circuitBreaker) => {
    const { factory } = faultyNetworkStore();
    expect(() =>
      createCache({ backend: factory, circuitBreaker } as unknown as CacheConfig, 'bad'),
    ).toThrow(ConfigError);
  });

  it('an outage under load: every getOrSet returns the loader’s value, fast once open, and service resumes', async () => {
    // Real clock here: the breaker opens and closes on its own.
    const { cache, control, logger } = setup({
      circuitBreaker: { failures: 5, openFor: '300ms' },
    });
    const LOADER_MS = 10;
    let loads = 0;
    const loader = async () => {
      loads++;
      await sleep(LOADER_MS);
      return 'fresh';
    };
    const round = async (key: string) => {
      const runs = await Promise.all(
        Array.from({ length: 10 }, (_, i) => timed(cache.getOrSet(`${key}:${i}`, loader, 60))),
      );
      for (const run of runs) expect(run.value).toBe('fresh');
      return Math.max(...runs.map((run) => run.ms));
    };
    await round('before');
    control.mode = 'hang';
    // The first round of the outage waits for the operation timeout, then the breaker is open.
    expect(await round('down0')).toBeLessThan(OP_MS + LOADER_MS + SLACK_MS);
    for (let i = 1; i <= 5; i++) {
      expect(await round(`down${i}`)).toBeLessThan(OP_MS + LOADER_MS + SLACK_MS);
    }
    expect(await round('down-open')).toBeLessThan(LOADER_MS + FAST_MS);
    expect(logger.warnings.length).toBeGreaterThan(0);
    control.mode = 'ok';
    await sleep(350);
    await vi.waitFor(async () => {
      await cache.set('probe', 1);
    });
    loads = 0;
    await round('after');
    expect(loads).toBe(10);
    await round('after'); // cached now
    expect(loads).toBe(10);
  });
});

describe('failOpen', () => {
  /** [operation, call, expected result] per SPEC's failOpen table. */
  const TABLE: Array<[string, (cache: Cache) => Promise<unknown>, unknown]> = [
    ['get', (c) => c.get('k'), undefined],
    ['get with a default', (c) => c.get('k', { default: 'dflt' }), 'dflt'],
    ['has', (c) => c.has('k'), false],
    ['set', (c) => c.set('k', 1), undefined],
    ['touch', (c) => c.touch('k', 10), false],
    ['delete', (c) => c.delete('k'), false],
    ['clear', (c) => c.clear(), undefined],
    ['add', (c) => c.add('k', 1), false],
    ['setMany', (c) => c.setMany({ a: 1, b: 2, c: 3 }), ['a', 'b', 'c']],
    ['setMany of a Map', (c) => c.setMany(new Map([['x', 1]])), ['x']],
    ['getMany', (c) => c.getMany(['a', 'b']), new Map()],
    ['deleteMany', (c) => c.deleteMany(['a', 'b']), 0],
  ];
  const STILL_THROW: Array<[string, (cache: Cache) => Promise<unknown>]> = [
    ['incr', (c) => c.incr('k')],
    ['decr', (c) => c.decr('k')],
    ['incrVersion', (c) => c.incrVersion('k')],
    ['decrVersion', (c) => c.decrVersion('k')],
  ];

  describe.each<['throw' | 'hang']>([['throw'], ['hang']])('with a store that %ss', (mode) => {
    it.each(TABLE)(
      '%s resolves to its fail-open result, logged and emitted',
      async (name, call, expected) => {
        const { cache, control, logger, errors } = setup({ failOpen: true });
        control.mode = mode;
        const { ms, value, ok } = await timed(guard(call(cache), 2000));
        expect(ok).toBe(true);
        expect(value).toEqual(expected);
        expect(ms).toBeLessThan(OP_MS + SLACK_MS);
        expect(logger.warnings).toHaveLength(1);
        expect(logger.warnings[0]!.object.err).toBeInstanceOf(BackendError);
        expect(errors).toHaveLength(1);
        expect(errors[0]!.error).toBeInstanceOf(BackendError);
        expect(errors[0]!.operation).toBe(name.split(' ')[0]);
        expect(cache.stats().errors).toBe(1);
      },
    );

    it.each(STILL_THROW)('%s still throws BackendError', async (_name, call) => {
      const { cache, control } = setup({ failOpen: true });
      control.mode = mode;
      const error = await rejection(guard(call(cache), 2000));
      expect(error).toBeInstanceOf(BackendError);
      expect(error).toMatchObject({ code: 'ERR_CACHE_BACKEND' });
    });
  });

  it('getOrSet returns the loader’s value (as without failOpen)', async () => {
    const { cache, control, errors } = setup({ failOpen: true });
    control.mode = 'throw';
    expect(await cache.getOrSet('k', () => 'loaded')).toBe('loaded');
    await vi.waitFor(() => expect(errors.length).toBeGreaterThanOrEqual(2));
  });

  it('with the breaker open the fail-open results come at once', async () => {
    const { cache, control, logger, errors } = setup(
      { failOpen: true, circuitBreaker: { failures: 2, openFor: '1s' } },
      makeClock(),
    );
    control.mode = 'hang';
    expect(await cache.get('k')).toBeUndefined();
    expect(await cache.get('k')).toBeUndefined();
    for (const [, call, expected] of TABLE) {
      const { ms, value } = await timed(call(cache));
      expect(value).toEqual(expected);
      expect(ms).toBeLessThan(FAST_MS);
    }
    expect(control.calls).toBe(2);
    // Every failure is an event; the logger gets one warning per operation within the second.
    expect(errors).toHaveLength(2 + TABLE.length);
    const operations = new Set(logger.warnings.map((warning) => String(warning.object.operation)));
    expect(logger.warnings).toHaveLength(operations.size);
    expect(operations.size).toBe(10);
  });

  it('an error event of a single-key operation carries the caller’s key and the made key', async () => {
    const { cache, control, errors } = setup({ failOpen: true });
    control.mode = 'throw';
    await cache.get('user:1');
    await cache.set('user:2', 1);
    await cache.has('user:3');
    expect(errors.map((event) => [event.key, event.madeKey])).toEqual([
      ['user:1', cache.makeKey('user:1')],
      ['user:2', cache.makeKey('user:2')],
      ['user:3', cache.makeKey('user:3')],
    ]);
  });

  it('without failOpen the same failures throw BackendError', async () => {
    const { cache, control } = setup();
    control.mode = 'throw';
    for (const [, call] of TABLE) {
      const error = await rejection(call(cache));
      expect(error).toBeInstanceOf(BackendError);
      expect((error as Error).cause).toBe(control.error);
    }
  });

  it('recovers when the store comes back', async () => {
    const { cache, control, logger } = setup({ failOpen: true });
    control.mode = 'throw';
    await cache.set('k', 'lost');
    expect(await cache.get('k')).toBeUndefined();
    control.mode = 'ok';
    const warnings = logger.warnings.length;
    await cache.set('k', 'kept');
    expect(await cache.get('k')).toBe('kept');
    expect(await cache.has('k')).toBe(true);
    expect(await cache.add('k', 'other')).toBe(false);
    expect(await cache.setMany({ a: 1 })).toEqual([]);
    expect(await cache.getMany(['a', 'k'])).toEqual(
      new Map<string, unknown>([
        ['a', 1],
        ['k', 'kept'],
      ]),
    );
    expect(await cache.deleteMany(['a'])).toBe(1);
    expect(await cache.incr('n').catch((error: unknown) => error)).toBeInstanceOf(KeyNotFoundError);
    expect(logger.warnings.length).toBe(warnings);
  });

  it('failOpen must be a boolean', () => {
    const { factory } = faultyNetworkStore();
    expect(() =>
      createCache({ backend: factory, failOpen: 'maybe' } as unknown as CacheConfig, 'bad'),
    ).toThrow(ConfigError);
  });
});

describe('logger', () => {
  it('a logger without warn/error/debug is a ConfigError', () => {
    const { factory } = faultyNetworkStore();
    expect(() =>
      createCache({ backend: factory, logger: { info: () => {} } } as unknown as CacheConfig, 'x'),
    ).toThrow(ConfigError);
  });

  it('the default logger writes swallowed failures to stderr as warnings', async () => {
    const { factory, control } = faultyNetworkStore();
    const cache = createCache({ backend: factory, failOpen: true }, 'stderr-default');
    opened.push(cache);
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      control.mode = 'throw';
      expect(await cache.get('k')).toBeUndefined();
      expect(warn).toHaveBeenCalledTimes(1);
      expect(String(warn.mock.calls[0]![0])).toContain('connection refused');
    } finally {
      warn.mockRestore();
    }
  });

  it('an error event never throws when nobody listens', async () => {
    const { factory, control } = faultyNetworkStore();
    const cache = createCache({ backend: factory, failOpen: true, logger: recordingLogger() });
    opened.push(cache);
    control.mode = 'throw';
    expect(await cache.get('k')).toBeUndefined();
    expect(cache.stats().errors).toBe(1);
  });
});
