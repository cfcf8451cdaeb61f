/**
 * One cached route: decides, for each request, whether to answer from the cache, run the handler
 * and store its response, or keep the request away from the cache. Framework-neutral: the adapters
 * only translate their request and response objects (see exchange.ts).
 *
 * Lookup: the key (see {@link RouteCache.begin}) is looked up with `getOrSet`, whose loader is
 * the handler run of this request: concurrent misses for one key share one run (the others wait
 * and get its response if it was storable), and the resilience options (stale windows, fail-open
 * on a backend failure) come from the core. A stored response records the request headers its
 * `Vary` names; a request with other values looks up a second key made of the first plus those
 * values, so each variant has its own entry and one is never served for another.
 */
import type { Cache, LoadOutcome } from '../../core/cache.js';
import type { GetOrSetOptions } from '../../core/cache/options.js';
import type { Logger } from '../../core/logger.js';
import {
  HandlerFailedError,
  InvalidatingObserver,
  Lead,
  LeadCapture,
  varyMatches,
} from './capture.js';
import { DecodedEntries } from './envelope.js';
import type { Exchange, RequestView } from './exchange.js';
import { parseCacheControl } from './header-values.js';
import { InvalidationRegistry, pathView, resolveCache } from './invalidation.js';
import { resolveRouteOptions, type HttpCacheOptions, type RouteRules } from './options.js';
import {
  hashParts,
  normalizePath,
  normalizeQuery,
  normalizeVaryValue,
  parseCookies,
  splitTarget,
} from './request-key.js';
import { CACHE_STATUS, outcomeHeaders } from './response-rules.js';
import { serveStored } from './serve.js';

/**
 * Request headers that make a framework or proxy treat the request as another URL or method. A
 * response to such a request must not be stored under the URL it arrived with.
 */
const OVERRIDE_HEADERS = [
  'x-original-url',
  'x-rewrite-url',
  'x-http-method-override',
  'x-http-method',
  'x-method-override',
];

/** Headers naming the host a proxy received: accepted only when listed in `hosts`. */
const FORWARDED_HOST_HEADERS = ['x-forwarded-host', 'x-host', 'x-forwarded-server'];

/** Proxy headers an app may read to build URLs (scheme, port, prefix): keyed, not trusted. */
const KEYED_FORWARDING_HEADERS = [
  'x-forwarded-proto',
  'x-forwarded-scheme',
  'x-forwarded-port',
  'x-forwarded-prefix',
  'x-url-scheme',
  'front-end-https',
];

/** Why a request stays away from the cache. */
class Bypass {
  constructor(readonly reason: string) {}
}

/** What the key is made of, for a request that may use the cache. */
interface Plan {
  /** The normalized request path (its entries' namespace). */
  readonly path: string;
  /** Route, path, host and proxy headers, query, allowlisted cookies. */
  readonly request: string[];
  /** The route's `vary` headers with their normalized values. */
  readonly vary: string[];
  /** `scope: 'user'`: the user key. */
  user: string;
  /** A custom `key(request)`: replaces `request`. */
  custom: string | undefined;
  tags: readonly string[];
}

/** The parts hashed into a plan's key. */
function keyParts(plan: Plan): string[] {
  const parts = plan.custom === undefined ? ['GET', ...plan.request] : ['GET', 'key', plan.custom];
  parts.push(`user=${plan.user}`, ...plan.vary);
  return parts;
}

/** A leader's outcome when its call is not known (never: the loader runs inside the call). */
const NO_OUTCOME: LoadOutcome<unknown> = { value: undefined, source: 'loaded' };

/** The outcome of one lookup. */
type Found =
  | { readonly kind: 'lead'; readonly lead: Lead }
  | { readonly kind: 'value'; readonly value: unknown; readonly collapsed: boolean };

/** Calls a route callback (sync or async); a throw or a rejection comes back as `{ ok: false }`. */
async function attempt<T>(
  call: () => T | Promise<T>,
): Promise<{ ok: true; value: T } | { ok: false }> {
  try {
    return { ok: true, value: await call() };
  } catch {
    return { ok: false };
  }
}

