/**
 * skycache/otel: cache operations become OpenTelemetry spans (in an in-memory exporter) with the
 * operation name and backend, as children of the active span, and never carry the key.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import {
  context,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Context,
  type ContextManager,
} from '@opentelemetry/api';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-base';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createCache } from '../src/core/registry.js';
import { instrumentSkycache } from '../src/integrations/otel/index.js';
import {
  adminPool,
  backend as postgresBackend,
  dropTables,
  POSTGRES_URL,
  probePostgres,
} from './fixtures/postgres-helpers.js';
import { makeRedisCache, probeRedis, redisUrl } from './fixtures/redis-servers.js';
import { describeWithService } from './support/services.js';

/** The smallest AsyncLocalStorage context manager, so `context.with` reaches async cache calls. */
class AlsContextManager implements ContextManager {
  readonly #storage = new AsyncLocalStorage<Context>();
  active(): Context {
    return this.#storage.getStore() ?? ROOT_CONTEXT;
  }
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(
    ctx: Context,
    fn: F,
    thisArg?: ThisParameterType<F>,
    ...args: A
  ): ReturnType<F> {
    return this.#storage.run(ctx, () => fn.call(thisArg, ...args));
  }
  bind<T>(_ctx: Context, target: T): T {
    return target;
  }
  enable(): this {
    return this;
  }
  disable(): this {
    this.#storage.disable();
    return this;
  }
}

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const contextManager = new AlsContextManager();
let stop: () => void;

beforeAll(() => {
  context.setGlobalContextManager(contextManager);
  stop = instrumentSkycache({ tracerProvider: provider });
});
afterAll(async () => {
  stop();
  context.disable();
  await provider.shutdown();
});
afterEach(() => exporter.reset());

/** Everything a span exposes to an exporter, as one string, to look for a key in. */
function exported(span: ReadableSpan): string {
  return JSON.stringify({
    name: span.name,
    attributes: span.attributes,
    status: span.status,
    events: span.events,
    links: span.links,
  });
}

function cacheSpans(): ReadableSpan[] {
  return exporter.getFinishedSpans().filter((span) => span.name.startsWith('skycache '));
}

/** Spans of a network backend: CLIENT, with `db.system.name` and the backend, without the key. */
function expectClientSpans(
  spans: ReadableSpan[],
  expected: { system: string; backend: string; key: string },
): void {
  for (const span of spans) {
    expect(span.kind).toBe(SpanKind.CLIENT);
    expect(span.attributes).toMatchObject({
      'db.system.name': expected.system,
      'skycache.backend': expected.backend,
    });
    expect(exported(span)).not.toContain(expected.key);
  }
}

