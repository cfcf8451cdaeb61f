/**
 * One cached route: decides, for each request, whether to answer from the cache, run the handler
 * and store its response, or keep the request away from the cache. Framework-neutral: the adapters
 * only translate their request and response objects (see exchange.ts). What the key is made of is
 * request-plan.ts; answering from an entry is serve.ts.
 *
 * Lookup: a memory cache is read at once, and a fresh hit answered in the request's own turn.
 * Otherwise the key (see {@link RouteCache.begin}) is looked up with `getOrSet`, whose loader is
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
import type { Exchange, RequestView } from './exchange.js';
import { parseCacheControl } from './header-values.js';
import { InvalidationRegistry, pathView, resolveCache } from './invalidation.js';
import { resolveRouteOptions, type HttpCacheOptions, type RouteRules } from './options.js';
import { hashParts, normalizeVaryValue } from './request-key.js';
import { Bypass, HEADER, headerMask, planKey, RequestPlanner, type Plan } from './request-plan.js';
import { CACHE_STATUS, outcomeHeaders } from './response-rules.js';
import { DecodedEntries, serveStored, type ServableEntry } from './serve.js';

/** A leader's outcome when its call is not known (never: the loader runs inside the call). */
const NO_OUTCOME: LoadOutcome<unknown> = { value: undefined, source: 'loaded' };

/** The outcome of one lookup. */
type Found =
  | { readonly kind: 'lead'; readonly lead: Lead }
  | { readonly kind: 'value'; readonly value: unknown; readonly collapsed: boolean };

function logLookupFailure(logger: Logger, error: unknown, url: string): void {
  logger.warn({ err: error, url }, 'skycache: cache lookup failed; running the handler');
}

/**
 * Caches whose reads may be answered at once, in the request's own turn: memory caches (a sync read
 * of a map). Any other store is read through the Promise API, so a slow disk never blocks the loop.
 */
const readsAtOnce = new WeakMap<Cache, boolean>();

function readableAtOnce(cache: Cache): boolean {
  let known = readsAtOnce.get(cache);
  if (known === undefined) {
    known = cache.backend === 'memory' && cache.supportsSync;
    readsAtOnce.set(cache, known);
  }
  return known;
}

/** The key of the variant of a resource the request asks for: the first key plus its Vary values. */
function variantKey(primary: string, entry: ServableEntry, view: RequestView): string {
  const values = entry.varyNames.map((name) => normalizeVaryValue(name, view.header(name)));
  return hashParts([primary, ...entry.varyNames, ...values]);
}

