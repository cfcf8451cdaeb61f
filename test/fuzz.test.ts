/**
 * Property-based fuzzing of the Cache API (issue 12): random keys (lone surrogates, huge strings,
 * non-strings), values, timeouts and options against memory, disk and the shared Redis.
 *
 * Properties, per backend:
 * - every rejection is a skycache error with an `ERR_CACHE_` code (or the loader's own error,
 *   which `getOrSet` must pass through as the same object), and never a `BackendError`: the store
 *   is healthy, so a backend error means an input reached it that should have been refused;
 * - nothing hangs: each call is bounded (5 s);
 * - nothing crashes: no `unhandledRejection`;
 * - afterwards the fuzzed cache still works (an input error did not open its breaker), and 100
 *   sentinel entries of another prefix on the same store are intact.
 *
 * Seeded: `FUZZ_SEED=<n>` replays a run; the seed is printed when a property fails. Bounded: each
 * backend stops generating after a time budget, so the file stays well under 60 s in CI.
 */
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, afterEach, beforeEach, expect, it } from 'vitest';

import { CacheError, type Cache } from '../src/index.js';
import {
  diskBackend,
  memoryBackend,
  redisBackend,
  removeTempDirs,
  type BackendUnderTest,
} from './fixtures/hardening-backends.js';
import { describeWithService } from './support/services.js';

const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : randomBytes(4).readInt32LE();
const CALL_LIMIT_MS = 5000;
/** Generation time per backend; a run in progress finishes after it. */
const BUDGET_MS = Number(process.env.FUZZ_BUDGET_MS ?? 8000);
const SENTINELS = 100;

/** The loader error `getOrSet` must propagate unchanged. */
class LoaderError extends Error {}

/**
 * A long string, generated as its length: counterexamples print `'k'.repeat(n)` instead of the
 * string itself, and {@link materialize} builds it when the operation runs.
 */
class Long {
  constructor(
    readonly char: string,
    readonly length: number,
  ) {}
  [fc.toStringMethod](): string {
    return `${JSON.stringify(this.char)}.repeat(${this.length})`;
  }
}

/** Replaces {@link Long} markers (at any depth of arrays) by their strings. */
function materialize(value: unknown): unknown {
  if (value instanceof Long) return value.char.repeat(value.length);
  if (Array.isArray(value)) return value.map(materialize);
  return value;
}

// ---- arbitraries --------------------------------------------------------------------------

const loneSurrogate = fc.constantFrom('\uD800', '\uDBFF', '\uDC00', '\uDFFF');
const stringKey = fc.oneof(
  { weight: 6, arbitrary: fc.string({ minLength: 1, maxLength: 12 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.string({ maxLength: 4 }), loneSurrogate, fc.string({ maxLength: 4 }))
      .map(([a, s, b]) => a + s + b),
  },
  { weight: 1, arbitrary: fc.constantFrom('', ':', '*', '\\', '[', 'a:b', 'key\u0000', 'é😀') },
  { weight: 1, arbitrary: fc.constantFrom(new Long('k', 1100), new Long('k', 200_000)) },
);
const nonString = fc.constantFrom<unknown>(
  Symbol('k'),
  Object.create(null),
  {},
  [],
  ['a'],
  123,
  0,
  -1,
  NaN,
  null,
  undefined,
  true,
  10n,
  () => 'k',
);
/** Keys drawn from a small pool, so operations meet each other's entries. */
const key = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('a', 'b', 'c', 'n', 'x:y') },
  { weight: 4, arbitrary: stringKey },
  { weight: 1, arbitrary: nonString },
);

