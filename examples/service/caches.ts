/**
 * The two caches the service uses, both on `CACHE_URL`:
 *
 * - `store`: the seed's raw keys (`role:R_HR_ADMIN:apis`, `dict_options:gender`, …) with no prefix and
 *   no version, JSON, so that the seed's `redis-cli` commands work on them as written;
 * - `reports`: the endpoint cache of the HTTP layer, in its own namespace `reports` with hashed keys
 *   (`reports:1:<sha256>`: request details never show up in key names, and keys never grow).
 */
import { createCache, type Cache, type Logger } from '../../src/index.js';
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

export interface ServiceCaches {
  store: Cache;
  reports: Cache;
}

export function openCaches(cacheUrl: string, logger: Logger): ServiceCaches {
  const base = cacheConfigFromUrl(cacheUrl);
  return {
    store: createCache({ ...base, keyFunction: seedKey, serializer: 'json', logger }, 'store'),
    reports: createCache({ ...base, keyPrefix: 'reports', hashKeys: true, logger }, 'reports'),
  };
}
