/**
 * `skycache/prometheus`: cache metrics for Prometheus, on prom-client (an optional peer).
 *
 * ```ts
 * import { register } from 'prom-client';
 * import { registerMetrics } from 'skycache/prometheus';
 *
 * registerMetrics();                       // every configured alias, on prom-client's default registry
 * app.get('/metrics', async (_req, reply) =>
 *   reply.type(register.contentType).send(await register.metrics()));
 * ```
 *
 * Counters are read from `cache.stats()` when Prometheus scrapes (nothing is added to the hot path);
 * only the loader-duration histogram listens to an event (`load`, once per loader call). Every
 * series is labelled by the cache's alias, never by key, so cardinality stays at aliases × labels.
 */
import { createRequire } from 'node:module';
import type * as PromClient from 'prom-client';
import type { Cache } from '../../core/cache.js';
import { ConfigError } from '../../core/errors.js';
import { selectCaches, type CacheSelection } from '../cache-selection.js';
import { readStats, type CacheSource } from './stats.js';

export type { CacheSource } from './stats.js';

/** Options of {@link registerMetrics}. */
export interface MetricsOptions {
  /** Where the metrics are registered. Default: prom-client's global `register`. */
  registry?: PromClient.Registry;
  /**
   * The caches to report: `Cache` objects, aliases, or a record of alias → cache. Default: every
   * alias of the registry (`initCaches`), looked up again at each scrape so later `initCaches`
   * calls are followed.
   */
  caches?: CacheSelection;
  /**
   * Bucket upper bounds of `cache_load_duration_seconds`, in seconds. Default: 1 ms to 10 s.
   */
  loadDurationBuckets?: number[];
}

/** What {@link registerMetrics} made, to remove it again (tests, hot reload). */
export interface RegisteredMetrics {
  readonly registry: PromClient.Registry;
  /** Stops listening to `load` events and removes every metric from the registry. */
  unregister(): void;
}

const DEFAULT_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** prom-client, loaded on first use so that importing skycache never needs it. */
function promClient(): typeof PromClient {
  try {
    return createRequire(import.meta.url)('prom-client') as typeof PromClient;
  } catch (error) {
    throw new ConfigError(
      'skycache/prometheus needs the prom-client package: npm install prom-client',
      { cause: error },
    );
  }
}

/**
 * Registers skycache's metrics: `cache_gets_total{cache,result,tier}`, `cache_puts_total`,
 * `cache_deletes_total`, `cache_errors_total{operation}`, `cache_stale_served_total{reason}`,
 * `cache_loads_total{result}`, `cache_load_duration_seconds`, `cache_lock_waits_total` and
 * `cache_circuit_open` (1 while the breaker is open, else 0), all labelled `cache` = alias.
 * @throws ConfigError if prom-client is not installed
 */
