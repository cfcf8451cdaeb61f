/**
 * The `redis` backend: Redis or Valkey, a single node or a Cluster, through node-redis
 * (`@redis/client`, loaded on first use). See docs/redis.md for URLs, options and outage behaviour.
 */
import type { BackendDefinition } from './definition.js';
import { RedisConnection } from './redis/connection.js';
import {
  checkRedisOptions,
  REDIS_QUERY_PARAMETERS,
  resolveRedisSettings,
} from './redis/options.js';
import { RedisStore } from './redis/store.js';

/** The `redis` backend definition. */
export const redisBackend: BackendDefinition = {
  name: 'redis',
  sync: false,
  options: {
    /** An existing node-redis client or Cluster; used as is and never closed by skycache. */
    client: { kind: 'object' },
    /** `createCluster` options (`{ rootNodes: [{ url }], … }`) instead of a location. */
    cluster: { kind: 'object' },
    /** Extra `createClient` options (TLS files, socket settings, …); on a Cluster, node defaults. */
    clientOptions: { kind: 'object' },
    /** Longest wait between two reconnect attempts (default 2 s). */
    reconnectMaxDelay: { kind: 'duration' },
    // Declared only to refuse it with a useful message: Redis bounds itself (maxmemory-policy).
    maxEntries: { kind: 'integer' },
  },
  driverQueryParameters: REDIS_QUERY_PARAMETERS,
  validate: checkRedisOptions,
  // Synchronous and lazy: the client exists at once (for caches.connection()) and connects on the
  // first command.
  factory: (context) =>
    new RedisStore(
      new RedisConnection(resolveRedisSettings(context), context.alias, context.logger),
      context.now,
    ),
};
