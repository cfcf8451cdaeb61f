/**
 * Conditional requests (RFC 9110 §13): content-hash ETags, `If-None-Match` and
 * `If-Modified-Since`, and which headers a 304 carries.
 */
import { createHash } from 'node:crypto';
import type { RequestView } from './exchange.js';
import { opaqueTag, parseEntityTags } from './header-values.js';

/**
 * A strong entity-tag from the body's SHA-256: quoted, and the same in every process and after
 * restarts (it depends on the bytes only).
 */
export function contentEtag(body: Buffer): string {
  return `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
}

/**
 * Whether the request's preconditions say the client's copy is current (answer 304), judged
 * against one stored response's validators. `If-None-Match` wins over `If-Modified-Since`
 * (RFC 9110 §13.1.3); `*` matches any current representation; comparison is weak.
 */
export function isNotModified(
  view: RequestView,
  etag: string | undefined,
  lastModified: string | undefined,
): boolean {
  const ifNoneMatch = view.header('if-none-match');
  if (ifNoneMatch !== undefined) {
    const tags = parseEntityTags(ifNoneMatch);
    if (tags === '*') return true;
    if (etag === undefined) return false;
    const wanted = opaqueTag(etag);
    return tags.some((tag) => opaqueTag(tag) === wanted);
  }
  const ifModifiedSince = view.header('if-modified-since');
  if (ifModifiedSince === undefined || lastModified === undefined) return false;
  const since = Date.parse(ifModifiedSince);
  const modified = Date.parse(lastModified);
  return Number.isFinite(since) && Number.isFinite(modified) && modified <= since;
}

/**
 * Headers a 304 keeps from the 200 it stands for (RFC 9110 §15.4.5: `Content-Location`, `Date`,
 * `ETag`, `Vary`, `Cache-Control`, `Expires`; `Last-Modified` as a validator). `Date` is added by
 * the server itself.
 */
export const NOT_MODIFIED_HEADERS: ReadonlySet<string> = new Set([
  'content-location',
  'etag',
  'vary',
  'cache-control',
  'expires',
  'last-modified',
]);

/** Representation headers a 304 must not carry when it replaces a 200 on the way out. */
export const BODY_HEADERS: readonly string[] = [
  'content-type',
  'content-length',
  'content-encoding',
  'content-language',
  'content-disposition',
  'transfer-encoding',
];
