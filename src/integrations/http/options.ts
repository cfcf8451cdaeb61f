/**
 * The route options every adapter takes (same names in Fastify, Express, Hono and node:http),
 * validated once when the route is declared, so a typo fails at start-up and not on a request.
 */
import type { Cache } from '../../core/cache.js';
import { durationToMs, type Duration, type Timeout } from '../../core/duration.js';
import { ConfigError, InvalidValueError } from '../../core/errors.js';
import { stderrLogger, type Logger } from '../../core/logger.js';
import { isHeaderName } from './header-values.js';

/**
 * Who a cached response may be served to.
 * - `'anonymous'` (default): requests with `Authorization` or a cookie not in `cookies` bypass.
 * - `'user'`: one entry per user; the key includes `userKey(request)`.
 * - `'public'`: one entry for everyone; credentials are ignored, and a response that varies on
 *   `Authorization` or `Cookie` is not stored.
 */
export type CacheScope = 'anonymous' | 'user' | 'public';

/** A value, or a Promise of it (the request callbacks may be async). */
export type MaybePromise<T> = T | Promise<T>;

/**
 * Options of one cached route. `Req` is the framework's own request: Fastify `FastifyRequest`,
 * Express `Request`, Hono `Context`, node:http `IncomingMessage`.
 */
export interface HttpCacheOptions<Req> {
  /** How long the server keeps a response (seconds, `'60s'`, `null` = until invalidated; `0` = not kept). Independent of what clients are told. */
  ttl: Timeout;
  /** Where entries live: a cache or a registry alias. Default: the default cache. */
  cache?: Cache | string;
  /** Default `'anonymous'`. See {@link CacheScope}. */
  scope?: CacheScope;
  /** Required with `scope: 'user'`: the user's id. Runs after authentication; an empty result or a throw makes the request bypass. */
  userKey?: (request: Req) => MaybePromise<string | null | undefined>;
  /** Cookie names that do not make a request bypass; their values are part of the key. Default `[]`. */
  cookies?: readonly string[];
  /**
   * `'all'` (default): every query parameter except tracking ones (`utm_*`, `fbclid`, `gclid`, …)
   * is keyed, sorted. A list: only those are keyed, and a request with any other (non-tracking)
   * parameter bypasses.
   */
  query?: readonly string[] | 'all';
  /** Request headers added to the key (normalized) and merged into the response's `Vary`. Default `[]`. */
  vary?: readonly string[];
  /** Statuses that may be stored. Default `[200]`. 206, 304 and 5xx are never stored. */
  statuses?: readonly number[];
  /** Replaces the built key (it is still namespaced by path and hashed). A throw or an empty result makes the request bypass. */
  key?: (request: Req) => MaybePromise<string>;
  /** Tags for `invalidate({ tags })`. */
  tags?: readonly string[] | ((request: Req) => MaybePromise<readonly string[]>);
  /** Bodies larger than this (bytes) are served but not stored. Default 1 MiB. */
  maxBodyBytes?: number;
  /** Header carrying `HIT` / `MISS` / `BYPASS`, or `false` for none. Default `'X-Cache'`. */
  statusHeader?: string | false;
  /** `Cache-Control` sent with cacheable responses when the app sets none. Default: none added. */
  cacheControl?: string;
  /** Opt-in forced bypass (for example for admins). */
  bypass?: (request: Req) => MaybePromise<boolean>;
  /** For this long after expiry, one request refreshes while the others get the stale copy. */
  staleWhileRevalidate?: Duration;
  /** For this long after expiry, a 5xx from the handler is replaced by the stale copy. */
  staleIfError?: Duration;
  /**
   * Trusted host names. When set, a request whose `Host` (or `X-Forwarded-Host`) is not listed
   * bypasses. Without it the `Host` header is keyed as sent and any `X-Forwarded-Host` bypasses.
   */
  hosts?: readonly string[];
  /**
   * Response headers never stored with an entry (so a hit does not replay them), besides those
   * never stored anyway (hop-by-hop, `Date`, `Age`, `Set-Cookie` responses). For per-response
   * values a middleware sets before the lookup, such as request ids. Default `[]`.
   */
  omitHeaders?: readonly string[];
  /** Where problems (a failing backend) are logged. Fastify uses `request.log`. Default: stderr. */
  logger?: Logger;
}

