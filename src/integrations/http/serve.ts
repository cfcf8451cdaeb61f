/**
 * Answering from a stored response: the stored headers plus `Age`, `Cache-Status` and the status
 * header, and a 304 when the request's preconditions match that entry.
 *
 * A hit should cost little more than the store's read: an entry's header part is decoded, checked
 * and grouped for sending once per key and reused while the store returns the same header bytes
 * ({@link DecodedEntries}), so a hit parses nothing and sends headers already in the form the
 * frameworks take.
 */
import { isNotModified, NOT_MODIFIED_HEADERS } from './conditional.js';
import { metaEnd, parseMeta, type StoredMeta } from './envelope.js';
import type { HeaderField, RequestView } from './exchange.js';
import type { RouteRules } from './options.js';
import { CACHE_STATUS, hitStatus } from './response-rules.js';

/** A response to send in place of running the handler (the `serve` exchange). */
export interface ServedResponse {
  readonly kind: 'serve';
  readonly status: number;
  readonly headers: readonly HeaderField[];
  /** `null`: no body (304). For HEAD the body is given and the server sends only its length. */
  readonly body: Buffer | null;
}

/** An entry's header part as serving needs it, worked out once. */
export interface ServableEntry extends StoredMeta {
  /** The stored headers, each name once: a repeated header with its values, in the order sent. */
  readonly fields: readonly HeaderField[];
  /** Whether the entry has a `Cache-Control` of its own. */
  readonly hasCacheControl: boolean;
  /** The stored `Last-Modified`, if any. */
  readonly lastModified: string | undefined;
  /** Where the body starts in the stored bytes it was decoded from. */
  readonly bodyOffset: number;
}

/** The servable form of an entry's header part (`bodyOffset`: where its body starts). */
export function servable(meta: StoredMeta, bodyOffset: number): ServableEntry {
  const fields: Array<[string, string | string[]]> = [];
  const byName = new Map<string, [string, string | string[]]>();
  let lastModified: string | undefined;
  for (const [name, value] of meta.headers) {
    const field = byName.get(name);
    if (field === undefined) {
      const added: [string, string | string[]] = [name, value];
      byName.set(name, added);
      fields.push(added);
    } else if (typeof field[1] === 'string') {
      field[1] = [field[1], value];
    } else {
      field[1].push(value);
    }
    if (name === 'last-modified') lastModified ??= value;
  }
  return {
    status: meta.status,
    headers: meta.headers,
    etag: meta.etag,
    storedAt: meta.storedAt,
    expiresAt: meta.expiresAt,
    varyNames: meta.varyNames,
    varyValues: meta.varyValues,
    fields,
    hasCacheControl: byName.has('cache-control'),
    lastModified,
    bodyOffset,
  };
}

const DECODED_MEMO_LIMIT = 512;

/**
 * Decoded entry headers by cache key, reused while the store returns the same header bytes, so a
 * hot page's JSON is parsed once rather than on every hit (comparing a few hundred bytes is far
 * cheaper than parsing them). Only the small header part is kept; the body always comes from what
 * the store returned.
 */
export class DecodedEntries {
  readonly #memo = new Map<string, { frame: Buffer; entry: ServableEntry }>();

  /** Forgets every decoded entry. */
  clear(): void {
    this.#memo.clear();
  }

  /** Whether the entry last decoded under `key` is fresh at `now` (ms) by its own times. */
  freshAt(key: string, now: number): boolean {
    const expiresAt = this.#memo.get(key)?.entry.expiresAt;
    return expiresAt === null || (expiresAt !== undefined && expiresAt > now);
  }

  /**
   * The header part of `value`, read under `key`; its body is `value.subarray(entry.bodyOffset)`.
   * `undefined` for anything that is not a well-formed entry.
   */
  decode(key: string, value: unknown): ServableEntry | undefined {
    const end = metaEnd(value);
    if (end === undefined) return undefined;
    const bytes = value as Buffer;
    const known = this.#memo.get(key);
    if (known !== undefined && bytes.compare(known.frame, 0, known.frame.length, 0, end) === 0) {
      return known.entry;
    }
    const meta = parseMeta(bytes, end);
    if (meta === undefined) return undefined;
    const entry = servable(meta, end);
    if (this.#memo.size >= DECODED_MEMO_LIMIT) this.#memo.clear();
    this.#memo.set(key, { frame: Buffer.from(bytes.subarray(0, end)), entry });
    return entry;
  }
}

/**
 * The response for a request answered from `entry`, whose body is `body`.
 * @param how `'hit'` (found in the cache, stale included) or `'collapsed'` (the response another
 *   request's handler run just produced, which this one waited for: a MISS)
 * @param conditional whether the request may carry `If-None-Match` / `If-Modified-Since` (when
 *   `false`, they are not looked for)
 */
export function serveStored(
  rules: RouteRules<unknown>,
  view: RequestView,
  entry: ServableEntry,
  body: Buffer,
  how: 'hit' | 'collapsed',
  conditional = true,
  now = Date.now(),
): ServedResponse {
  // Built with push, not spreads: this runs on every hit.
  const headers: HeaderField[] = [];
  if (how === 'hit') {
    headers.push(['age', String(Math.max(0, Math.floor((now - entry.storedAt) / 1000)))]);
    headers.push(['cache-status', hitStatus(entry.expiresAt, now)]);
    if (rules.statusHeader !== undefined) headers.push([rules.statusHeader, 'HIT']);
  } else {
    headers.push(['cache-status', CACHE_STATUS.collapsed]);
    if (rules.statusHeader !== undefined) headers.push([rules.statusHeader, 'MISS']);
  }
  const addCacheControl = rules.cacheControl !== undefined && !entry.hasCacheControl;
  const successful = entry.status >= 200 && entry.status < 300;
  if (conditional && successful && isNotModified(view, entry.etag, entry.lastModified)) {
    for (const field of entry.fields) if (NOT_MODIFIED_HEADERS.has(field[0])) headers.push(field);
    if (addCacheControl) headers.push(['cache-control', rules.cacheControl!]);
    return { kind: 'serve', status: 304, headers, body: null };
  }
  const fields = entry.fields;
  for (let i = 0; i < fields.length; i++) headers.push(fields[i]!);
  if (addCacheControl) headers.push(['cache-control', rules.cacheControl!]);
  headers.push(['content-length', String(body.length)]);
  // HEAD keeps the body: the server sends only its length (node:http, Fastify's HEAD route, Hono).
  return { kind: 'serve', status: entry.status, headers, body };
}
