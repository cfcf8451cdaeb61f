import { describe, expect, it, vi } from 'vitest';
import type { Cache } from '../src/core/cache.js';
import {
  BackendError,
  ConfigError,
  InvalidValueError,
  KeyNotFoundError,
  UnsupportedOperationError,
} from '../src/core/errors.js';
import type { CacheEvents } from '../src/core/events.js';
import type { Logger } from '../src/core/logger.js';
import { createCache } from '../src/core/registry.js';
import type { BackendContext, BackendFactory, Store } from '../src/core/store.js';
import { MapStore } from './fixtures/custom-backend.js';

/** A logger recording warnings and errors. */
function recordingLogger(): Logger & { warnings: Array<Record<string, unknown>> } {
  const warnings: Array<Record<string, unknown>> = [];
  return {
    warnings,
    warn: (object) => void warnings.push(object),
    error: (object) => void warnings.push(object),
    debug: () => {},
  };
}

const STORE_METHODS = [
  'get',
  'getMany',
  'set',
  'setMany',
  'add',
  'delete',
  'deleteMany',
  'has',
  'touch',
  'incr',
  'expiry',
  'keys',
  'deleteMatching',
  'clear',
  'close',
] as const;
type StoreMethod = (typeof STORE_METHODS)[number];

/**
 * A working Map store whose listed methods fail with `error`: thrown synchronously (`sync` store)
 * or as rejected promises (async store).
 */
function faultyFactory(
  error: unknown,
  options: { sync: boolean; failing?: readonly StoreMethod[] },
): BackendFactory {
  const failing = new Set<string>(options.failing ?? STORE_METHODS);
  return (context: BackendContext): Store => {
    const inner = new MapStore(context.now);
    const store: Record<string, unknown> = {
      capabilities: { sync: options.sync },
      client: inner.client,
    };
    for (const method of STORE_METHODS) {
      const real = (inner[method] as (...args: unknown[]) => unknown).bind(inner);
      if (method === 'keys' && !options.sync) {
        // An iterable, never a Promise (the store contract): an async one that fails when read.
        store.keys = (...args: unknown[]) => ({
          async *[Symbol.asyncIterator]() {
            if (failing.has('keys')) throw error;
            yield* real(...args) as string[];
          },
        });
        continue;
      }
      store[method] = (...args: unknown[]) => {
        if (failing.has(method)) {
          if (options.sync) throw error;
          return Promise.reject(error);
        }
        return options.sync ? real(...args) : Promise.resolve(real(...args));
      };
    }
    return store as unknown as Store;
  };
}

async function collect(iterable: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const key of iterable) out.push(key);
  return out;
}

/** Every async operation, each called once with valid arguments. */
const operations: Array<[string, (cache: Cache) => Promise<unknown>]> = [
  ['get', (c) => c.get('k')],
  ['set', (c) => c.set('k', 1)],
  ['add', (c) => c.add('k', 1)],
  ['delete', (c) => c.delete('k')],
  ['has', (c) => c.has('k')],
  ['touch', (c) => c.touch('k', 10)],
  ['incr', (c) => c.incr('k')],
  ['decr', (c) => c.decr('k')],
  ['getMany', (c) => c.getMany(['a', 'b'])],
  ['setMany', (c) => c.setMany({ a: 1 })],
  ['deleteMany', (c) => c.deleteMany(['a'])],
  ['clear', (c) => c.clear()],
  ['ttl', (c) => c.ttl('k')],
  ['incrVersion', (c) => c.incrVersion('k')],
  ['decrVersion', (c) => c.decrVersion('k')],
  ['deletePattern', (c) => c.deletePattern('a*')],
  ['keys', (c) => collect(c.keys())],
  ['set with timeout 0', (c) => c.set('k', 1, 0)],
  ['add with timeout 0', (c) => c.add('k', 1, 0)],
  ['touch with timeout 0', (c) => c.touch('k', 0)],
  ['setMany with timeout 0', (c) => c.setMany({ a: 1 }, 0)],
  ['clear of a namespace', (c) => c.namespace('ns').clear()],
  ['clear with a prefix', (c) => c.clear()],
];

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    (value) => {
      throw new Error(`expected a rejection, got ${String(value)}`);
    },
    (error: unknown) => error,
  );
}