export function registerMetrics(options: MetricsOptions = {}): RegisteredMetrics {
  const client = promClient();
  const registry = options.registry ?? client.register;
  const registers = [registry];
  const listening = new Map<Cache, (event: { durationMs: number; ok: boolean }) => void>();

  const loadDuration = new client.Histogram({
    name: 'cache_load_duration_seconds',
    help: 'Time getOrSet loaders took, in seconds (one observation per loader call).',
    labelNames: ['cache', 'result'],
    buckets: options.loadDurationBuckets ?? DEFAULT_BUCKETS,
    registers,
  });

  /** Listens to `load` on caches not seen yet (the default set can grow between scrapes). */
  const listen = (current: CacheSource[]) => {
    for (const { alias, cache } of current) {
      if (listening.has(cache)) continue;
      const listener = (event: { durationMs: number; ok: boolean }) =>
        loadDuration.observe(
          { cache: alias, result: event.ok ? 'success' : 'failure' },
          event.durationMs / 1000,
        );
      // `load` is part of the event contract; the cast keeps this compiling against cores without it.
      (cache.on as (event: string, fn: typeof listener) => Cache)('load', listener);
      listening.set(cache, listener);
    }
  };

  /** A metric whose values are set from every cache's stats at scrape time. */
  const fromStats = (
    kind: 'Counter' | 'Gauge',
    name: string,
    help: string,
    labelNames: string[],
    fill: (
      set: (labels: Record<string, string>, value: number) => void,
      source: CacheSource,
    ) => void,
  ) => {
    names.push(name);
    new client[kind]({
      name,
      help,
      labelNames: ['cache', ...labelNames],
      registers,
      collect(this: PromClient.Counter | PromClient.Gauge) {
        this.reset();
        const current = selectCaches(options.caches);
        listen(current);
        for (const source of current) {
          fill((labels, value) => {
            const full = { cache: source.alias, ...labels };
            if (kind === 'Gauge') (this as PromClient.Gauge).set(full, value);
            else (this as PromClient.Counter).inc(full, value);
          }, source);
        }
      },
    });
  };

  const names = ['cache_load_duration_seconds'];
  // Registered on construction; only their names are kept (for unregister).
  fromStats(
    'Counter',
    'cache_gets_total',
    'Lookups (get, getMany per key, getOrSet).',
    ['result', 'tier'],
    (set, source) => {
      const stats = readStats(source.cache);
      // Tiered caches split hits by tier; hits no tier claims (all of them on a single-tier
      // cache) stay unlabelled, so sum(cache_gets_total{result="hit"}) is always stats().hits.
      const l1 = stats.l1Hits ?? 0;
      const l2 = stats.l2Hits ?? 0;
      if (l1 + l2 > 0) {
        set({ result: 'hit', tier: 'l1' }, l1);
        set({ result: 'hit', tier: 'l2' }, l2);
      }
      set({ result: 'hit' }, Math.max(0, stats.hits - l1 - l2));
      set({ result: 'miss' }, stats.misses);
    },
  );
  fromStats('Counter', 'cache_puts_total', 'Values stored.', [], (set, { cache }) =>
    set({}, readStats(cache).sets),
  );
  fromStats('Counter', 'cache_deletes_total', 'Entries removed.', [], (set, { cache }) =>
    set({}, readStats(cache).deletes),
  );
  fromStats(
    'Counter',
    'cache_errors_total',
    'Backend problems, by operation.',
    ['operation'],
    (set, { cache }) => {
      for (const [operation, count] of Object.entries(readStats(cache).errorsByOperation))
        set({ operation }, count);
    },
  );
  fromStats(
    'Counter',
    'cache_stale_served_total',
    'Stale values served by getOrSet, by window.',
    ['reason'],
    (set, { cache }) => {
      for (const [reason, count] of Object.entries(readStats(cache).staleServed))
        set({ reason }, count);
    },
  );
  fromStats(
    'Counter',
    'cache_loads_total',
    'Loader calls getOrSet ran.',
    ['result'],
    (set, { cache }) => {
      const stats = readStats(cache);
      set({ result: 'success' }, stats.loads - stats.loadFailures);
      set({ result: 'failure' }, stats.loadFailures);
    },
  );
  fromStats(
    'Counter',
    'cache_lock_waits_total',
    'Times a caller waited for a lock another holder had.',
    [],
    (set, { cache }) => set({}, readStats(cache).lockWaits),
  );
  fromStats(
    'Gauge',
    'cache_circuit_open',
    '1 while the circuit breaker is open (failing fast), else 0.',
    [],
    (set, { cache }) => set({}, readStats(cache).circuit === 'open' ? 1 : 0),
  );
  listen(selectCaches(options.caches));

  return {
    registry,
    unregister() {
      for (const [cache, listener] of listening)
        (cache.off as (event: string, fn: typeof listener) => Cache)('load', listener);
      listening.clear();
      for (const name of names) registry.removeSingleMetric(name);
    },
  };
}
