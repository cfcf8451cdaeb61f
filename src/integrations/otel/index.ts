/**
 * `skycache/otel`: OpenTelemetry spans for cache operations, built from the `skycache:operation`
 * tracing channel (see `operationChannel`), so APM users see cache calls in their traces.
 *
 * ```ts
 * import { instrumentSkycache } from 'skycache/otel';
 *
 * const stop = instrumentSkycache();          // after the OpenTelemetry SDK is set up
 * // … every store call of every cache is now a span `skycache get`, child of the active span
 * stop();
 * ```
 *
 * A span carries the operation, the cache alias and the backend — never the key, the value or an
 * error message (messages may quote keys): a failed call sets the span status to ERROR with the
 * error's `code` (`ERR_CACHE_BACKEND`…). `@opentelemetry/api` 1.x is an optional peer dependency.
 * While instrumented, the memory backend's direct `get` fast path is off (one traced call instead).
 */
import { tracingChannel } from 'node:diagnostics_channel';
import {
  context,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Span,
  type TracerProvider,
} from '@opentelemetry/api';
import type { OperationTraceContext } from '../../index.js';

/** Options of {@link instrumentSkycache}. */
export interface SkycacheInstrumentationOptions {
  /** Where spans go. Default: the global provider (`trace.getTracerProvider()`), read once now. */
  tracerProvider?: TracerProvider;
  /** Whether to trace an operation; default every one. Called with no key: there is none to see. */
  filter?: (operation: OperationTraceContext) => boolean;
}

/** The tracer's instrumentation scope name. */
export const INSTRUMENTATION_NAME = 'skycache';

/** What the tracing channel adds to the context as the call goes (Node's `tracePromise`/`traceSync`). */
interface TracedCall extends OperationTraceContext {
  result?: unknown;
  error?: unknown;
}

// OpenTelemetry's `db.system.name` values for the stores skycache speaks to; the in-process
// backends (memory, dummy) and custom ones get only `skycache.backend`.
const DB_SYSTEMS: Readonly<Record<string, string>> = {
  redis: 'redis',
  postgres: 'postgresql',
  disk: 'sqlite',
};
const NETWORK_BACKENDS = new Set(['redis', 'postgres']);

function attributesOf(call: OperationTraceContext): Attributes {
  const attributes: Attributes = {
    'db.operation.name': call.operation,
    'skycache.operation': call.operation,
    'skycache.alias': call.alias,
    'skycache.backend': call.backend,
  };
  const system = DB_SYSTEMS[call.backend];
  if (system) attributes['db.system.name'] = system;
  return attributes;
}

/** A stable, key-free description of a failure: skycache's `code`, else the error's class name. */
function errorType(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string') return code;
  return error instanceof Error ? error.name : typeof error;
}

/**
 * Subscribes to `skycache:operation` and turns each store call into a span named
 * `skycache <operation>` (kind CLIENT for Redis and PostgreSQL, INTERNAL otherwise), a child of the
 * span active when the call started. Calling it twice makes two subscriptions (two spans per call).
 * @returns a function that unsubscribes (spans already started still end)
 */
export function instrumentSkycache(options: SkycacheInstrumentationOptions = {}): () => void {
  const tracer = (options.tracerProvider ?? trace.getTracerProvider()).getTracer(
    INSTRUMENTATION_NAME,
  );
  const filter = options.filter;
  // The channel hands the same context object to every event of one call.
  const spans = new WeakMap<object, Span>();

  const finish = (call: TracedCall): void => {
    const span = spans.get(call);
    if (!span) return;
    spans.delete(call);
    if ('error' in call) {
      const type = errorType(call.error);
      span.setAttribute('error.type', type);
      span.setStatus({ code: SpanStatusCode.ERROR, message: type });
    }
    span.end();
  };

  const handlers = {
    start(call: TracedCall): void {
      if (filter && !filter(call)) return;
      const span = tracer.startSpan(
        `${INSTRUMENTATION_NAME} ${call.operation}`,
        {
          kind: NETWORK_BACKENDS.has(call.backend) ? SpanKind.CLIENT : SpanKind.INTERNAL,
          attributes: attributesOf(call),
        },
        context.active(),
      );
      spans.set(call, span);
    },
    // `end` closes the synchronous part. A sync call (traceSync) has a `result` or an `error` by
    // then; an async one (tracePromise) has neither until it settles, at `asyncEnd`.
    end(call: TracedCall): void {
      if ('result' in call || 'error' in call) finish(call);
    },
    asyncStart(): void {},
    asyncEnd: finish,
    error(): void {},
  };

  const channel = tracingChannel<unknown, TracedCall>('skycache:operation');
  channel.subscribe(handlers);
  return () => channel.unsubscribe(handlers);
}