function circular(): unknown {
  const object: Record<string, unknown> = { a: 1 };
  object.self = object;
  return object;
}
const value = fc.oneof(
  { weight: 6, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
  { weight: 2, arbitrary: fc.integer() },
  {
    weight: 2,
    arbitrary: fc.constantFrom<unknown>(
      undefined,
      null,
      10n,
      Symbol('v'),
      () => 1,
      NaN,
      Infinity,
      Number.MAX_SAFE_INTEGER,
      2 ** 60,
      Buffer.from([0, 1, 255]),
      new Date(0),
      new Map([[1, 2]]),
      new Long('x', 70_000),
    ),
  },
  { weight: 1, arbitrary: fc.constant(null).map(circular) },
);
const duration = fc.oneof(
  fc.double(),
  fc.integer({ min: -5, max: 5 }),
  fc.constantFrom<unknown>(
    1e308,
    -1e308,
    Infinity,
    -Infinity,
    NaN,
    '9999999999999d',
    '365250d',
    '30d',
    '100d',
    '1ms',
    '0',
    '-5s',
    '1.5h',
    '5 m',
    'soon',
    '',
    null,
    undefined,
    {},
    10n,
  ),
);
const version = fc.oneof(
  { weight: 4, arbitrary: fc.constant(undefined) },
  { weight: 2, arbitrary: fc.integer({ min: -3, max: 3 }) },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(1.5, NaN, '2', null, 2 ** 60) },
);
const storeOptions = fc.oneof(
  fc.constant(undefined),
  duration,
  fc.record({ timeout: duration, version }, { requiredKeys: [] }),
);
const loadOptions = fc.oneof(
  storeOptions,
  fc.record(
    {
      timeout: duration,
      version,
      staleIfError: duration,
      staleWhileRevalidate: duration,
      softTimeout: duration,
      hardTimeout: duration,
      nullTimeout: duration,
      jitter: fc.oneof(fc.double(), fc.constantFrom<unknown>('0.5', -1, 2)),
      lock: fc.oneof(
        fc.boolean(),
        fc.record({ timeout: duration, wait: duration }, { requiredKeys: [] }),
      ),
    },
    { requiredKeys: [] },
  ),
);
const loader = fc.constantFrom<'value' | 'async' | 'throws' | 'rejects' | 'undefined' | 'null'>(
  'value',
  'async',
  'throws',
  'rejects',
  'undefined',
  'null',
);

type Op =
  | { op: 'get' | 'delete' | 'has' | 'ttl'; key: unknown; opts: unknown }
  | { op: 'set' | 'add'; key: unknown; value: unknown; opts: unknown }
  | { op: 'touch'; key: unknown; opts: unknown }
  | { op: 'incr' | 'decr' | 'incrVersion'; key: unknown; delta: unknown; opts: unknown }
  | { op: 'getMany' | 'deleteMany'; keys: unknown[]; opts: unknown }
  | { op: 'setMany'; entries: Array<[unknown, unknown]>; opts: unknown }
  | { op: 'getOrSet'; key: unknown; value: unknown; loader: string; opts: unknown }
  | { op: 'deletePattern' | 'keys'; pattern: unknown; opts: unknown }
  | { op: 'clear' }
  | { op: 'namespace'; name: unknown; inner: Op }
  | { op: 'lock'; name: unknown; opts: unknown }
  | { op: 'runOnce'; name: unknown; fails: boolean; opts: unknown }
  | { op: 'sync'; inner: Op };

const delta = fc.oneof(
  fc.integer({ min: -1000, max: 1000 }),
  fc.constantFrom<unknown>(1.5, NaN, '2', 2 ** 60, undefined),
);
const simpleOp: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    op: fc.constantFrom('get', 'delete', 'has', 'ttl'),
    key,
    opts: fc.oneof(
      fc.constant(undefined),
      fc.record({ version, default: value }, { requiredKeys: [] }),
    ),
  }),
  fc.record({ op: fc.constantFrom('set', 'add'), key, value, opts: storeOptions }),
  fc.record({ op: fc.constant('touch'), key, opts: storeOptions }),
  fc.record({
    op: fc.constantFrom('incr', 'decr', 'incrVersion'),
    key,
    delta,
    opts: fc.oneof(fc.constant(undefined), fc.record({ version }, { requiredKeys: [] })),
  }),
  fc.record({
    op: fc.constantFrom('getMany', 'deleteMany'),
    keys: fc.array(key, { maxLength: 5 }),
    opts: fc.constant(undefined),
  }),
  fc.record({
    op: fc.constant('setMany'),
    entries: fc.array(fc.tuple(key, value), { maxLength: 5 }),
    opts: storeOptions,
  }),
  fc.record({ op: fc.constant('getOrSet'), key, value, loader, opts: loadOptions }),
  fc.record({
    op: fc.constantFrom('deletePattern', 'keys'),
    pattern: fc.oneof(stringKey, fc.constantFrom<unknown>('*', '', '?', '[a-', 'a*', 5, null)),
    opts: fc.constant(undefined),
  }),
  fc.record({ op: fc.constant('clear') }),
  fc.record({
    op: fc.constant('runOnce'),
    name: key,
    fails: fc.boolean(),
    opts: fc.record(
      { ttl: duration, wait: fc.constantFrom<unknown>(0, '0ms') },
      { requiredKeys: ['wait'] },
    ),
  }),
  fc.record({
    op: fc.constant('lock'),
    name: key,
    opts: fc.record(
      // A short wait always: a lock name shares the key space, so a stored value holds it.
      { ttl: duration, wait: fc.constantFrom<unknown>(0, '0ms', '20ms') },
      { requiredKeys: ['wait'] },
    ),
  }),
) as fc.Arbitrary<Op>;
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 8, arbitrary: simpleOp },
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constant('namespace' as const), name: key, inner: simpleOp }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('sync' as const), inner: simpleOp }) },
);