/** A route's options, validated and with defaults applied. */
export interface RouteRules<Req> {
  readonly cache: Cache | string | undefined;
  /** `getOrSet` options: the timeout in seconds (or `null`) and the stale windows. */
  readonly load: {
    readonly timeout: number | null;
    readonly staleWhileRevalidate?: Duration;
    readonly staleIfError?: Duration;
  };
  /** `null`: kept until invalidated; `0`: nothing is kept. */
  readonly ttlMs: number | null;
  readonly staleIfError: boolean;
  readonly scope: CacheScope;
  readonly userKey: ((request: Req) => MaybePromise<string | null | undefined>) | undefined;
  readonly cookies: ReadonlySet<string>;
  readonly query: ReadonlySet<string> | 'all';
  /** Lower-case, sorted. */
  readonly vary: readonly string[];
  readonly statuses: ReadonlySet<number>;
  readonly key: ((request: Req) => MaybePromise<string>) | undefined;
  readonly tags: readonly string[] | ((request: Req) => MaybePromise<readonly string[]>);
  readonly maxBodyBytes: number;
  readonly statusHeader: string | undefined;
  readonly cacheControl: string | undefined;
  readonly bypass: ((request: Req) => MaybePromise<boolean>) | undefined;
  /** Lower-case. */
  readonly hosts: ReadonlySet<string> | undefined;
  /** Lower-case. */
  readonly omitHeaders: ReadonlySet<string>;
  readonly logger: Logger;
}

/** 1 MiB. */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

const OPTION_NAMES = new Set([
  'ttl',
  'cache',
  'scope',
  'userKey',
  'cookies',
  'query',
  'vary',
  'statuses',
  'key',
  'tags',
  'maxBodyBytes',
  'statusHeader',
  'cacheControl',
  'bypass',
  'staleWhileRevalidate',
  'staleIfError',
  'hosts',
  'omitHeaders',
  'logger',
]);

function fail(where: string, field: string, problem: string): never {
  throw new ConfigError(`${where}: option "${field}": ${problem}`);
}

function stringList(value: unknown, where: string, field: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.some((item) => typeof item !== 'string' || item === '')) {
    fail(where, field, 'expected an array of non-empty strings');
  }
  return value as string[];
}

function optionalFunction<F>(value: unknown, where: string, field: string): F | undefined {
  if (value !== undefined && typeof value !== 'function') fail(where, field, 'expected a function');
  return value as F | undefined;
}

function seconds(value: Duration, where: string, field: string): number {
  try {
    return durationToMs(value, field);
  } catch (error) {
    if (error instanceof InvalidValueError) fail(where, field, error.message);
    throw error;
  }
}

/**
 * Validates a route's options. @param where names the route in error messages
 * @throws ConfigError naming the route and the option
 */
