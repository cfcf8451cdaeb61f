/**
 * Tracing for APM tools through Node's `diagnostics_channel`: every store call of every cache is
 * published on the tracing channel `skycache:operation` (start, end, asyncStart, asyncEnd, error)
 * with a context `{ operation, alias, backend }`. Costs one check when nobody subscribes.
 *
 * ```ts
 * import { tracingChannel } from 'node:diagnostics_channel';
 * tracingChannel('skycache:operation').subscribe({ start(ctx) { … }, asyncEnd(ctx) { … }, error(ctx) { … } });
 * ```
 */
import { tracingChannel } from 'node:diagnostics_channel';

/** The context published with each traced store call. */
export interface OperationTraceContext {
  /** The Cache method (`get`, `set`, `getOrSet`, `lock`, …). */
  readonly operation: string;
  readonly alias: string;
  readonly backend: string;
}

/** The tracing channel of store calls. */
export const operationChannel = tracingChannel<unknown, OperationTraceContext>(
  'skycache:operation',
);
