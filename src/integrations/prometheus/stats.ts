/**
 * The counters the exporter reads, taken from `cache.stats()` with the fields a core may not have
 * yet (tiers, loads…) filled in as zero, so a scrape never fails on a missing field.
 */
import type { Cache } from '../../core/cache.js';

/** One cache to report and the alias that labels it. */
export interface CacheSource {
  readonly alias: string;
  readonly cache: Cache;
}

/** Every counter the metrics need. */
export interface MetricStats {
  hits: number;
  misses: number;
  sets: number;
  deletes: number;
  errors: number;
  circuit: 'closed' | 'open' | 'half-open';
  errorsByOperation: Record<string, number>;
  staleServed: Record<string, number>;
  loads: number;
  loadFailures: number;
  lockWaits: number;
  /** Tiered caches only. */
  l1Hits?: number;
  l2Hits?: number;
}

/** `cache.stats()` with every field of {@link MetricStats} present. */
export function readStats(cache: Cache): MetricStats {
  const stats = cache.stats() as Partial<MetricStats> & { hits: number; misses: number };
  const errors = stats.errors ?? 0;
  return {
    hits: stats.hits,
    misses: stats.misses,
    sets: stats.sets ?? 0,
    deletes: stats.deletes ?? 0,
    errors,
    circuit: stats.circuit ?? 'closed',
    // Without the per-operation split, the total is reported under operation="unknown".
    errorsByOperation: stats.errorsByOperation ?? (errors > 0 ? { unknown: errors } : {}),
    staleServed: { revalidate: 0, error: 0, 'soft-timeout': 0, ...stats.staleServed },
    loads: stats.loads ?? 0,
    loadFailures: stats.loadFailures ?? 0,
    lockWaits: stats.lockWaits ?? 0,
    l1Hits: stats.l1Hits,
    l2Hits: stats.l2Hits,
  };
}