/** The route cache behind every adapter. `Req` is the framework's request object. */
export class RouteCache<Req> {
  readonly rules: RouteRules<Req>;
  readonly #registry: InvalidationRegistry;
  readonly #decoded = new DecodedEntries();
  readonly #planner: RequestPlanner<Req>;
  /** The registry's invalidation count when {@link #decoded} was last trusted. */
  #invalidationsSeen = 0;

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
    this.#planner = new RequestPlanner(this.rules);
  }

  get #anyRules(): RouteRules<unknown> {
    return this.rules as RouteRules<unknown>;
  }

  /**
   * Decides what to do with a request: at once when it can (a memory hit, a bypass), else through
   * a Promise. Never throws and never rejects for a failing backend or callback, which lead to
   * running the handler (the failure is logged).
   *
   * The key is a hash of: the method (GET, also for HEAD), the route pattern, the normalized path,
   * the host (and keyed proxy headers), the sorted non-tracking query parameters, the allowlisted
   * cookies, the route's `vary` headers, the user key (`scope: 'user'`), and the tags' generation
   * tokens. A custom `key(request)` replaces the route, path, host, query and cookie parts.
   */
  begin(
    view: RequestView,
    request: Req,
    logger: Logger = this.rules.logger,
  ): Exchange | Promise<Exchange> {
    try {
      const method = view.method;
      if (method !== 'GET' && method !== 'HEAD') {
        const headers = outcomeHeaders(this.#anyRules, 'BYPASS', CACHE_STATUS.method);
        return {
          kind: 'observe',
          observer: new InvalidatingObserver(this.#registry, view, headers, logger),
        };
      }
      const mask = headerMask(view);
      let plan = this.#planner.plan(view, mask);
      if (this.#planner.callbacks && !(plan instanceof Bypass)) {
        const applied = this.#planner.applyCallbacks(plan, request);
        if (applied instanceof Promise) {
          return applied.then((done) => this.#decide(view, done, mask, logger));
        }
        plan = applied;
      }
      return this.#decide(view, plan, mask, logger);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Looks a planned request up: at once for a memory hit, else through {@link #lookup}. */
  #decide(
    view: RequestView,
    plan: Plan | Bypass,
    mask: number,
    logger: Logger,
  ): Exchange | Promise<Exchange> {
    if (plan instanceof Bypass) {
      logger.debug({ url: view.url, reason: plan.reason }, 'skycache: request bypasses the cache');
      return this.#pass('BYPASS', CACHE_STATUS.bypass);
    }
    let cache: Cache;
    let key: string;
    try {
      cache = resolveCache(this.rules.cache);
      this.#registry.use(cache);
      key = planKey(plan);
    } catch (error) {
      logLookupFailure(logger, error, view.url);
      return this.#pass('MISS', CACHE_STATUS.backendError);
    }
    // HEAD and `no-store` requests only read; the others store, with the route's tags.
    const load =
      view.method === 'HEAD' ||
      ((mask & HEADER.cacheControl) !== 0 &&
        parseCacheControl(view.header('cache-control')).has('no-store'))
        ? undefined
        : plan.tags.length > 0
          ? { ...this.rules.load, tags: plan.tags }
          : this.rules.load;
    const entries = pathView(cache, plan.path);
    if (this.#registry.invalidations !== this.#invalidationsSeen) {
      // Entries may be gone: a decoded one no longer says its key is worth a read at once.
      this.#invalidationsSeen = this.#registry.invalidations;
      this.#decoded.clear();
    }
    const answer =
      (readableAtOnce(cache) ? this.#lookupNow(view, entries, key, load, mask) : undefined) ??
      this.#lookup(view, entries, key, load, mask);
    if (!(answer instanceof Promise)) return answer;
    return answer.catch((error: unknown) => {
      // The request we waited on failed (its response was an error): run our own handler.
      if (error instanceof HandlerFailedError) return this.#pass('MISS', CACHE_STATUS.miss);
      logLookupFailure(logger, error, view.url);
      return this.#pass('MISS', CACHE_STATUS.backendError);
    });
  }

  #pass(outcome: 'MISS' | 'BYPASS', cacheStatus: string): Exchange {
    return { kind: 'pass', headers: outcomeHeaders(this.#anyRules, outcome, cacheStatus) };
  }

  /**
   * The lookup done at once, with a sync read of a memory cache: a fresh hit is answered in this
   * turn, whatever `getOrSet` would add (locks and stale windows only act on misses). `undefined`
   * when {@link #lookup} must do it (a miss to load, a stale entry, a failed read).
   *
   * A lookup that may load reads at once only a key whose entry this route decoded lately and that
   * is still fresh by that entry's times, so that a miss is not counted twice in the cache's
   * stats (once by this read, once by `getOrSet`) but after an invalidation or an eviction.
   */
  #lookupNow(
    view: RequestView,
    entries: Cache,
    primary: string,
    load: GetOrSetOptions | undefined,
    mask: number,
  ): Exchange | Promise<Exchange> | undefined {
    const now = Date.now();
    if (load !== undefined && !this.#decoded.freshAt(primary, now)) return undefined;
    try {
      const value: unknown = entries.getSync(primary);
      if (value === undefined && load !== undefined) return undefined;
      const found: Found = { kind: 'value', value, collapsed: false };
      return this.#answer(view, entries, primary, found, load, mask);
    } catch {
      return undefined; // the Promise path reads again and reports the failure
    }
  }

  async #lookup(
    view: RequestView,
    entries: Cache,
    primary: string,
    load: GetOrSetOptions | undefined,
    mask: number,
  ): Promise<Exchange> {
    return this.#answer(
      view,
      entries,
      primary,
      await this.#find(entries, primary, load),
      load,
      mask,
    );
  }

  /** What the lookup of `key` found means for the request. */
  #answer(
    view: RequestView,
    entries: Cache,
    key: string,
    found: Found,
    load: GetOrSetOptions | undefined,
    mask: number,
    variant = false,
  ): Exchange | Promise<Exchange> {
    if (found.kind === 'lead') return this.#observe(view, found.lead, key);
    const entry = this.#decoded.decode(key, found.value);
    if (entry === undefined) return this.#unusable(entries, key, found.value);
    if (!varyMatches(entry, view)) {
      // The Vary of the resource changed between the two responses: do not guess.
      if (variant) return this.#pass('MISS', CACHE_STATUS.miss);
      // Another variant of this resource: its own key, made of the first and the Vary values.
      const other = variantKey(key, entry, view);
      return this.#find(entries, other, load).then((next) =>
        this.#answer(view, entries, other, next, load, mask, true),
      );
    }
    const body = (found.value as Buffer).subarray(entry.bodyOffset);
    const how = found.collapsed ? 'collapsed' : 'hit';
    const conditional = (mask & HEADER.conditional) !== 0;
    return serveStored(this.#anyRules, view, entry, body, how, conditional);
  }

  /** Absent (HEAD or `no-store` lookups), shared-nothing (the run we waited on was not storable), or garbage. */
  #unusable(entries: Cache, key: string, value: unknown): Exchange {
    if (value !== undefined) {
      // Not an entry of ours (corrupt, or written by something else): drop it so the next miss stores.
      entries.delete(key).catch(() => {});
    }
    return this.#pass('MISS', CACHE_STATUS.miss);
  }

  #observe(view: RequestView, lead: Lead, key: string): Exchange {
    // Once stored, the entry is known: the next request for it may be answered at once.
    const stored = (value: Buffer) => void this.#decoded.decode(key, value);
    return {
      kind: 'observe',
      observer: new LeadCapture(this.#anyRules, view, lead, stored),
    };
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