function logLookupFailure(logger: Logger, error: unknown, url: string): void {
  logger.warn({ err: error, url }, 'skycache: cache lookup failed; running the handler');
}

/** The route cache behind every adapter. `Req` is the framework's request object. */
export class RouteCache<Req> {
  readonly rules: RouteRules<Req>;
  readonly #registry: InvalidationRegistry;
  readonly #decoded = new DecodedEntries();
  /** Whether a request callback (bypass, userKey, key, tags) must run before the lookup. */
  readonly #callbacks: boolean;

  /**
   * @param where names the route in configuration errors
   * @throws ConfigError for invalid options
   */
  constructor(
    options: HttpCacheOptions<Req>,
    registry: InvalidationRegistry,
    where = 'skycache route',
  ) {
    this.rules = resolveRouteOptions(options, where);
    this.#registry = registry;
    registry.track(this.rules.cache);
    const rules = this.rules;
    this.#callbacks =
      rules.bypass !== undefined ||
      rules.scope === 'user' ||
      rules.key !== undefined ||
      typeof rules.tags === 'function';
  }

  get #anyRules(): RouteRules<unknown> {
    return this.rules as RouteRules<unknown>;
  }

  /**
   * Decides what to do with a request. Never rejects: a failing backend or callback leads to
   * running the handler (the failure is logged).
   *
   * The key is a hash of: the method (GET, also for HEAD), the route pattern, the normalized path,
   * the host (and keyed proxy headers), the sorted non-tracking query parameters, the allowlisted
   * cookies, the route's `vary` headers, the user key (`scope: 'user'`), and the tags' generation
   * tokens. A custom `key(request)` replaces the route, path, host, query and cookie parts.
   */
  async begin(
    view: RequestView,
    request: Req,
    logger: Logger = this.rules.logger,
  ): Promise<Exchange> {
    const method = view.method;
    if (method !== 'GET' && method !== 'HEAD') {
      const headers = outcomeHeaders(this.#anyRules, 'BYPASS', CACHE_STATUS.method);
      return {
        kind: 'observe',
        observer: new InvalidatingObserver(this.#registry, view, headers, logger),
      };
    }
    let plan = this.#requestPlan(view);
    if (this.#callbacks && !(plan instanceof Bypass)) {
      plan = await this.#applyCallbacks(plan, request);
    }
    if (plan instanceof Bypass) {
      logger.debug({ url: view.url, reason: plan.reason }, 'skycache: request bypasses the cache');
      return this.#pass('BYPASS', CACHE_STATUS.bypass);
    }
    let cache: Cache;
    let key: string;
    try {
      cache = resolveCache(this.rules.cache);
      this.#registry.use(cache);
      key = hashParts(keyParts(plan));
    } catch (error) {
      logLookupFailure(logger, error, view.url);
      return this.#pass('MISS', CACHE_STATUS.backendError);
    }
    const requestCacheControl = view.header('cache-control');
    // HEAD and `no-store` requests only read; the others store, with the route's tags.
    const load =
      method === 'HEAD' ||
      (requestCacheControl !== undefined && parseCacheControl(requestCacheControl).has('no-store'))
        ? undefined
        : plan.tags.length > 0
          ? { ...this.rules.load, tags: plan.tags }
          : this.rules.load;
    try {
      return await this.#lookup(view, pathView(cache, plan.path), key, load);
    } catch (error) {
      // The request we waited on failed (its response was an error): run our own handler.
      if (error instanceof HandlerFailedError) return this.#pass('MISS', CACHE_STATUS.miss);
      logLookupFailure(logger, error, view.url);
      return this.#pass('MISS', CACHE_STATUS.backendError);
    }
  }

  #pass(outcome: 'MISS' | 'BYPASS', cacheStatus: string): Exchange {
    return { kind: 'pass', headers: outcomeHeaders(this.#anyRules, outcome, cacheStatus) };
  }

  /** The key parts the request itself gives (headers, URL), or why it must bypass. */
  #requestPlan(view: RequestView): Plan | Bypass {
    const rules = this.rules;
    if (view.header('range') !== undefined) return new Bypass('Range');
    for (const name of OVERRIDE_HEADERS)
      if (view.header(name) !== undefined) return new Bypass(name);

    const { path: rawPath, query: rawQuery } = splitTarget(view.url);
    const query = normalizeQuery(rawQuery, rules.query);
    if (query === undefined) return new Bypass('query parameter not in the list');

    const keyedCookies: string[] = [];
    for (const [name, value] of parseCookies(view.header('cookie'))) {
      if (rules.cookies.has(name)) keyedCookies.push(`${name}=${value}`);
      else if (rules.scope === 'anonymous') return new Bypass('cookie');
    }
    keyedCookies.sort();
    if (rules.scope === 'anonymous' && view.header('authorization') !== undefined) {
      return new Bypass('Authorization');
    }

    const hostParts = this.#hostParts(view);
    if (hostParts instanceof Bypass) return hostParts;

    const path = normalizePath(rawPath);
    return {
      path,
      request: [view.route, path, ...hostParts, query, ...keyedCookies],
      vary: rules.vary.map((name) => `${name}=${normalizeVaryValue(name, view.header(name))}`),
      user: '',
      custom: undefined,
      tags: typeof rules.tags === 'function' ? [] : rules.tags,
    };
  }

  /**
   * The parts that need the route's callbacks: `bypass`, the user key, a custom key (which replaces
   * the URL and header parts, keeping the user and `vary` parts), and computed tags.
   */
  async #applyCallbacks(plan: Plan, request: Req): Promise<Plan | Bypass> {
    const rules = this.rules;
    if (rules.bypass) {
      const bypass = await attempt(() => rules.bypass!(request));
      if (!bypass.ok || bypass.value === true) return new Bypass('bypass()');
    }
    if (rules.scope === 'user') {
      const found = await attempt(() => rules.userKey!(request));
      if (!found.ok || typeof found.value !== 'string' || found.value === '') {
        return new Bypass('no user key');
      }
      plan.user = found.value;
    }
    if (rules.key) {
      const custom = await attempt(() => rules.key!(request));
      if (!custom.ok || typeof custom.value !== 'string' || custom.value === '') {
        return new Bypass('no custom key');
      }
      plan.custom = custom.value;
    }
    if (typeof rules.tags === 'function') {
      const tagsOf = rules.tags;
      const found = await attempt(() => tagsOf(request));
      if (!found.ok || !Array.isArray(found.value)) return new Bypass('tags() failed');
      plan.tags = found.value.filter((tag): tag is string => typeof tag === 'string' && tag !== '');
    }
    return plan;
  }

  /**
   * The host the response may depend on: the `Host` header (which must be listed in `hosts` when
   * that is set), plus any forwarded host, which is only accepted from the `hosts` list (an
   * unkeyed `X-Forwarded-Host` is the classic way to poison a cache), plus keyed proxy headers.
   * Keyed exactly as the handler sees them, not case-folded: a response that echoes
   * `Host: LOCALHOST` must never be served for `Host: localhost`.
   */
  #hostParts(view: RequestView): string[] | Bypass {
    const host = view.header('host') ?? '';
    if (!this.#trusted(host, false)) return new Bypass('Host not in hosts');
    const parts = [`host=${host}`];
    const forwarded = view.header('forwarded');
    const forwardedHosts: string[] = [];
    for (const name of FORWARDED_HOST_HEADERS) {
      const value = view.header(name);
      if (value !== undefined) forwardedHosts.push(...value.split(','));
    }
    if (forwarded !== undefined) {
      for (const match of forwarded.matchAll(/host\s*=\s*"?([^";,\s]+)"?/gi))
        forwardedHosts.push(match[1]!);
      for (const match of forwarded.matchAll(/proto\s*=\s*"?([^";,\s]+)"?/gi))
        parts.push(`proto=${match[1]!}`);
    }
    for (const value of forwardedHosts) {
      if (!this.#trusted(value.trim(), true)) return new Bypass('forwarded host not in hosts');
      parts.push(`fwd-host=${value}`);
    }
    for (const name of KEYED_FORWARDING_HEADERS) {
      const value = view.header(name);
      if (value !== undefined) parts.push(`${name}=${value}`);
    }
    return parts;
  }

  /**
   * Whether `host` (with or without its port) is acceptable: any `Host` without a `hosts` list; a
   * forwarded one only from the list. Host names compare case-insensitively here; the key keeps
   * the spelling.
   */
  #trusted(host: string, forwarded: boolean): boolean {
    const hosts = this.rules.hosts;
    if (hosts === undefined) return !forwarded;
    const name = host.trim().toLowerCase();
    return hosts.has(name) || hosts.has(name.replace(/:\d+$/, ''));
  }

  async #lookup(
    view: RequestView,
    entries: Cache,
    primary: string,
    load: GetOrSetOptions | undefined,
  ): Promise<Exchange> {
    let found = await this.#find(entries, primary, load);
    if (found.kind === 'lead') return this.#observe(view, found.lead);
    let entry = this.#decoded.decode(primary, found.value);
    if (entry === undefined) return this.#unusable(entries, primary, found.value);
    if (!varyMatches(entry, view)) {
      // Another variant of this resource: its own key, made of the first and the Vary values.
      const values = entry.varyNames.map((name) => normalizeVaryValue(name, view.header(name)));
      const variant = hashParts([primary, ...entry.varyNames, ...values]);
      found = await this.#find(entries, variant, load);
      if (found.kind === 'lead') return this.#observe(view, found.lead);
      entry = this.#decoded.decode(variant, found.value);
      if (entry === undefined) return this.#unusable(entries, variant, found.value);
      // The Vary of the resource changed between the two responses: do not guess.
      if (!varyMatches(entry, view)) return this.#pass('MISS', CACHE_STATUS.miss);
    }
    return serveStored(this.#anyRules, view, entry, found.collapsed ? 'collapsed' : 'hit');
  }

  /** Absent (HEAD or `no-store` lookups), shared-nothing (the run we waited on was not storable), or garbage. */
  #unusable(entries: Cache, key: string, value: unknown): Exchange {
    if (value !== undefined) {
      // Not an entry of ours (corrupt, or written by something else): drop it so the next miss stores.
      entries.delete(key).catch(() => {});
    }
    return this.#pass('MISS', CACHE_STATUS.miss);
  }

  #observe(view: RequestView, lead: Lead): Exchange {
    return { kind: 'observe', observer: new LeadCapture(this.#anyRules, view, lead) };
  }

  /**
   * Looks `key` up. Without `load` options (HEAD, `Cache-Control: no-store` requests) a plain
   * read. Otherwise `getOrSetWithSource` with them (timeout, stale windows, tags), with the handler run of this request as its loader: if the
   * loader is called, this request leads the miss and must settle the {@link Lead}; if not, the
   * value is a hit (`'hit'`, `'stale'`) or the response of a run this request joined (`'joined'`).
   */
  #find(entries: Cache, key: string, load: GetOrSetOptions | undefined): Promise<Found> {
    if (!load)
      return entries.get(key).then((value) => ({ kind: 'value', value, collapsed: false }));
    return new Promise<Found>((resolve, reject) => {
      let decided = false;
      // Filled in once getOrSetWithSource returns; the loader reads it lazily.
      const call: { result?: Promise<LoadOutcome<unknown>> } = {};
      const result = entries.getOrSetWithSource<Buffer | undefined>(
        key,
        () => {
          // Called at most once, before the call settles; `decided` guards the impossible.
          if (decided) return undefined;
          decided = true;
          const lead = new Lead(() => call.result ?? Promise.resolve(NO_OUTCOME));
          resolve({ kind: 'lead', lead });
          return lead.promise;
        },
        load,
      );
      call.result = result;
      result.then(
        (outcome) => {
          if (decided) return; // the leader's own call (after a stale-while-revalidate answer too)
          decided = true;
          resolve({ kind: 'value', value: outcome.value, collapsed: outcome.source === 'joined' });
        },
        (error: unknown) => {
          if (decided) return;
          decided = true;
          reject(error);
        },
      );
    });
  }
}