describe.each([
  ['a sync store that throws', true],
  ['an async store that rejects', false],
])('%s', (_label, sync) => {
  it.each(operations)(
    '%s rejects with BackendError whose cause is the original error',
    async (name, call) => {
      const original = new Error('connection reset');
      const cache = createCache({
        backend: faultyFactory(original, { sync }),
        keyPrefix: name === 'clear with a prefix' ? 'p' : '',
      });
      const error = await rejection(call(cache));
      expect(error).toBeInstanceOf(BackendError);
      expect(error).toMatchObject({ code: 'ERR_CACHE_BACKEND' });
      expect((error as Error).cause).toBe(original);
      expect((error as Error).message).toContain('connection reset');
    },
  );

  it('get fails the same way on later calls (after the store is open)', async () => {
    const original = new Error('down');
    const cache = createCache({ backend: faultyFactory(original, { sync, failing: ['get'] }) });
    await cache.set('k', 1);
    for (let i = 0; i < 2; i++) {
      const error = await rejection(cache.get('k'));
      expect(error).toBeInstanceOf(BackendError);
      expect((error as Error).cause).toBe(original);
    }
  });

  it('close rejects with BackendError whose cause is the original error', async () => {
    const original = new Error('close failed');
    const cache = createCache({ backend: faultyFactory(original, { sync, failing: ['close'] }) });
    await cache.set('k', 1);
    const error = await rejection(cache.close());
    expect(error).toBeInstanceOf(BackendError);
    expect((error as Error).cause).toBe(original);
  });

  it('a thrown non-Error value is wrapped too, and kept as the cause', async () => {
    const cache = createCache({ backend: faultyFactory('plain string', { sync }) });
    const error = await rejection(cache.set('k', 1));
    expect(error).toBeInstanceOf(BackendError);
    expect((error as Error).cause).toBe('plain string');
  });

  it('skycache’s own KeyNotFoundError from the store passes through unchanged', async () => {
    const original = new KeyNotFoundError('not here');
    const cache = createCache({ backend: faultyFactory(original, { sync, failing: ['incr'] }) });
    expect(await rejection(cache.incr('k'))).toBe(original);
    expect(await rejection(cache.decr('k'))).toBe(original);
  });

  it('skycache’s own InvalidValueError from the store passes through unchanged', async () => {
    const original = new InvalidValueError('not an integer');
    const cache = createCache({ backend: faultyFactory(original, { sync, failing: ['incr'] }) });
    expect(await rejection(cache.incr('k'))).toBe(original);
  });

  it('getOrSet returns the loader’s value when get and add fail, and reports it', async () => {
    const logger = recordingLogger();
    const cache = createCache(
      { backend: faultyFactory(new Error('down'), { sync, failing: ['get', 'add'] }), logger },
      'flaky',
    );
    const errors: Array<CacheEvents['error']> = [];
    cache.on('error', (event) => errors.push(event));
    expect(await cache.getOrSet('k', () => 'loaded')).toBe('loaded');
    expect(await cache.getOrSet('k', async () => ({ v: 2 }))).toEqual({ v: 2 });
    expect(await cache.getOrSet('k', 'plain')).toBe('plain');
    // The write after a failed read is not awaited by the caller; its report follows.
    await vi.waitFor(() => expect(errors.length).toBeGreaterThanOrEqual(6));
    expect(errors[0]).toMatchObject({
      key: 'k',
      madeKey: cache.makeKey('k'),
      operation: 'getOrSet',
    });
    expect(errors[0]!.error).toBeInstanceOf(BackendError);
    expect(cache.stats().errors).toBe(errors.length);
    // Every failure is an event; the logger gets one warning per operation per second (folded).
    expect(logger.warnings.length).toBeGreaterThanOrEqual(1);
    expect(logger.warnings.length).toBeLessThan(errors.length);
    expect(logger.warnings[0]).toMatchObject({ alias: 'flaky', key: 'k', operation: 'getOrSet' });
  });

  it('getOrSet returns the loader’s value when only add fails, and reports it', async () => {
    const logger = recordingLogger();
    const cache = createCache({
      backend: faultyFactory(new Error('read-only'), { sync, failing: ['add'] }),
      logger,
    });
    const errors: Array<CacheEvents['error']> = [];
    cache.on('error', (event) => errors.push(event));
    expect(await cache.getOrSet('k', () => 7.5)).toBe(7.5);
    expect(errors).toHaveLength(1);
    expect((errors[0]!.error as Error).cause).toMatchObject({ message: 'read-only' });
    expect(logger.warnings).toHaveLength(1);
  });

  it('getOrSet still propagates the loader’s own error when the backend is down', async () => {
    const cache = createCache({
      backend: faultyFactory(new Error('down'), { sync }),
      logger: recordingLogger(),
    });
    const loaderError = new TypeError('loader broke');
    const error = await rejection(
      cache.getOrSet('k', () => {
        throw loaderError;
      }),
    );
    expect(error).toBe(loaderError);
  });

  it('the keys iterator failing part-way rejects with BackendError', async () => {
    const original = new Error('scan failed');
    const factory: BackendFactory = (context) => {
      const inner = new MapStore(context.now);
      return Object.assign(Object.create(inner) as Store, {
        capabilities: { sync },
        keys: () => ({
          async *[Symbol.asyncIterator]() {
            yield ':1:a';
            throw original;
          },
        }),
      });
    };
    const cache = createCache({ backend: factory });
    const error = await rejection(collect(cache.keys()));
    expect(error).toBeInstanceOf(BackendError);
    expect((error as Error).cause).toBe(original);
  });
});

