/**
 * What may be stored, and the headers skycache adds: the status header (`X-Cache`), RFC 9211
 * `Cache-Status`, `Age`, and the route's `Vary` merged into the response's.
 */
import { isNeverStoredHeader } from './envelope.js';
import type { HeaderPair } from './exchange.js';
import {
  headerValue,
  headerValues,
  parseCacheControl,
  parseTokenList,
  type HeaderMap,
} from './header-values.js';
import type { RouteRules } from './options.js';

/** The name under which `Cache-Status` reports (RFC 9211 §2). */
export const CACHE_NAME = 'skycache';

/** What the status header says. */
export type CacheOutcome = 'HIT' | 'MISS' | 'BYPASS';

/** `Cache-Status` values (RFC 9211). */
export const CACHE_STATUS = {
  stored: `${CACHE_NAME}; fwd=uri-miss; stored`,
  miss: `${CACHE_NAME}; fwd=uri-miss`,
  collapsed: `${CACHE_NAME}; fwd=uri-miss; collapsed`,
  bypass: `${CACHE_NAME}; fwd=bypass`,
  method: `${CACHE_NAME}; fwd=method`,
  backendError: `${CACHE_NAME}; fwd=uri-miss; detail=backend-error`,
} as const;

/**
 * `Cache-Status` of a hit: `ttl` is the freshness left in whole seconds, rounded down (so a copy
 * served stale always shows a negative one).
 */
export function hitStatus(expiresAt: number | null, now: number): string {
  if (expiresAt === null) return `${CACHE_NAME}; hit`;
  return `${CACHE_NAME}; hit; ttl=${Math.floor((expiresAt - now) / 1000)}`;
}

/** The status header and `Cache-Status` pair for an outcome. */
export function outcomeHeaders(
  rules: RouteRules<unknown>,
  outcome: CacheOutcome,
  cacheStatus: string,
): HeaderPair[] {
  const headers: HeaderPair[] = [['cache-status', cacheStatus]];
  if (rules.statusHeader !== undefined) headers.push([rules.statusHeader, outcome]);
  return headers;
}

/**
 * Why a response may not be stored, or `undefined` if it may. `bodyBytes` is `undefined` while the
 * body is still streaming (the declared `Content-Length` is checked instead).
 */
export function unstorableReason(
  rules: RouteRules<unknown>,
  status: number,
  headers: HeaderMap,
  bodyBytes: number | undefined,
): string | undefined {
  if (rules.ttlMs === 0) return 'ttl 0';
  if (!rules.statuses.has(status)) return `status ${status}`;
  if (headers['set-cookie'] !== undefined) return 'Set-Cookie';
  const directives = parseCacheControl(headerValue(headers, 'cache-control'));
  if (directives.has('no-store')) return 'Cache-Control: no-store';
  // Unqualified only: `private="X-User"` / `no-cache="X-User"` forbid storing those fields, which
  // `storedHeaders` leaves out, not the response (RFC 9111 §5.2.2.4, §5.2.2.7).
  for (const directive of ['private', 'no-cache']) {
    const fields = directives.get(directive);
    if (fields !== undefined && parseTokenList(fields).length === 0) {
      return `Cache-Control: ${directive}`;
    }
  }
  const vary = parseTokenList(headerValue(headers, 'vary'));
  if (vary.includes('*')) return 'Vary: *';
  if (rules.scope === 'public' && (vary.includes('authorization') || vary.includes('cookie'))) {
    return 'Vary on credentials in a public-scope route';
  }
  const type = headerValue(headers, 'content-type');
  if (type !== undefined && /^\s*text\/event-stream/i.test(type)) return 'text/event-stream';
  const declared = Number(headerValue(headers, 'content-length'));
  if (Number.isFinite(declared) && declared > rules.maxBodyBytes) return 'body too large';
  if (bodyBytes !== undefined && bodyBytes > rules.maxBodyBytes) return 'body too large';
  return undefined;
}

/**
 * The headers of a storable response that its entry keeps, in the order sent (a repeated header as
 * one pair per value, so a hit sends the same field lines): every header except those an entry
 * never holds (hop-by-hop, `Date`, `Age`, `Content-Length`, `Cache-Status`; see envelope.ts), the
 * fields named by `Connection`, by `Cache-Control: private="…"` or `no-cache="…"`, the route's
 * status header and `omitHeaders`. `ETag` and `Vary` are left to the caller, which settles them.
 */
export function storedHeaders(rules: RouteRules<unknown>, headers: HeaderMap): HeaderPair[] {
  const omitted = new Set(rules.omitHeaders);
  if (rules.statusHeader !== undefined) omitted.add(rules.statusHeader);
  for (const name of parseTokenList(headerValue(headers, 'connection'))) omitted.add(name);
  const cacheControl = headerValue(headers, 'cache-control');
  if (cacheControl !== undefined) {
    const directives = parseCacheControl(cacheControl);
    for (const name of parseTokenList(directives.get('private'))) omitted.add(name);
    for (const name of parseTokenList(directives.get('no-cache'))) omitted.add(name);
  }
  const kept: HeaderPair[] = [];
  for (const name of Object.keys(headers)) {
    const lower = name.toLowerCase();
    if (lower === 'etag' || lower === 'vary' || omitted.has(lower) || isNeverStoredHeader(lower)) {
      continue;
    }
    for (const value of headerValues(headers, name)) kept.push([lower, value]);
  }
  return kept;
}

/**
 * The response's `Vary` with the route's `vary` headers added (for caches further down the line),
 * or `undefined` when nothing changes. `Vary: *` is left alone.
 */
export function mergedVary(rules: RouteRules<unknown>, headers: HeaderMap): string | undefined {
  if (rules.vary.length === 0) return undefined;
  const current = headerValue(headers, 'vary');
  const present = parseTokenList(current);
  if (present.includes('*')) return undefined;
  const missing = rules.vary.filter((name) => !present.includes(name));
  if (missing.length === 0) return undefined;
  return current && current.trim() !== ''
    ? `${current}, ${missing.join(', ')}`
    : missing.join(', ');
}

/** Whether a request answered with `status` invalidates its path (2xx/3xx to POST, PUT, PATCH, DELETE). */
export function invalidatesPath(method: string, status: number): boolean {
  return (
    status >= 200 &&
    status < 400 &&
    (method === 'POST' || method === 'PUT' || method === 'PATCH' || method === 'DELETE')
  );
}
