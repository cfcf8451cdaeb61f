/**
 * The caches the service uses, all on `CACHE_URL`:
 *
 * - `store`: the seed's raw keys (`token_version:3`, `dict_options:gender`, `app:init_done`, …) with
 *   no prefix and no version, JSON, so that the seed's `redis-cli` commands work on them as written;
 * - `permissions`: the same store and key layout (`role:R_HR_ADMIN:apis`, `user:2:roles`, …), with an
 *   in-process first tier (`l1`) on Redis and PostgreSQL: permission checks run on every request and
 *   change rarely. The service's own writes reach every worker's L1 through the invalidation bus at
 *   once; an edit made behind its back (`redis-cli set`) is seen within `l1.timeout`. Disk has no
 *   bus, so there the permission cache reads the store directly. Token versions stay in `store`
 *   (no L1): `redis-cli incr token_version:{uid}` must revoke at once;
 * - `reports`: the endpoint cache of the HTTP layer, in its own namespace `reports` with hashed keys
 *   (`reports:1:<sha256>`: request details never show up in key names, and keys never grow).
 */
import { createCache, type Cache, type CacheConfig, type Logger } from '../../src/index.js';
import { cacheConfigFromUrl } from './config.js';

/**
 * The store's keys are the caller's keys as they are. `runOnce(name)` keeps its lock and flag under
 * `${name}:lock` / `${name}:done`; the seed calls them `app:init_lock` / `app:init_done`.
 */
export function seedKey(key: string): string {
  if (key === 'app:init:lock') return 'app:init_lock';
  if (key === 'app:init:done') return 'app:init_done';
  return key;
}

/** How long a permission entry may live in a worker's L1, in seconds (`PERMISSIONS_L1_TIMEOUT`). */
export const DEFAULT_L1_TIMEOUT_S = 10;

export interface ServiceCaches {
  store: Cache;
  permissions: Cache;
  reports: Cache;
}

export function openCaches(
  cacheUrl: string,
  logger: Logger,
  l1TimeoutSeconds = DEFAULT_L1_TIMEOUT_S,
): ServiceCaches {
  const base = cacheConfigFromUrl(cacheUrl);
  const raw: CacheConfig = { ...base, keyFunction: seedKey, serializer: 'json', logger };
  const withBus = base.backend === 'redis' || base.backend === 'postgres';
  return {
    store: createCache(raw, 'store'),
    permissions: createCache(
      withBus ? { ...raw, l1: { maxEntries: 10_000, timeout: l1TimeoutSeconds } } : raw,
      'permissions',
    ),
    reports: createCache({ ...base, keyPrefix: 'reports', hashKeys: true, logger }, 'reports'),
  };
}

export async function closeCaches(caches: ServiceCaches): Promise<void> {
  await Promise.allSettled([
    caches.store.close(),
    caches.permissions.close(),
    caches.reports.close(),
  ]);
}