describe('a sync store that throws: the sync twins', () => {
  const original = new Error('disk on fire');
  const twins: Array<[string, (cache: Cache) => unknown]> = [
    ['getSync', (c) => c.getSync('k')],
    ['setSync', (c) => c.setSync('k', 1)],
    ['addSync', (c) => c.addSync('k', 1)],
    ['deleteSync', (c) => c.deleteSync('k')],
    ['hasSync', (c) => c.hasSync('k')],
    ['touchSync', (c) => c.touchSync('k', 5)],
    ['incrSync', (c) => c.incrSync('k')],
    ['decrSync', (c) => c.decrSync('k')],
    ['getManySync', (c) => c.getManySync(['a'])],
    ['setManySync', (c) => c.setManySync({ a: 1 })],
    ['deleteManySync', (c) => c.deleteManySync(['a'])],
    ['clearSync', (c) => c.clearSync()],
    ['ttlSync', (c) => c.ttlSync('k')],
  ];

  it.each(twins)('%s throws BackendError whose cause is the original error', (_name, call) => {
    const cache = createCache({ backend: faultyFactory(original, { sync: true }) });
    let thrown: unknown;
    try {
      call(cache);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(BackendError);
    expect((thrown as Error).cause).toBe(original);
  });

  it('getOrSetSync returns the loader’s value and reports the failure, as getOrSet does (SPEC)', () => {
    const cache = createCache({ backend: faultyFactory(original, { sync: true }) });
    const errors: Array<CacheEvents['error']> = [];
    cache.on('error', (event) => errors.push(event));
    expect(cache.getOrSetSync('k', () => 1)).toBe(1);
    expect(errors.length).toBeGreaterThanOrEqual(1);
    expect(errors[0]).toMatchObject({ key: 'k', operation: 'getOrSet' });
    expect(errors[0]!.error).toBeInstanceOf(BackendError);
    expect(errors[0]!.error.cause).toBe(original);
  });
});

describe('a failing factory', () => {
  it('a factory that throws: operations reject with BackendError carrying the cause', async () => {
    const original = new Error('ECONNREFUSED');
    const cache = createCache({
      backend: () => {
        throw original;
      },
    });
    const error = await rejection(cache.get('k'));
    expect(error).toBeInstanceOf(BackendError);
    expect((error as Error).cause).toBe(original);
  });

  it('a factory that rejects: operations reject with BackendError carrying the cause', async () => {
    const original = new Error('ECONNREFUSED');
    const cache = createCache({ backend: () => Promise.reject(original) });
    const error = await rejection(cache.set('k', 1));
    expect(error).toBeInstanceOf(BackendError);
    expect((error as Error).cause).toBe(original);
  });

  it('getOrSet returns the loader’s value when the factory rejects, and reports it', async () => {
    const logger = recordingLogger();
    const cache = createCache({ backend: () => Promise.reject(new Error('no route')), logger });
    const errors: Array<CacheEvents['error']> = [];
    cache.on('error', (event) => errors.push(event));
    let calls = 0;
    expect(
      await cache.getOrSet('k', async () => {
        calls++;
        return 'fresh';
      }),
    ).toBe('fresh');
    expect(calls).toBe(1);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ key: 'k', operation: 'getOrSet' });
    expect(errors[0]!.error).toBeInstanceOf(BackendError);
    expect(logger.warnings).toHaveLength(1);
    expect(cache.stats().errors).toBe(1);
  });

  it('getOrSet returns the loader’s value when the factory throws synchronously', async () => {
    const cache = createCache({
      backend: () => {
        throw new Error('bad host');
      },
      logger: recordingLogger(),
    });
    expect(await cache.getOrSet('k', () => 1)).toBe(1);
  });

  it('the store is retried on the next operation after a failed open', async () => {
    let attempts = 0;
    const cache = createCache({
      backend: (context) => {
        attempts++;
        if (attempts === 1) throw new Error('first attempt fails');
        return new MapStore(context.now);
      },
    });
    await expect(cache.set('k', 1)).rejects.toBeInstanceOf(BackendError);
    await cache.set('k', 2);
    expect(await cache.get('k')).toBe(2);
    expect(attempts).toBe(2);
  });

  it('a ConfigError from the factory is not wrapped', async () => {
    const original = new ConfigError('bad option');
    const cache = createCache({
      backend: () => {
        throw original;
      },
    });
    expect(await rejection(cache.get('k'))).toBe(original);
  });
});

