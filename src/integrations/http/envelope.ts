/**
 * The stored form of a response: one Buffer holding a small JSON header (status, the response
 * headers, times, ETag, the Vary values it was made for) followed by the body bytes. Stored as a
 * top-level Buffer, it bypasses the cache's serializer, so a shared store never makes skycache run
 * a language-specific deserializer (v8, msgpack) on bytes someone else may have written; reading
 * is `JSON.parse` plus a strict shape check, and anything else is a miss.
 *
 * Layout: `SKH1` · u32 big-endian length of the JSON · JSON · body.
 */
import type { HeaderPair } from './exchange.js';

const MAGIC = Buffer.from('SKH1', 'latin1');
const PREFIX_BYTES = MAGIC.length + 4;

/** A response as kept in the cache. */
export interface StoredResponse {
  readonly status: number;
  /** Lower-case names, in the order sent; a repeated header is one pair per value. */
  readonly headers: readonly HeaderPair[];
  readonly body: Buffer;
  /** The entity-tag served with it, quoted (`"…"` or `W/"…"`). */
  readonly etag: string;
  /** When it was stored (ms since the epoch). */
  readonly storedAt: number;
  /** When it stops being fresh (ms since the epoch), `null` = until invalidated. */
  readonly expiresAt: number | null;
  /** The request headers its response `Vary` names (lower-case, sorted) and their keyed values. */
  readonly varyNames: readonly string[];
  readonly varyValues: readonly string[];
}

/**
 * Response headers an entry never holds: hop-by-hop fields (RFC 9110 §7.6.1: `Connection`,
 * `Keep-Alive`, `Proxy-*`, `TE`, `Trailer`, `Transfer-Encoding`, `Upgrade`), per-response ones
 * (`Date`, `Age`, `Set-Cookie`, whose responses are never stored at all) and those a hit recomputes
 * (`Content-Length`, `Cache-Status`). Every other header the handler sent is stored and replayed
 * (see `storedHeaders` in response-rules.ts for the per-response exceptions).
 */
const NEVER_STORED: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'date',
  'age',
  'set-cookie',
  'content-length',
  'cache-status',
]);

/** Whether an entry may hold a header of this lower-case name. */
export function isNeverStoredHeader(name: string): boolean {
  return NEVER_STORED.has(name) || name.startsWith('proxy-');
}

/** Lower-case RFC 9110 token: a header name as an entry keeps it. */
const STORED_NAME = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;
/** A header value node:http would send as is (no CR, LF or NUL). */
const STORED_VALUE = /^[^\r\n\0]*$/;

interface Meta {
  s: number;
  h: Array<[string, string]>;
  e: string;
  t: number;
  x: number | null;
  vn: string[];
  vv: string[];
}

/** Encodes a response for storage. */
export function encodeStoredResponse(response: StoredResponse): Buffer {
  const meta: Meta = {
    s: response.status,
    h: response.headers.map(([name, value]) => [name, value]),
    e: response.etag,
    t: response.storedAt,
    x: response.expiresAt,
    vn: [...response.varyNames],
    vv: [...response.varyValues],
  };
  const json = Buffer.from(JSON.stringify(meta), 'utf8');
  const out = Buffer.allocUnsafe(PREFIX_BYTES + json.length + response.body.length);
  MAGIC.copy(out, 0);
  out.writeUInt32BE(json.length, MAGIC.length);
  json.copy(out, PREFIX_BYTES);
  response.body.copy(out, PREFIX_BYTES + json.length);
  return out;
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

function isHeaderList(value: unknown): value is Array<[string, string]> {
  return (
    Array.isArray(value) &&
    value.every(
      (pair) =>
        Array.isArray(pair) &&
        pair.length === 2 &&
        typeof pair[0] === 'string' &&
        STORED_NAME.test(pair[0]) &&
        !isNeverStoredHeader(pair[0]) &&
        typeof pair[1] === 'string' &&
        STORED_VALUE.test(pair[1]),
    )
  );
}

/** The header part of an entry: everything but the body. */
export type StoredMeta = Omit<StoredResponse, 'body'>;

/**
 * Where the header part of a stored value ends (and its body starts), or `undefined` if the value
 * is not framed as an entry.
 */
export function metaEnd(value: unknown): number | undefined {
  if (!Buffer.isBuffer(value) || value.length < PREFIX_BYTES) return undefined;
  // Byte by byte: this runs on every hit, and a compare() call costs more than four reads.
  for (let i = 0; i < MAGIC.length; i++) if (value[i] !== MAGIC[i]) return undefined;
  const end = PREFIX_BYTES + value.readUInt32BE(MAGIC.length);
  return end > value.length ? undefined : end;
}

/**
 * The header part of an entry whose framing {@link metaEnd} accepted; `undefined` if it is not an
 * entry's shape.
 */
export function parseMeta(value: Buffer, end: number): StoredMeta | undefined {
  const json = value.toString('utf8', PREFIX_BYTES, end);
  let meta: Partial<Meta>;
  try {
    meta = JSON.parse(json) as Partial<Meta>;
  } catch {
    return undefined;
  }
  if (
    meta === null ||
    typeof meta !== 'object' ||
    !Number.isInteger(meta.s) ||
    meta.s! < 200 ||
    meta.s! > 599 ||
    !isHeaderList(meta.h) ||
    typeof meta.e !== 'string' ||
    typeof meta.t !== 'number' ||
    (meta.x !== null && typeof meta.x !== 'number') ||
    !isStringArray(meta.vn) ||
    !isStringArray(meta.vv) ||
    meta.vn.length !== meta.vv.length
  ) {
    return undefined;
  }
  return {
    status: meta.s!,
    headers: meta.h,
    etag: meta.e,
    storedAt: meta.t,
    expiresAt: meta.x ?? null,
    varyNames: meta.vn,
    varyValues: meta.vv,
  };
}

/** An entry from its parsed header and its body (one object shape, built field by field). */
function withBody(meta: StoredMeta, body: Buffer): StoredResponse {
  return {
    status: meta.status,
    headers: meta.headers,
    body,
    etag: meta.etag,
    storedAt: meta.storedAt,
    expiresAt: meta.expiresAt,
    varyNames: meta.varyNames,
    varyValues: meta.varyValues,
  };
}

/** Decodes what the cache returned; `undefined` for anything that is not a well-formed entry. */
export function decodeStoredResponse(value: unknown): StoredResponse | undefined {
  const end = metaEnd(value);
  if (end === undefined) return undefined;
  const bytes = value as Buffer;
  const meta = parseMeta(bytes, end);
  return meta && withBody(meta, bytes.subarray(end));
}
