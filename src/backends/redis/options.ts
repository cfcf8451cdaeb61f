/**
 * What to connect to, from the config: the `location` URL (`redis://`, `rediss://`,
 * `redis+cluster://`, `rediss+cluster://`) and the backend options (`client`, `cluster`,
 * `clientOptions`, `reconnectMaxDelay`). Everything here is checked before the driver is loaded,
 * and every mistake is a `ConfigError` naming the alias and the field, never the password.
 */
import { configDurationToMs } from '../../core/duration.js';
import { ConfigError } from '../../core/errors.js';
import type { BackendContext } from '../../core/store.js';
import { redactSecrets } from '../../config/redact.js';

/** URL query parameters read from the location (the lead registers them as driver parameters). */
export const REDIS_QUERY_PARAMETERS = ['db', 'name'] as const;

/** Default cap of the reconnect backoff, in ms. */
export const DEFAULT_RECONNECT_MAX_DELAY_MS = 2000;

/** Where the store's commands go. */
export type RedisTarget =
  /** A client this store makes and owns: `createClient(options)`. */
  | { readonly kind: 'client'; readonly options: Record<string, unknown> }
  /** A Cluster this store makes and owns: `createCluster(options)`. */
  | { readonly kind: 'cluster'; readonly options: Record<string, unknown> }
  /** A client or Cluster the user made (`options.client`): used, never closed. */
  | { readonly kind: 'given'; readonly client: object };

/** The resolved connection settings of one store. */
export interface RedisSettings {
  readonly target: RedisTarget;
  /** The most an operation may take, in ms. */
  readonly operationTimeoutMs: number;
  /** The longest wait between two reconnect attempts, in ms. */
  readonly reconnectMaxDelayMs: number;
  /** Stores with equal keys share one client. */
  readonly shareKey: string;
}

type Fail = (field: string, problem: string) => never;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Checks the options on their own (called by config validation and again by the factory). */
export function checkRedisOptions(options: Readonly<Record<string, unknown>>): string | undefined {
  if (options.maxEntries !== undefined) {
    return 'options.maxEntries: Redis bounds itself; set maxmemory and maxmemory-policy (e.g. allkeys-lru) on the server instead';
  }
  const { client, cluster, clientOptions } = options;
  if (client !== undefined) {
    if (
      client === null ||
      typeof client !== 'object' ||
      typeof (client as { sendCommand?: unknown }).sendCommand !== 'function'
    ) {
      return 'options.client: expected a node-redis client or cluster (from createClient or createCluster of @redis/client)';
    }
    if (cluster !== undefined || clientOptions !== undefined) {
      return 'options.client: cannot be combined with options.cluster or options.clientOptions; configure the client you pass';
    }
  }
  if (cluster !== undefined) {
    if (
      !isPlainObject(cluster) ||
      !Array.isArray(cluster.rootNodes) ||
      cluster.rootNodes.length === 0
    ) {
      return 'options.cluster: expected { rootNodes: [{ url: "redis://host:port" }, …], …createCluster options }';
    }
  }
  if (clientOptions !== undefined && !isPlainObject(clientOptions)) {
    return 'options.clientOptions: expected an object of createClient options';
  }
  return undefined;
}

/** `[host]:port` or `host:port` → socket options. */
function parseHostPort(text: string, fail: Fail): { host: string; port: number } {
  const match = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]+)(?::(\d+))?$/.exec(text);
  if (!match) fail('location', `"${text}" is not a host or host:port`);
  const port = match[2] === undefined ? 6379 : Number(match[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65_535)
    fail('location', `bad port in "${text}"`);
  return { host: match[1]!.replace(/^\[(.*)\]$/, '$1'), port };
}

function decode(text: string, fail: Fail): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return fail('location', 'the user information is not valid percent-encoding');
  }
}