describe('skycache/otel on the memory backend', () => {
  it('makes one span per operation with its name and backend, sync and async, never the key', async () => {
    const key = `secret-user-${randomUUID()}`;
    const cache = createCache({ backend: 'memory', location: `otel-${randomUUID()}` }, 'otel-mem');
    await cache.set(key, { email: 'someone@example.com' });
    await cache.get(key);
    cache.getSync(key);
    await cache.delete(key);

    const spans = cacheSpans();
    expect(spans.map((span) => span.name)).toEqual([
      'skycache set',
      'skycache get',
      'skycache get',
      'skycache delete',
    ]);
    for (const span of spans) {
      expect(span.attributes).toMatchObject({
        'skycache.backend': 'memory',
        'skycache.alias': 'otel-mem',
        'db.operation.name': span.name.slice('skycache '.length),
      });
      expect(span.kind).toBe(SpanKind.INTERNAL);
      expect(span.status.code).not.toBe(SpanStatusCode.ERROR);
      expect(span.ended).toBe(true);
      expect(exported(span)).not.toContain(key);
      expect(exported(span)).not.toContain('someone@example.com');
    }
  });

  it('marks a failed operation with its error code, not its message (which names the key)', async () => {
    const key = `missing-${randomUUID()}`;
    const cache = createCache({ backend: 'memory', location: `otel-${randomUUID()}` });
    const failure = await cache.incr(key).catch((error: unknown) => error as Error);
    expect(failure).toMatchObject({ code: 'ERR_CACHE_KEY_NOT_FOUND' });

    const [span] = cacheSpans();
    expect(span?.name).toBe('skycache incr');
    expect(span?.status).toEqual({
      code: SpanStatusCode.ERROR,
      message: 'ERR_CACHE_KEY_NOT_FOUND',
    });
    expect(span?.attributes['error.type']).toBe('ERR_CACHE_KEY_NOT_FOUND');
    expect(exported(span!)).not.toContain(key);
  });

  it('parents cache spans to the span active when the call started', async () => {
    const cache = createCache({ backend: 'memory', location: `otel-${randomUUID()}` });
    const tracer = provider.getTracer('test');
    await tracer.startActiveSpan('GET /users/:id', async (request) => {
      await cache.set('user:1', 1);
      await cache.get('user:1');
      request.end();
    });
    const request = exporter.getFinishedSpans().find((span) => span.name === 'GET /users/:id')!;
    const spans = cacheSpans();
    expect(spans).toHaveLength(2);
    for (const span of spans) {
      expect(span.parentSpanContext?.spanId).toBe(request.spanContext().spanId);
      expect(span.spanContext().traceId).toBe(request.spanContext().traceId);
    }
    expect(trace.getActiveSpan()).toBeUndefined();
  });

  it('honours a filter and stops when told', async () => {
    const cache = createCache({ backend: 'memory', location: `otel-${randomUUID()}` });
    const writesOnly = instrumentSkycache({
      tracerProvider: provider,
      filter: (call) => call.operation === 'set',
    });
    stop();
    try {
      await cache.set('a', 1);
      await cache.get('a');
      expect(cacheSpans().map((span) => span.name)).toEqual(['skycache set']);
    } finally {
      writesOnly();
      stop = instrumentSkycache({ tracerProvider: provider });
    }
    exporter.reset();
    await cache.get('a');
    expect(cacheSpans().map((span) => span.name)).toEqual(['skycache get']);
  });
});

describeWithService('Redis', await probeRedis(), 'skycache/otel on Redis', () => {
  it('makes CLIENT spans with db.system.name redis and the operation, never the key', async () => {
    const key = `token:${randomUUID()}`;
    const cache = makeRedisCache({ location: redisUrl(0), keyPrefix: `otel-${randomUUID()}` });
    try {
      await cache.set(key, 'v', 30);
      expect(await cache.get(key)).toBe('v');
      await cache.getMany([key, `${key}-2`]);
      await cache.delete(key);
    } finally {
      await cache.close();
    }
    const spans = cacheSpans();
    expect(spans.map((span) => span.name)).toEqual(
      expect.arrayContaining([
        'skycache set',
        'skycache get',
        'skycache getMany',
        'skycache delete',
      ]),
    );
    expectClientSpans(spans, { system: 'redis', backend: 'redis', key });
  });

  it('records an unreachable server as an ERR_CACHE_BACKEND span', async () => {
    // Port 1 on loopback: nothing listens there, the connection is refused at once.
    const cache = makeRedisCache({
      location: 'redis://127.0.0.1:1/0',
      operationTimeout: '500ms',
      circuitBreaker: false,
    });
    try {
      await expect(cache.get('k')).rejects.toMatchObject({ code: 'ERR_CACHE_BACKEND' });
    } finally {
      await cache.close();
    }
    const [span] = cacheSpans();
    expect(span?.status.code).toBe(SpanStatusCode.ERROR);
    expect(span?.attributes['error.type']).toBe('ERR_CACHE_BACKEND');
  });
});

describeWithService('PostgreSQL', await probePostgres(), 'skycache/otel on PostgreSQL', () => {
  afterAll(async () => {
    const pool = adminPool();
    await dropTables(pool, 'skycache_test_otel');
    await pool.end();
  });

  it('makes CLIENT spans with db.system.name postgresql, never the key', async () => {
    const key = `invoice:${randomUUID()}`;
    const cache = createCache({
      backend: postgresBackend,
      location: POSTGRES_URL,
      keyPrefix: `otel-${randomUUID()}`,
      options: { table: 'skycache_test_otel' },
      operationTimeout: '2s',
    });
    try {
      await cache.set(key, 'v', 30);
      expect(await cache.get(key)).toBe('v');
      await cache.clear();
    } finally {
      await cache.close();
    }
    const spans = cacheSpans();
    expect(spans.map((span) => span.name)).toEqual(
      expect.arrayContaining(['skycache set', 'skycache get', 'skycache clear']),
    );
    expectClientSpans(spans, { system: 'postgresql', backend: 'postgres', key });
  });
});
