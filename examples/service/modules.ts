/**
 * Module-local hot spots (the seed's `<module>/cache_utils.py` pattern): small read-mostly results
 * kept under `<module>_<resource>:<scope>` keys and deleted when their data changes. The three
 * classic failure modes each have a one-line defence, visible where it applies:
 *
 * - avalanche (many keys expiring together): `jitter` spreads the expiry times;
 * - breakdown (a hot key expiring under load): `lock` lets one process reload it, the others wait;
 * - penetration (requests for things that do not exist): `nullTimeout` remembers "nothing" briefly.
 */
import type { Cache } from '../../src/index.js';
import type { AppDatabase, DataScope, DictOption, UserRow } from './database.js';

export const dictKey = (type: string) => `dict_options:${type}`;

/** `GET /api/dictionaries/:type/options`: `[]` for an unknown type. */
export async function dictOptions(
  cache: Cache,
  db: AppDatabase,
  type: string,
): Promise<DictOption[]> {
  const options = await cache.getOrSet<DictOption[] | null>(
    dictKey(type),
    () => db.dictOptions(type) ?? null,
    {
      timeout: '1h',
      // avalanche: dictionaries loaded together at start-up must not all expire in the same second
      jitter: 0.1,
      // penetration: an unknown type is remembered as null for 30 s, so probing random types
      // cannot turn every request into a database query
      nullTimeout: '30s',
    },
  );
  return options ?? [];
}

/** Active invalidation after a dictionary change (the next read reloads it). */
export async function invalidateDictOptions(cache: Cache, type: string): Promise<void> {
  await cache.delete(dictKey(type));
}

/** How long lead statistics are kept, in seconds (the seed's STATS_TTL = 5 * 60). */
export const STATS_TTL_S = 5 * 60;

/** The statistics key for a data scope: `crm_lead_cnt:all`, `crm_lead_cnt:dept_42`, `crm_lead_cnt:user_3`. */
export function leadStatsKey(scope: DataScope, user: UserRow): string {
  if (scope === 'all') return 'crm_lead_cnt:all';
  if (scope === 'self') return `crm_lead_cnt:user_${user.id}`;
  return `crm_lead_cnt:dept_${user.departmentId}`;
}

/** `GET /api/leads/stats`: lead counts by status within the caller's data scope. */
export async function leadStats(cache: Cache, db: AppDatabase, scope: DataScope, user: UserRow) {
  const key = leadStatsKey(scope, user);
  const counts = await cache.getOrSet(
    key,
    () =>
      db.leadCounts(
        scope === 'all'
          ? {}
          : scope === 'self'
            ? { ownerId: user.id }
            : { departmentId: user.departmentId },
      ),
    {
      timeout: STATS_TTL_S,
      // avalanche: every scope's statistics were filled at about the same time
      jitter: 0.1,
      // breakdown: when a busy key expires, one process (across workers) runs the aggregate query
      lock: { timeout: '10s', wait: '5s' },
    },
  );
  return { scope: key.slice('crm_lead_cnt:'.length), counts };
}

/** Active invalidation after a lead changes: every scope's statistics. */
export async function invalidateLeadStats(cache: Cache): Promise<void> {
  await cache.deletePattern('crm_lead_cnt:*');
}