// ---- running an operation -----------------------------------------------------------------

function makeLoader(kind: string, value: unknown): () => unknown {
  switch (kind) {
    case 'async':
      return async () => value;
    case 'throws':
      return () => {
        throw new LoaderError('loader failed');
      };
    case 'rejects':
      return () => Promise.reject(new LoaderError('loader rejected'));
    case 'undefined':
      return () => undefined;
    case 'null':
      return () => null;
    default:
      return () => value;
  }
}

/** Calls one operation (async or, with `sync`, its `…Sync` twin where one exists). */
async function call(cache: Cache, generated: Op, sync: boolean): Promise<unknown> {
  const operation = Object.fromEntries(
    Object.entries(generated).map(([k, v]) => [k, k === 'inner' ? v : materialize(v)]),
  ) as Op;
  // The generated arguments are deliberately mistyped: the API must cope at run time.
  const c = cache as unknown as Record<string, (...args: unknown[]) => unknown>;
  const m = (name: string) =>
    sync && typeof c[`${name}Sync`] === 'function' ? `${name}Sync` : name;
  switch (operation.op) {
    case 'get':
    case 'delete':
    case 'has':
    case 'ttl':
      return c[m(operation.op)]!.call(cache, operation.key, operation.opts);
    case 'set':
    case 'add':
      return c[m(operation.op)]!.call(cache, operation.key, operation.value, operation.opts);
    case 'touch':
      return c[m('touch')]!.call(cache, operation.key, operation.opts);
    case 'incr':
    case 'decr':
    case 'incrVersion':
      return c[m(operation.op)]!.call(cache, operation.key, operation.delta, operation.opts);
    case 'getMany':
    case 'deleteMany':
      return c[m(operation.op)]!.call(cache, operation.keys, operation.opts);
    case 'setMany':
      return c[m('setMany')]!.call(cache, new Map(operation.entries), operation.opts);
    case 'getOrSet': {
      // Under getOrSetSync an 'async' or 'rejects' loader must be refused, its promise handled.
      const loaderOrValue =
        operation.loader === 'value'
          ? operation.value
          : makeLoader(operation.loader, operation.value);
      return c[m('getOrSet')]!.call(cache, operation.key, loaderOrValue, operation.opts);
    }
    case 'deletePattern':
      return c.deletePattern!.call(cache, operation.pattern, operation.opts);
    case 'keys': {
      const found: string[] = [];
      for await (const k of cache.keys(operation.pattern as string)) {
        found.push(k);
        if (found.length >= 50) break;
      }
      return found;
    }
    case 'clear':
      return c[m('clear')]!.call(cache);
    case 'namespace':
      return call(cache.namespace(operation.name as string), operation.inner, sync);
    case 'lock': {
      const lock = await cache.lock(operation.name as string, operation.opts as never);
      return lock.release();
    }
    case 'runOnce':
      return cache.runOnce(
        operation.name as string,
        operation.fails
          ? () => {
              throw new LoaderError('job failed');
            }
          : () => undefined,
        operation.opts as never,
      );
    case 'sync':
      return call(cache, operation.inner, cache.supportsSync);
  }
}