describe('sync calls on an async-only store', () => {
  /** A working store whose methods return Promises. */
  const asyncStore: BackendFactory = faultyFactory(new Error('unused'), {
    sync: false,
    failing: [],
  });

  const twins: Array<[string, (cache: Cache) => unknown]> = [
    ['getSync', (c) => c.getSync('k')],
    ['setSync', (c) => c.setSync('k', 1)],
    ['addSync', (c) => c.addSync('k', 1)],
    ['deleteSync', (c) => c.deleteSync('k')],
    ['hasSync', (c) => c.hasSync('k')],
    ['touchSync', (c) => c.touchSync('k', 5)],
    ['incrSync', (c) => c.incrSync('k')],
    ['decrSync', (c) => c.decrSync('k')],
    ['getManySync', (c) => c.getManySync(['a'])],
    ['setManySync', (c) => c.setManySync({ a: 1 })],
    ['deleteManySync', (c) => c.deleteManySync(['a'])],
    ['clearSync', (c) => c.clearSync()],
    ['ttlSync', (c) => c.ttlSync('k')],
  ];

  function expectUnsupported(call: () => unknown): void {
    let thrown: unknown;
    try {
      call();
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(UnsupportedOperationError);
    expect(thrown).toMatchObject({ code: 'ERR_CACHE_UNSUPPORTED' });
  }

  it.each(twins)('%s throws UnsupportedOperationError (store made synchronously)', (_n, call) => {
    const cache = createCache({ backend: asyncStore });
    expect(cache.supportsSync).toBe(false);
    expectUnsupported(() => call(cache));
  });

  it.each(twins)('%s throws UnsupportedOperationError after async use', async (_n, call) => {
    const cache = createCache({ backend: asyncStore });
    await cache.set('k', 1);
    expect(await cache.get('k')).toBe(1);
    expectUnsupported(() => call(cache));
  });

  it.each(twins)('%s throws UnsupportedOperationError (factory returns a Promise)', (_n, call) => {
    const cache = createCache({ backend: async (context) => asyncStore(context) });
    expectUnsupported(() => call(cache));
  });

  it('after a refused sync call, the async API still works and opens the store once', async () => {
    let opens = 0;
    const cache = createCache({
      backend: async (context) => {
        opens++;
        return asyncStore(context);
      },
    });
    expectUnsupported(() => cache.getSync('k'));
    await cache.set('k', 'v');
    expect(await cache.get('k')).toBe('v');
    expect(opens).toBe(1);
  });

  it('sync calls and supportsSync while an async open is pending make no extra stores', async () => {
    // Each store may hold a connection: one made and never used is never closed either.
    const made: MapStore[] = [];
    const cache = createCache({
      backend: async (context) => {
        const store = new MapStore(context.now);
        made.push(store);
        return store;
      },
    });
    expectUnsupported(() => cache.getSync('k'));
    expect(cache.supportsSync).toBe(false);
    expectUnsupported(() => cache.hasSync('k'));
    await cache.set('k', 'v');
    await cache.close();
    expect(made).toHaveLength(1);
    expect(made.map((store) => store.closed)).toEqual([1]);
  });

  it('a factory returning a sync store makes supportsSync true before any call', () => {
    const cache = createCache({ backend: (context) => new MapStore(context.now) });
    expect(cache.supportsSync).toBe(true);
    cache.setSync('k', 1);
    expect(cache.getSync('k')).toBe(1);
  });
});
