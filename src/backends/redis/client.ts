/**
 * node-redis clients, loaded on first use and shared: the stores of one process that connect to
 * the same place with the same settings share one client (so caches on one Redis share in-process
 * work such as `getOrSet` single-flight, keyed by the client, and one connection), and the last
 * store to close closes it. A client the user passed in (`options.client`) is shared the same way
 * but never closed.
 *
 * Each shared client also tracks its health: it connects on first use, never gives up
 * reconnecting (the strategy is set in `options.ts`), and knows since when it has been down.
 */
import { createRequire } from 'node:module';
import { ConfigError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { setLongTimeout, type LongTimer } from '../../core/timers.js';
import { reconnectDelay, type RedisTarget } from './options.js';

/** A command argument as node-redis takes it. */
export type RedisArgument = string | Buffer;

/** Per-command options node-redis understands (the subset used here). */
export interface CommandOptions {
  readonly typeMapping: Readonly<Record<number, unknown>>;
  readonly timeout?: number;
}

type Listener = (...args: never[]) => void;

interface Emitter {
  on(event: string, listener: Listener): unknown;
  off(event: string, listener: Listener): unknown;
}

interface ClientMulti {
  addCommand(args: readonly RedisArgument[]): ClientMulti;
  exec(): Promise<unknown[]>;
}

interface ClusterMulti {
  addCommand(
    firstKey: RedisArgument | undefined,
    isReadonly: boolean | undefined,
    args: readonly RedisArgument[],
  ): ClusterMulti;
  exec(): Promise<unknown[]>;
}

/** The part of a node-redis (v5, v6) client this backend uses. */
export interface NodeRedisClient extends Emitter {
  readonly isOpen: boolean;
  readonly isReady: boolean;
  connect(): Promise<unknown>;
  sendCommand(args: readonly RedisArgument[], options?: CommandOptions): Promise<unknown>;
  multi(): ClientMulti;
  withCommandOptions(options: CommandOptions): NodeRedisClient;
  close(): Promise<unknown>;
  destroy(): unknown;
}

/** The part of a node-redis Cluster this backend uses. */
export interface NodeRedisCluster extends Emitter {
  readonly isOpen: boolean;
  readonly masters: readonly object[];
  connect(): Promise<unknown>;
  sendCommand(
    firstKey: RedisArgument | undefined,
    isReadonly: boolean | undefined,
    args: readonly RedisArgument[],
    options?: CommandOptions,
  ): Promise<unknown>;
  multi(routing?: RedisArgument): ClusterMulti;
  withCommandOptions(options: CommandOptions): NodeRedisCluster;
  nodeClient(node: object): NodeRedisClient | Promise<NodeRedisClient>;
  close(): Promise<unknown>;
  destroy(): unknown;
}

interface NodeRedisModule {
  createClient(options: Record<string, unknown>): NodeRedisClient;
  createCluster(options: Record<string, unknown>): NodeRedisCluster;
  RESP_TYPES: { BLOB_STRING: number; NUMBER: number };
}

let driver: NodeRedisModule | undefined;

/** Loads @redis/client on first use: importing skycache never does. */
export function loadDriver(alias: string): NodeRedisModule {
  if (driver) return driver;
  try {
    driver = createRequire(import.meta.url)('@redis/client') as NodeRedisModule;
  } catch (error) {
    throw new ConfigError(
      `cache "${alias}": the redis backend needs the @redis/client package (^5 or ^6); install it with npm install @redis/client`,
      { cause: error },
    );
  }
  return driver;
}

function isCluster(client: object): client is NodeRedisCluster {
  return typeof (client as { nodeClient?: unknown }).nodeClient === 'function';
}

function noop(): void {}

/** One client or Cluster and the stores using it. */
export class SharedClient {
  readonly raw: NodeRedisClient | NodeRedisCluster;
  /** Set for a single node, `undefined` for a Cluster. */
  readonly single: NodeRedisClient | undefined;
  /** Set for a Cluster, `undefined` for a single node. */
  readonly cluster: NodeRedisCluster | undefined;
  readonly #owned: boolean;
  readonly #key: string | object;
  readonly #logger: Logger;
  readonly #alias: string;
  readonly #reconnectMaxDelayMs: number;
  readonly #listeners: Array<[event: string, listener: Listener]>;
  #users = 0;

  /** When the connection went down (`performance.now()`), while it is down. */
  downSince: number | undefined;
  #lastError: unknown;
  #connecting: Promise<void> | undefined;
  #readyWait: Promise<void> | undefined;
  #readyResolve: (() => void) | undefined;
  /** Cluster: failed attempts to load the slot map in a row, and when the next one may start. */
  #clusterFailures = 0;
  #clusterRetryAt = 0;

  constructor(
    raw: NodeRedisClient | NodeRedisCluster,
    owned: boolean,
    key: string | object,
    settings: { alias: string; logger: Logger; reconnectMaxDelayMs: number },
  ) {
    this.raw = raw;
    this.#owned = owned;
    this.#key = key;
    this.#alias = settings.alias;
    this.#logger = settings.logger;
    this.#reconnectMaxDelayMs = settings.reconnectMaxDelayMs;
    if (isCluster(raw)) this.cluster = raw;
    else this.single = raw;
    // Attached while a store uses the client and removed with the last one: a client shared
    // with the application collects no listeners.
    this.#listeners = [
      ['error', (error: unknown) => this.#onError(error)],
      ['reconnecting', () => this.#onDown()],
      ['end', () => this.#onDown()],
      ['ready', () => this.#onReady()],
    ];
    if (this.cluster)
      this.#listeners.push(['node-error', (error: unknown) => this.#onError(error)]);
    for (const [event, listener] of this.#listeners) raw.on(event, listener);
  }

  // ---- health ---------------------------------------------------------------------------------

  #onError(error: unknown): void {
    this.#lastError = error;
    const wasUp = this.downSince === undefined;
    this.#onDown();
    // One warning per outage; the retries that follow go to debug.
    if (wasUp) {
      this.#logger.warn(
        { err: error, alias: this.#alias },
        'redis connection problem; reconnecting with backoff',
      );
    } else {
      this.#logger.debug({ err: error, alias: this.#alias }, 'redis still unreachable');
    }
  }

  #onDown(): void {
    if (this.single && !this.single.isReady) this.downSince ??= performance.now();
  }

  #onReady(): void {
    if (this.downSince !== undefined) {
      this.#logger.warn(
        { alias: this.#alias, downMs: Math.round(performance.now() - this.downSince) },
        'redis connection restored',
      );
      this.downSince = undefined;
    }
    const resolve = this.#readyResolve;
    this.#readyWait = undefined;
    this.#readyResolve = undefined;
    resolve?.();
  }

  /** The error for commands refused while an outage lasts. */
  unreachable(): Error {
    const error = this.#lastError;
    const reason =
      error === undefined ? '' : ` (${error instanceof Error ? error.message : String(error)})`;
    return new Error(`Redis is unreachable${reason}; reconnecting`, { cause: error });
  }

  /** Whether commands can be handed to the driver right now. */
  get isReady(): boolean {
    if (this.single) return this.single.isReady;
    return this.cluster!.isOpen && this.#connecting === undefined;
  }

  /** Starts connecting if nobody has; the client's reconnect strategy takes it from there. */
  startConnecting(): void {
    if (this.cluster) {
      if (!this.cluster.isOpen) this.#connectCluster(this.cluster).catch(noop);
      return;
    }
    const client = this.single!;
    if (client.isOpen || this.#connecting || this.#users === 0) return;
    this.#connecting = client
      .connect()
      .then(noop, (error: unknown) => {
        // Only closing ends the attempts (the strategy never gives up); remember why anyway.
        this.#lastError = error;
      })
      .finally(() => {
        this.#connecting = undefined;
      });
  }

  /** Loads the Cluster's slot map; a failed attempt is retried with backoff, not on every call. */
  #connectCluster(cluster: NodeRedisCluster): Promise<void> {
    if (this.#connecting) return this.#connecting;
    if (performance.now() < this.#clusterRetryAt) return Promise.reject(this.unreachable());
    this.#connecting = cluster.connect().then(
      () => {
        this.#clusterFailures = 0;
        this.#connecting = undefined;
      },
      (error: unknown) => {
        this.#lastError = error;
        this.#clusterRetryAt =
          performance.now() + reconnectDelay(this.#clusterFailures++, this.#reconnectMaxDelayMs);
        this.#connecting = undefined;
        throw error;
      },
    );
    return this.#connecting;
  }

  /** Resolves when commands can be sent (callers bound the wait with their own timeout). */
  whenReady(): Promise<void> {
    if (this.#users === 0) return Promise.reject(new Error('the redis store is closed'));
    if (this.cluster) {
      if (this.isReady) return Promise.resolve();
      return this.#connectCluster(this.cluster);
    }
    if (this.single!.isReady) return Promise.resolve();
    this.startConnecting();
    this.#readyWait ??= new Promise<void>((resolve) => {
      this.#readyResolve = resolve;
    });
    return this.#readyWait;
  }

  // ---- sharing --------------------------------------------------------------------------------

  acquire(): this {
    this.#users++;
    return this;
  }

  /** Gives back one store's use; the last one detaches and, if the client is ours, closes it. */
  async release(closeTimeoutMs: number): Promise<void> {
    if (--this.#users > 0) return;
    if (shared.get(this.#key) === this) shared.delete(this.#key);
    for (const [event, listener] of this.#listeners) this.raw.off(event, listener);
    if (!this.#owned || !this.raw.isOpen) return;
    if (!this.isReady) {
      this.raw.destroy();
      return;
    }
    let timer: LongTimer | undefined;
    try {
      await Promise.race([
        this.raw.close(),
        new Promise((_, reject) => {
          timer = setLongTimeout(() => reject(new Error('close timed out')), closeTimeoutMs);
        }),
      ]);
    } catch {
      // A graceful close that cannot finish (server frozen): drop the connection instead.
      this.raw.destroy();
    } finally {
      timer?.clear();
    }
  }
}

/** Shared clients: by settings for the ones skycache makes, by object for the ones it is given. */
const shared = new Map<string | object, SharedClient>();

/**
 * The shared client for `target`, made (not connected) if needed, with one more user. The first
 * store's alias and logger are the ones its connection problems are reported with.
 */
export function acquireClient(
  target: RedisTarget,
  shareKey: string,
  settings: { alias: string; logger: Logger; reconnectMaxDelayMs: number },
): SharedClient {
  const key = target.kind === 'given' ? target.client : shareKey;
  let client = shared.get(key);
  if (!client) {
    const redis = loadDriver(settings.alias);
    const raw =
      target.kind === 'given'
        ? (target.client as NodeRedisClient | NodeRedisCluster)
        : target.kind === 'cluster'
          ? redis.createCluster(target.options)
          : redis.createClient(target.options);
    client = new SharedClient(raw, target.kind !== 'given', key, settings);
    shared.set(key, client);
  }
  return client.acquire();
}