/** Runs `run`, failing if it takes longer than the per-call limit. */
function bounded(run: () => Promise<unknown>, what: string): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    run().finally(() => clearTimeout(timer)),
    new Promise((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`hung: ${what} did not settle within ${CALL_LIMIT_MS} ms`)),
        CALL_LIMIT_MS,
      );
    }),
  ]);
}

function describeOp(operation: Op): string {
  // fc.stringify copes with cycles, symbols and BigInts; long strings are cut.
  const text = fc.stringify(operation);
  return text.length > 400 ? `${text.slice(0, 400)}…` : text;
}

/** Checks what one operation threw: a skycache error that is not a backend error, or the loader's. */
function checkFailure(error: unknown, operation: Op): void {
  if (error instanceof LoaderError) return;
  const where = describeOp(operation);
  if (!(error instanceof CacheError)) {
    throw new Error(`not a skycache error from ${where}: ${String(error)}`, { cause: error });
  }
  if (!error.code.startsWith('ERR_CACHE_')) throw new Error(`code ${error.code} from ${where}`);
  if (error.code === 'ERR_CACHE_BACKEND') {
    throw new Error(`BackendError on a healthy store from ${where}: ${error.message}`, {
      cause: error,
    });
  }
}

// ---- the test -----------------------------------------------------------------------------

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => {
  unhandled.push(reason);
};
const opened: Cache[] = [];

beforeEach(() => {
  unhandled.length = 0;
  process.on('unhandledRejection', onUnhandled);
});
afterEach(async () => {
  process.off('unhandledRejection', onUnhandled);
  for (const cache of opened.splice(0)) {
    await cache.clear().catch(() => {});
    await cache.close().catch(() => {});
  }
});
afterAll(removeTempDirs);

async function fuzz(backend: BackendUnderTest): Promise<void> {
  // Two caches on one store: the sentinels' prefix must survive whatever the fuzzed one does.
  const location = backend.freshLocation();
  const fuzzed = backend.make({ location, circuitBreaker: { failures: 5, openFor: '60s' } });
  const sentinels = backend.make({ location });
  opened.push(fuzzed, sentinels);
  for (let i = 0; i < SENTINELS; i++) await sentinels.set(`sentinel:${i}`, { i, v: 'kept' }, null);

  const started = performance.now();
  let runs = 0;
  try {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 20 }), async (operations) => {
        runs++;
        for (const operation of operations) {
          try {
            await bounded(() => call(fuzzed, operation, false), describeOp(operation));
          } catch (error) {
            if (error instanceof Error && error.message.startsWith('hung:')) throw error;
            checkFailure(error, operation);
          }
        }
        if (unhandled.length > 0) {
          throw new Error(`unhandled rejection: ${String(unhandled[0])}`);
        }
      }),
      {
        seed: SEED,
        numRuns: 100_000,
        interruptAfterTimeLimit: BUDGET_MS,
        markInterruptAsFailure: false,
        endOnFailure: true,
      },
    );
  } catch (error) {
    console.error(`[fuzz] ${backend.name} failed; replay with FUZZ_SEED=${SEED}`);
    throw error;
  }
  expect(runs).toBeGreaterThan(0);
  expect(performance.now() - started).toBeLessThan(BUDGET_MS + 15_000);

  // Still usable: no input error opened the breaker or broke the connection.
  await fuzzed.set('probe', 'after');
  expect(await fuzzed.get('probe')).toBe('after');
  // Every sentinel intact.
  const found = await sentinels.getMany(
    Array.from({ length: SENTINELS }, (_, i) => `sentinel:${i}`),
  );
  expect(found.size).toBe(SENTINELS);
  for (const [k, v] of found) expect(v).toEqual({ i: Number(k.split(':')[1]), v: 'kept' });
  await new Promise((resolve) => setTimeout(resolve, 20));
  expect(unhandled).toEqual([]);
}

for (const backend of [memoryBackend, diskBackend, redisBackend]) {
  describeWithService(
    backend.name,
    await backend.unavailable(),
    `fuzzing the Cache API on ${backend.name}`,
    () => {
      it(
        `every rejection is an ERR_CACHE_ error, nothing hangs or crashes, sentinels survive (seed ${SEED})`,
        () => fuzz(backend),
        BUDGET_MS + 40_000,
      );
    },
  );
}