interface ParsedUrl {
  readonly cluster: boolean;
  readonly tls: boolean;
  readonly hosts: Array<{ host: string; port: number }>;
  readonly username?: string;
  readonly password?: string;
  readonly database?: number;
  readonly name?: string;
}

/** Parses the location URL (done here: node-redis reads neither query parameters nor host lists). */
function parseRedisUrl(url: string, fail: Fail): ParsedUrl {
  const match = /^([a-z+]+):\/\/(?:([^@/?#]*)@)?([^/?#]*)(\/[^?#]*)?(?:\?([^#]*))?(?:#.*)?$/i.exec(
    url,
  );
  const scheme = match?.[1]?.toLowerCase();
  if (
    !match ||
    !scheme ||
    !['redis', 'rediss', 'redis+cluster', 'rediss+cluster'].includes(scheme)
  ) {
    return fail(
      'location',
      'expected redis://[user:password@]host:port/db, rediss://…, redis+cluster://host:port,host:port or rediss+cluster://…',
    );
  }
  const cluster = scheme.endsWith('+cluster');
  const [, , userinfo, hostList = '', path = '', query = ''] = match;
  const hosts = hostList === '' ? [] : hostList.split(',').map((host) => parseHostPort(host, fail));
  if (hosts.length === 0) hosts.push({ host: '127.0.0.1', port: 6379 });
  if (!cluster && hosts.length > 1) {
    fail('location', `several hosts need the ${scheme}+cluster:// scheme`);
  }

  let database: number | undefined;
  const setDatabase = (text: string) => {
    if (!/^\d+$/.test(text)) fail('location', `the database must be a number, got "${text}"`);
    database = Number(text);
  };
  if (path !== '' && path !== '/') setDatabase(path.slice(1));
  let name: string | undefined;
  for (const [key, value] of new URLSearchParams(query)) {
    if (key === 'db') setDatabase(value);
    else if (key === 'name') name = value;
    else fail(`location`, `unknown query parameter "${key}"`);
  }
  if (cluster && database !== undefined && database !== 0) {
    fail('location', 'Redis Cluster has only database 0');
  }

  let username: string | undefined;
  let password: string | undefined;
  if (userinfo !== undefined && userinfo !== '') {
    const colon = userinfo.indexOf(':');
    if (colon === -1) username = decode(userinfo, fail);
    else {
      username = decode(userinfo.slice(0, colon), fail) || undefined;
      password = decode(userinfo.slice(colon + 1), fail);
    }
  }
  return {
    cluster,
    tls: scheme.startsWith('rediss'),
    hosts,
    ...(username === undefined ? {} : { username }),
    ...(password === undefined ? {} : { password }),
    ...(database === undefined || database === 0 ? {} : { database }),
    ...(name === undefined ? {} : { name }),
  };
}

/** `clientOptions` with `extra` underneath it: the user's settings win, socket options merged. */
function mergeClientOptions(
  extra: Record<string, unknown>,
  user: Record<string, unknown> | undefined,
): Record<string, unknown> {
  const socket = {
    ...(extra.socket as Record<string, unknown> | undefined),
    ...(user?.socket as Record<string, unknown> | undefined),
  };
  return { ...extra, ...user, socket };
}

/** Exponential backoff with jitter, capped; never gives up, so the store recovers by itself. */
export function reconnectDelay(retries: number, maxDelayMs: number): number {
  return Math.min(50 * 2 ** Math.min(retries, 16), maxDelayMs) + Math.floor(Math.random() * 50);
}

/** Ids for option values that cannot be compared by value (functions, class instances). */
const objectIds = new WeakMap<object, number>();
let nextObjectId = 0;

/**
 * Equal for stores that may share a client: same location and the same options, compared by value
 * where they are plain data and by identity where they are not.
 */
function shareKey(
  location: string,
  options: Readonly<Record<string, unknown>>,
  reconnectMaxDelayMs: number,
): string {
  const { clientOptions, cluster } = options;
  return JSON.stringify(
    { location, clientOptions, cluster, reconnectMaxDelayMs },
    (_, value: unknown) => {
      const opaque =
        typeof value === 'function' ||
        (value !== null &&
          typeof value === 'object' &&
          !Array.isArray(value) &&
          Object.getPrototypeOf(value) !== Object.prototype);
      if (!opaque) return value;
      let id = objectIds.get(value as object);
      if (id === undefined) objectIds.set(value as object, (id = nextObjectId++));
      return `#object${id}`;
    },
  );
}

/**
 * Resolves a store's connection settings.
 * @throws ConfigError naming the alias and the field
 */
export function resolveRedisSettings(context: BackendContext): RedisSettings {
  const fail: Fail = (field, problem) => {
    throw new ConfigError(
      `cache "${context.alias}": field "${field}": ${problem}${field === 'location' ? ` (${JSON.stringify(redactSecrets(context.location))})` : ''}`,
    );
  };
  const options = context.options;
  const problem = checkRedisOptions(options);
  if (problem) throw new ConfigError(`cache "${context.alias}": ${problem}`);
  const reconnectMaxDelayMs =
    options.reconnectMaxDelay === undefined
      ? DEFAULT_RECONNECT_MAX_DELAY_MS
      : configDurationToMs(
          options.reconnectMaxDelay,
          `cache "${context.alias}": field "options.reconnectMaxDelay"`,
        );
  const base = {
    operationTimeoutMs: context.operationTimeoutMs,
    reconnectMaxDelayMs,
    shareKey: shareKey(context.location, options, reconnectMaxDelayMs),
  };

  if (options.client !== undefined) {
    if (context.location !== '') {
      fail('location', 'give either a location or options.client, not both');
    }
    return { ...base, target: { kind: 'given', client: options.client as object } };
  }

  // Our defaults, under whatever the user configured: RESP2 works with every Redis and Valkey
  // version, and a reconnect strategy that never gives up lets the store recover by itself.
  const defaults = {
    RESP: 2,
    socket: {
      reconnectStrategy: (retries: number) => reconnectDelay(retries, reconnectMaxDelayMs),
    },
  };
  const clientOptions = options.clientOptions as Record<string, unknown> | undefined;

  if (options.cluster !== undefined) {
    if (context.location !== '') {
      fail('location', 'give either a location or options.cluster, not both');
    }
    const cluster = options.cluster as Record<string, unknown>;
    return {
      ...base,
      target: {
        kind: 'cluster',
        options: {
          ...cluster,
          defaults: mergeClientOptions(
            mergeClientOptions(defaults, clientOptions),
            cluster.defaults as Record<string, unknown> | undefined,
          ),
        },
      },
    };
  }

  const parsed = context.location === '' ? undefined : parseRedisUrl(context.location, fail);
  const fromUrl: Record<string, unknown> = {
    ...defaults,
    ...(parsed?.username === undefined ? {} : { username: parsed.username }),
    ...(parsed?.password === undefined ? {} : { password: parsed.password }),
    ...(parsed?.database === undefined ? {} : { database: parsed.database }),
    ...(parsed?.name === undefined ? {} : { name: parsed.name }),
  };
  if (parsed?.cluster) {
    const { database: _database, ...nodeDefaults } = fromUrl;
    return {
      ...base,
      target: {
        kind: 'cluster',
        options: {
          rootNodes: parsed.hosts.map((host) => ({ socket: { ...host, tls: parsed.tls } })),
          defaults: mergeClientOptions(
            { ...nodeDefaults, socket: { ...defaults.socket, tls: parsed.tls } },
            clientOptions,
          ),
        },
      },
    };
  }
  const socket = parsed === undefined ? {} : { ...parsed.hosts[0], tls: parsed.tls };
  return {
    ...base,
    target: {
      kind: 'client',
      options: mergeClientOptions(
        { ...fromUrl, socket: { ...defaults.socket, ...socket } },
        clientOptions,
      ),
    },
  };
}