export function resolveRouteOptions<Req>(
  options: HttpCacheOptions<Req>,
  where: string,
): RouteRules<Req> {
  if (options === null || typeof options !== 'object') fail(where, 'options', 'expected an object');
  for (const name of Object.keys(options)) {
    if (!OPTION_NAMES.has(name)) {
      fail(where, name, `unknown option; known: ${[...OPTION_NAMES].join(', ')}`);
    }
  }
  if (!('ttl' in options) || options.ttl === undefined) {
    fail(where, 'ttl', "required (for example ttl: '60s')");
  }
  const ttlMs = options.ttl === null ? null : Math.max(0, seconds(options.ttl, where, 'ttl'));

  const scope = options.scope ?? 'anonymous';
  if (scope !== 'anonymous' && scope !== 'user' && scope !== 'public') {
    fail(where, 'scope', `expected 'anonymous', 'user' or 'public', got ${String(scope)}`);
  }
  const userKey = optionalFunction<RouteRules<Req>['userKey']>(options.userKey, where, 'userKey');
  if (scope === 'user' && !userKey) fail(where, 'userKey', "required with scope: 'user'");

  let query: RouteRules<Req>['query'] = 'all';
  if (options.query !== undefined && options.query !== 'all') {
    query = new Set(stringList(options.query, where, 'query'));
  }

  const vary = stringList(options.vary, where, 'vary').map((name) => {
    if (!isHeaderName(name)) fail(where, 'vary', `not a header name: ${JSON.stringify(name)}`);
    return name.toLowerCase();
  });
  if (scope === 'public' && vary.some((name) => name === 'authorization' || name === 'cookie')) {
    fail(where, 'vary', "a public-scope route cannot vary on credentials; use scope: 'user'");
  }

  const omitHeaders = stringList(options.omitHeaders, where, 'omitHeaders').map((name) => {
    if (!isHeaderName(name)) {
      fail(where, 'omitHeaders', `not a header name: ${JSON.stringify(name)}`);
    }
    return name.toLowerCase();
  });

  const statuses = options.statuses ?? [200];
  if (!Array.isArray(statuses) || statuses.length === 0) {
    fail(where, 'statuses', 'expected a non-empty array of status codes');
  }
  for (const status of statuses) {
    if (!Number.isInteger(status) || status < 200 || status > 599) {
      fail(where, 'statuses', `not a final status code: ${String(status)}`);
    }
    if (status === 206 || status === 304 || status >= 500) {
      fail(where, 'statuses', `${status} responses are never stored`);
    }
  }

  const tags = options.tags ?? [];
  if (typeof tags !== 'function') stringList(tags, where, 'tags');

  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  if (!Number.isSafeInteger(maxBodyBytes) || maxBodyBytes < 0) {
    fail(where, 'maxBodyBytes', `expected a non-negative integer, got ${String(maxBodyBytes)}`);
  }

  let statusHeader: string | undefined = 'x-cache';
  if (options.statusHeader === false) statusHeader = undefined;
  else if (options.statusHeader !== undefined) {
    if (typeof options.statusHeader !== 'string' || !isHeaderName(options.statusHeader)) {
      fail(where, 'statusHeader', 'expected a header name or false');
    }
    statusHeader = options.statusHeader.toLowerCase();
  }

  if (
    options.cacheControl !== undefined &&
    (typeof options.cacheControl !== 'string' || options.cacheControl.trim() === '')
  ) {
    fail(where, 'cacheControl', 'expected a Cache-Control value such as "public, max-age=60"');
  }

  const cache = options.cache;
  if (
    cache !== undefined &&
    (typeof cache === 'string' ? cache === '' : typeof cache?.getOrSet !== 'function')
  ) {
    fail(where, 'cache', 'expected a Cache or a cache alias');
  }

  const load: { timeout: number | null; staleWhileRevalidate?: Duration; staleIfError?: Duration } =
    { timeout: ttlMs === null ? null : ttlMs / 1000 };
  if (options.staleWhileRevalidate !== undefined) {
    seconds(options.staleWhileRevalidate, where, 'staleWhileRevalidate');
    load.staleWhileRevalidate = options.staleWhileRevalidate;
  }
  if (options.staleIfError !== undefined) {
    seconds(options.staleIfError, where, 'staleIfError');
    load.staleIfError = options.staleIfError;
  }

  return {
    cache,
    load,
    ttlMs,
    staleIfError: options.staleIfError !== undefined,
    scope,
    userKey,
    cookies: new Set(stringList(options.cookies, where, 'cookies')),
    query,
    vary: [...new Set(vary)].sort(),
    statuses: new Set(statuses),
    key: optionalFunction<RouteRules<Req>['key']>(options.key, where, 'key'),
    tags,
    maxBodyBytes,
    statusHeader,
    cacheControl: options.cacheControl,
    bypass: optionalFunction<RouteRules<Req>['bypass']>(options.bypass, where, 'bypass'),
    hosts:
      options.hosts === undefined
        ? undefined
        : new Set(stringList(options.hosts, where, 'hosts').map((host) => host.toLowerCase())),
    omitHeaders: new Set(omitHeaders),
    logger: options.logger ?? stderrLogger,
  };
}
