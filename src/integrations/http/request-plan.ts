/**
 * What a request's cache key is made of, or why the request stays away from the cache: the route
 * rules applied to the request's URL and headers, then to the route's callbacks.
 *
 * A plain request (no header that changes the key or forbids the cache, no route `vary`) is keyed
 * by its route, `Host` and URL alone (and the route's callbacks); its plan, hash included when the
 * route has no callbacks, is kept per route, so a hot page is keyed with one map lookup instead of
 * parsing and hashing its URL again. Callbacks that answer at once are applied at once.
 */
import { isPromiseLike } from '../../core/maybe-promise.js';
import type { RequestView } from './exchange.js';
import type { RouteRules } from './options.js';
import {
  hashParts,
  normalizePath,
  normalizeQuery,
  normalizeVaryValue,
  parseCookies,
  splitTarget,
} from './request-key.js';

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

/** Bits of {@link headerMask}: which request headers that matter to the cache are present. */
export const HEADER = {
  /** `Range`, an override, a forwarded host or a keyed proxy header: keyed the long way. */
  special: 1,
  cookie: 2,
  authorization: 4,
  cacheControl: 8,
  /** `If-None-Match` or `If-Modified-Since`. */
  conditional: 16,
} as const;

const HEADER_BITS = new Map<string, number>([
  ['range', HEADER.special],
  ['forwarded', HEADER.special],
  ...[...OVERRIDE_HEADERS, ...FORWARDED_HOST_HEADERS, ...KEYED_FORWARDING_HEADERS].map(
    (name): [string, number] => [name, HEADER.special],
  ),
  ['cookie', HEADER.cookie],
  ['authorization', HEADER.authorization],
  ['cache-control', HEADER.cacheControl],
  ['if-none-match', HEADER.conditional],
  ['if-modified-since', HEADER.conditional],
]);

/**
 * Which of the headers that matter to the cache the request carries, as {@link HEADER} bits: one
 * pass over the view's header map when it has one (a request has few headers, the list is long),
 * else one lookup per header. A clear bit means the header is absent.
 */
export function headerMask(view: RequestView): number {
  let mask = 0;
  const headers = view.headers;
  if (headers !== undefined) {
    for (const name in headers) mask |= HEADER_BITS.get(name) ?? 0;
    return mask;
  }
  for (const [name, bit] of HEADER_BITS) if (view.header(name) !== undefined) mask |= bit;
  return mask;
}

/** Why a request stays away from the cache. */
export class Bypass {
  constructor(readonly reason: string) {}
}

/** What the key is made of, for a request that may use the cache. */
export interface Plan {
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
  /** The hash of {@link keyParts}, when already known (a kept plan). */
  readonly key?: string;
}

/** The parts hashed into a plan's key. */
function keyParts(plan: Plan): string[] {
  const parts = plan.custom === undefined ? ['GET', ...plan.request] : ['GET', 'key', plan.custom];
  parts.push(`user=${plan.user}`, ...plan.vary);
  return parts;
}

/** The cache key of a plan: a hash, so a key never grows with what a client sends. */
export function planKey(plan: Plan): string {
  return plan.key ?? hashParts(keyParts(plan));
}

/** One route callback, and what its answer does to the plan. */
interface CallbackStep<Req> {
  readonly call: (request: Req) => unknown;
  /** Why the request bypasses when the callback throws, rejects or answers something unusable. */
  readonly reason: string;
  /** Applies the callback's answer to the plan; `false`: unusable (the request bypasses). */
  readonly accept: (plan: Plan, value: unknown) => boolean;
}

/** The callbacks a route runs before its lookup, in order: bypass, user key, custom key, tags. */
function callbackSteps<Req>(rules: RouteRules<Req>): CallbackStep<Req>[] {
  const steps: CallbackStep<Req>[] = [];
  if (rules.bypass) {
    steps.push({
      call: rules.bypass,
      reason: 'bypass()',
      accept: (_plan, value) => value !== true,
    });
  }
  if (rules.scope === 'user') {
    const accept = (plan: Plan, value: unknown) => {
      if (typeof value !== 'string' || value === '') return false;
      plan.user = value;
      return true;
    };
    steps.push({ call: rules.userKey!, reason: 'no user key', accept });
  }
  if (rules.key) {
    const accept = (plan: Plan, value: unknown) => {
      if (typeof value !== 'string' || value === '') return false;
      plan.custom = value;
      return true;
    };
    steps.push({ call: rules.key, reason: 'no custom key', accept });
  }
  if (typeof rules.tags === 'function') {
    const accept = (plan: Plan, value: unknown) => {
      if (!Array.isArray(value)) return false;
      plan.tags = value.filter((tag): tag is string => typeof tag === 'string' && tag !== '');
      return true;
    };
    steps.push({ call: rules.tags, reason: 'tags() failed', accept });
  }
  return steps;
}

