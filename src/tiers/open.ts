/**
 * Puts a configured cache's store behind an L1 (when the config has `l1`), with its bus.
 *
 * Channel: every process sharing a store must publish and listen on the same channel, and it must
 * not depend on how each process spells the server's address. So it names the store by what it
 * is on its server: the Redis database number, the PostgreSQL table, the disk directory (its
 * resolved path). Two different servers using one bus server with the same database number share
 * a channel; that only costs them extra invalidations, never a missed one.
 */
import { createHash } from 'node:crypto';
import { resolve as resolvePath } from 'node:path';
import { createPrivateMemoryStore } from '../backends/memory.js';
import { openBus } from '../bus/open.js';
import type { ResolvedConfig } from '../config/types.js';
import type { Store } from '../core/store.js';
import { FirstTier } from './first-tier.js';
import { TieredStore } from './tiered-store.js';

/**
 * First tiers by the L2 client they front, then by bus and channel: the caches of a process on one
 * store share one (see `first-tier.ts`). The first cache's `l1` settings make it.
 */
const firstTiers = new WeakMap<object, Map<string, FirstTier>>();

/** Longest channel name PostgreSQL accepts (NAMEDATALEN − 1), in bytes. */
const MAX_CHANNEL_BYTES = 63;

function redisDatabase(location: string): number {
  const fromQuery = /[?&]db=(\d+)/.exec(location)?.[1];
  const fromPath = /^[a-z+]+:\/\/[^/?#]*\/(\d+)/i.exec(location)?.[1];
  return Number(fromQuery ?? fromPath ?? 0);
}

/** The bus channel of the store `config` describes. */
export function busChannel(config: ResolvedConfig): string {
  let channel: string;
  switch (config.backendName) {
    case 'redis':
      channel = `skycache_bus_redis_db${redisDatabase(config.location)}`;
      break;
    case 'postgres':
      channel = `skycache_bus_pg_${(config.options.table as string | undefined) ?? 'skycache_entries'}`;
      break;
    case 'disk':
      channel = `skycache_bus_disk_${resolvePath(config.location)}`;
      break;
    default:
      channel = `skycache_bus_${config.backendName}_${config.location}`;
  }
  if (Buffer.byteLength(channel) <= MAX_CHANNEL_BYTES && /^[\w:.-]+$/.test(channel)) return channel;
  return `skycache_bus_${createHash('sha256').update(channel).digest('hex').slice(0, 32)}`;
}

/**
 * `l2` behind a first tier when `config.l1` is set (else `l2` itself). Caches of this process on
 * the same store share the first tier. The bus, if any, starts connecting at once; until it is
 * connected, reads go to L2.
 */
export function withFirstTier(l2: Store, config: ResolvedConfig, now: () => number): Store {
  const l1 = config.l1;
  if (!l1) return l2;
  const channel = busChannel(config);
  const client = l2.client;
  const owner = typeof client === 'object' && client !== null ? client : undefined;
  const shareKey = `${config.bus?.url ?? ''}\u0000${channel}`;
  let byBus = owner ? firstTiers.get(owner) : undefined;
  let tier = byBus?.get(shareKey);
  if (!tier) {
    const bus = config.bus
      ? openBus(config.bus.url, {
          alias: config.alias,
          logger: config.logger,
          channel,
          timeoutMs: config.operationTimeoutMs,
          kind: config.bus.kind,
          ...(config.bus.own && config.backendName === 'redis'
            ? { redisOptions: config.options }
            : {}),
        })
      : undefined;
    const made: FirstTier = new FirstTier({
      l1: createPrivateMemoryStore(l1, now),
      l1TimeoutMs: l1.timeoutMs,
      bus,
      onClosed: () => {
        if (byBus?.get(shareKey) === made) byBus.delete(shareKey);
      },
    });
    tier = made;
    if (owner) {
      if (!byBus) firstTiers.set(owner, (byBus = new Map()));
      byBus.set(shareKey, made);
    }
  }
  return new TieredStore({ tier, l2, now });
}
