/**
 * Answering from a stored response: the stored headers plus `Age`, `Cache-Status` and the status
 * header, and a 304 when the request's preconditions match that entry.
 */
import { isNotModified, NOT_MODIFIED_HEADERS } from './conditional.js';
import type { StoredResponse } from './envelope.js';
import type { HeaderPair, RequestView } from './exchange.js';
import type { RouteRules } from './options.js';
import { CACHE_STATUS, hitStatus } from './response-rules.js';

/** A response to send in place of running the handler (the `serve` exchange). */
export interface ServedResponse {
  readonly kind: 'serve';
  readonly status: number;
  readonly headers: readonly HeaderPair[];
  /** `null`: no body (304). For HEAD the body is given and the server sends only its length. */
  readonly body: Buffer | null;
}

function stored(entry: StoredResponse, name: string): string | undefined {
  for (const [key, value] of entry.headers) if (key === name) return value;
  return undefined;
}

/**
 * The response for a request answered from `entry`.
 * @param how `'hit'` (found in the cache, stale included) or `'collapsed'` (the response another
 *   request's handler run just produced, which this one waited for: a MISS)
 */
export function serveStored(
  rules: RouteRules<unknown>,
  view: RequestView,
  entry: StoredResponse,
  how: 'hit' | 'collapsed',
  now = Date.now(),
): ServedResponse {
  // Built with push, not spreads: this runs on every hit.
  const headers: HeaderPair[] = [];
  if (how === 'hit') {
    headers.push(['age', String(Math.max(0, Math.floor((now - entry.storedAt) / 1000)))]);
    headers.push(['cache-status', hitStatus(entry.expiresAt, now)]);
    if (rules.statusHeader !== undefined) headers.push([rules.statusHeader, 'HIT']);
  } else {
    headers.push(['cache-status', CACHE_STATUS.collapsed]);
    if (rules.statusHeader !== undefined) headers.push([rules.statusHeader, 'MISS']);
  }
  const addCacheControl =
    rules.cacheControl !== undefined && stored(entry, 'cache-control') === undefined;
  const successful = entry.status >= 200 && entry.status < 300;
  if (successful && isNotModified(view, entry.etag, stored(entry, 'last-modified'))) {
    for (const pair of entry.headers) if (NOT_MODIFIED_HEADERS.has(pair[0])) headers.push(pair);
    if (addCacheControl) headers.push(['cache-control', rules.cacheControl!]);
    return { kind: 'serve', status: 304, headers, body: null };
  }
  for (const pair of entry.headers) headers.push(pair);
  if (addCacheControl) headers.push(['cache-control', rules.cacheControl!]);
  headers.push(['content-length', String(entry.body.length)]);
  // HEAD keeps the body: the server sends only its length (node:http, Fastify's HEAD route, Hono).
  return { kind: 'serve', status: entry.status, headers, body: entry.body };
}