/** Plain requests' plans kept per route; emptied when full. */
const KEPT_PLANS_LIMIT = 1024;
/** Longer URLs are planned every time, so the kept plans stay small. */
const KEPT_URL_MAX_CHARS = 512;

/** Plans the requests of one route. `Req` is the framework's request object. */
export class RequestPlanner<Req> {
  readonly #rules: RouteRules<Req>;
  /** Whether a request callback (bypass, userKey, key, tags) must run before the lookup. */
  readonly callbacks: boolean;
  readonly #steps: CallbackStep<Req>[];
  /** Header bits that make a request's plan depend on more than its route, Host and URL. */
  readonly #unkeptBits: number;
  /** Plain requests' plans by URL, with the Host and route they were made for. */
  readonly #kept = new Map<string, { host: string; route: string; plan: Plan }>();

  constructor(rules: RouteRules<Req>) {
    this.#rules = rules;
    this.#steps = callbackSteps(rules);
    this.callbacks = this.#steps.length > 0;
    // Credentials make an anonymous request bypass; allowlisted cookies are keyed by value.
    this.#unkeptBits =
      HEADER.special |
      (rules.scope === 'anonymous' ? HEADER.cookie | HEADER.authorization : 0) |
      (rules.cookies.size > 0 ? HEADER.cookie : 0);
  }

  /**
   * The key parts the request itself gives (headers, URL), or why it must bypass; the route's
   * callbacks are applied after, by {@link applyCallbacks}. `mask`: the request's
   * {@link headerMask}. A plan returned for a plain request of a route without callbacks is
   * shared: it must not be changed.
   */
  plan(view: RequestView, mask: number): Plan | Bypass {
    if ((mask & this.#unkeptBits) !== 0 || this.#rules.vary.length > 0) {
      return this.#requestPlan(view);
    }
    const url = view.url;
    if (url.length > KEPT_URL_MAX_CHARS) return this.#requestPlan(view);
    // Here the plan depends on the route, the Host and the URL only.
    const host = view.header('host') ?? '';
    const route = view.route;
    let kept = this.#kept.get(url);
    if (kept === undefined || kept.host !== host || kept.route !== route) {
      const plan = this.#requestPlan(view);
      if (plan instanceof Bypass) return plan;
      if (this.#kept.size >= KEPT_PLANS_LIMIT) this.#kept.clear();
      // With callbacks the key is known only once they ran.
      const key = this.callbacks ? undefined : planKey(plan);
      kept = { host, route, plan: Object.freeze({ ...plan, key }) };
      // One plan per URL: another Host or route for it replaces the kept one.
      this.#kept.set(url, kept);
    }
    if (!this.callbacks) return kept.plan;
    const { path, request, vary, tags } = kept.plan;
    return { path, request, vary, user: '', custom: undefined, tags };
  }

  #requestPlan(view: RequestView): Plan | Bypass {
    const rules = this.#rules;
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
   * the URL and header parts, keeping the user and `vary` parts), and computed tags. At once when
   * every callback answers at once; a callback that returns a Promise makes the rest wait for it.
   * Never throws or rejects: a failing callback makes the request bypass.
   */
  applyCallbacks(plan: Plan, request: Req, from = 0): Plan | Bypass | Promise<Plan | Bypass> {
    const steps = this.#steps;
    for (let i = from; i < steps.length; i++) {
      const step = steps[i]!;
      const call = step.call;
      let value: unknown;
      try {
        value = call(request);
      } catch {
        return new Bypass(step.reason);
      }
      if (isPromiseLike(value)) {
        return Promise.resolve(value).then(
          (settled) =>
            step.accept(plan, settled)
              ? this.applyCallbacks(plan, request, i + 1)
              : new Bypass(step.reason),
          () => new Bypass(step.reason),
        );
      }
      if (!step.accept(plan, value)) return new Bypass(step.reason);
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
    const hosts = this.#rules.hosts;
    if (hosts === undefined) return !forwarded;
    const name = host.trim().toLowerCase();
    return hosts.has(name) || hosts.has(name.replace(/:\d+$/, ''));
  }
}
