/**
 * The store a cache runs on, made from the store its backend opened: tags on every backend, and
 * with `l1`, the first tier in front. The cache's guard (operation timeout, circuit breaker) goes
 * around L2 only, so L1 hits do not depend on L2 and never count for its breaker:
 *
 *   no l1:  TagCheckingStore(store)                   — the cache guards its calls as usual
 *   l1:     TieredStore(L1, TagCheckingStore(guard(store)))  — `capabilities.guarded`
 */
import type { ResolvedConfig } from '../config/types.js';
import type { Store } from '../core/store.js';
import { TagCheckingStore } from '../core/tags/tag-store.js';
import { withFirstTier } from './open.js';

/**
 * @param guard wraps a store so its calls go through the cache's guard (`guardStore`)
 */
export function composeStore(
  store: Store,
  config: ResolvedConfig,
  now: () => number,
  guard: (store: Store) => Store,
): Store {
  // A memory store is this process's alone: its reads skip the tag check until tags are used.
  if (!config.l1) return new TagCheckingStore(store, config.backendName === 'memory', now);
  return withFirstTier(new TagCheckingStore(guard(store), false, now), config, now);
}
