/**
 * Makes an invalidation bus from a URL: `redis://` / `rediss://` (Redis pub/sub),
 * `redis+cluster://` / `rediss+cluster://` (sharded pub/sub on a Cluster, Redis ≥ 7.0) or
 * `postgres://` / `postgresql://` (LISTEN/NOTIFY). Drivers are loaded when the bus starts.
 */
import { ConfigError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { resolveRedisSettings } from '../backends/redis/options.js';
import { redactSecrets } from '../config/redact.js';
import { InvalidationBus, type BusTransport } from './bus.js';
import { PostgresBusTransport } from './postgres-transport.js';
import { RedisClusterBusTransport } from './redis-cluster-transport.js';
import { RedisBusTransport } from './redis-transport.js';

/** Options of {@link openBus}. */
export interface OpenBusOptions {
  readonly alias: string;
  readonly logger: Logger;
  /** Every process that shares the store must use the same channel. */
  readonly channel: string;
  /** Most a publish (and a connection attempt) may take, in ms. */
  readonly timeoutMs: number;
  /**
   * Redis only: the store's backend options (`clientOptions`, `client`), used when the bus is the
   * store's own server so TLS files and the like apply to it too.
   */
  readonly redisOptions?: Readonly<Record<string, unknown>>;
  /** The kind when `url` cannot tell (a store without a location). Default: from the URL. */
  readonly kind?: 'redis' | 'postgres';
}

/** The kind of bus a URL names, or `undefined` if it names none. */
export function busKind(url: string): 'redis' | 'postgres' | undefined {
  const scheme = /^([a-z+]+):\/\//i.exec(url)?.[1]?.toLowerCase();
  if (scheme === 'redis' || scheme === 'rediss') return 'redis';
  if (scheme === 'redis+cluster' || scheme === 'rediss+cluster') return 'redis';
  if (scheme === 'postgres' || scheme === 'postgresql') return 'postgres';
  return undefined;
}

/**
 * A bus on `url`, not yet started (it connects when its listener is attached).
 * @throws ConfigError for a URL that names no bus
 */
export function openBus(url: string, options: OpenBusOptions): InvalidationBus {
  const kind = options.kind ?? busKind(url);
  let transport: BusTransport;
  if (kind === 'redis') {
    const redisOptions = options.redisOptions ?? {};
    const settings = resolveRedisSettings({
      alias: options.alias,
      location: redisOptions.client === undefined && redisOptions.cluster === undefined ? url : '',
      options: {
        ...(redisOptions.clientOptions === undefined
          ? {}
          : { clientOptions: redisOptions.clientOptions }),
        ...(redisOptions.client === undefined ? {} : { client: redisOptions.client }),
        ...(redisOptions.cluster === undefined ? {} : { cluster: redisOptions.cluster }),
      },
      now: Date.now,
      logger: options.logger,
      operationTimeoutMs: options.timeoutMs,
    });
    const target = settings.target;
    const cluster =
      target.kind === 'cluster' ||
      (target.kind === 'given' &&
        typeof (target.client as { nodeClient?: unknown }).nodeClient === 'function');
    transport = cluster
      ? new RedisClusterBusTransport(settings, options.channel, options.alias)
      : new RedisBusTransport(settings, options.channel, options.alias);
  } else if (kind === 'postgres') {
    transport = new PostgresBusTransport({
      location: url,
      channel: options.channel,
      alias: options.alias,
      connectTimeoutMs: Math.max(options.timeoutMs, 1000),
    });
  } else {
    throw new ConfigError(
      `cache "${options.alias}": field "bus": expected redis://…, rediss://…, postgres://… or false, got ${JSON.stringify(redactSecrets(url))}`,
    );
  }
  return new InvalidationBus(transport, {
    alias: options.alias,
    logger: options.logger,
    publishTimeoutMs: options.timeoutMs,
  });
}
