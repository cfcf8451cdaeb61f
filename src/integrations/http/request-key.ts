/**
 * Turning a request into key parts: the normalized path, the sorted and filtered query, the
 * allowlisted cookies, and normalized header values for `Vary`. Everything ends up hashed, so a
 * key never grows with what a client sends.
 */
import { createHash } from 'node:crypto';

/** SHA-256 of `text` as base64url (43 characters). */
export function digest(text: string | Buffer): string {
  return createHash('sha256').update(text).digest('base64url');
}

const HASH_MEMO_LIMIT = 4096;
/** Longer inputs are hashed every time, so the memo stays within about 2 MiB. */
const HASH_MEMO_MAX_CHARS = 512;
/** Recent hashes: a hot page's key is hashed once, not on every hit. Emptied when full. */
const hashMemo = new Map<string, string>();

/** One hash of several parts; length-prefixed so that no two part lists collide. */
export function hashParts(parts: readonly string[]): string {
  let joined = '';
  for (const part of parts) joined += `${part.length}:${part}`;
  if (joined.length > HASH_MEMO_MAX_CHARS) return digest(joined);
  let hash = hashMemo.get(joined);
  if (hash === undefined) {
    if (hashMemo.size >= HASH_MEMO_LIMIT) hashMemo.clear();
    hash = digest(joined);
    hashMemo.set(joined, hash);
  }
  return hash;
}

/** The path and the raw query of a request target. */
export function splitTarget(url: string): { path: string; query: string } {
  const hash = url.indexOf('#');
  const target = hash === -1 ? url : url.slice(0, hash);
  const question = target.indexOf('?');
  return question === -1
    ? { path: target, query: '' }
    : { path: target.slice(0, question), query: target.slice(question + 1) };
}

const UNRESERVED = /[A-Za-z0-9\-._~]/;

/**
 * RFC 3986 §6.2.2 normalization: percent-encodings of unreserved characters are decoded, the others
 * upper-cased (`/%7euser/a%2fb` → `/~user/a%2Fb`). Dot segments and repeated slashes are kept: a
 * router may serve them differently, and the route pattern is keyed too.
 */
export function normalizePath(path: string): string {
  if (!path.includes('%')) return path === '' ? '/' : path;
  return path.replace(/%([0-9A-Fa-f]{2})/g, (_match, hex: string) => {
    const char = String.fromCharCode(parseInt(hex, 16));
    return UNRESERVED.test(char) ? char : `%${hex.toUpperCase()}`;
  });
}

/**
 * Query parameters that only feed analytics: dropped from the key before anything else and never a
 * reason to bypass. The handler must not echo them into a cacheable page.
 */
const TRACKING_EXACT = new Set([
  'fbclid',
  'gclid',
  'gclsrc',
  'dclid',
  'gbraid',
  'wbraid',
  'msclkid',
  'yclid',
  'twclid',
  'ttclid',
  'li_fat_id',
  'igshid',
  'mc_cid',
  'mc_eid',
  '_ga',
  '_gl',
  '_hsenc',
  '_hsmi',
  'mkt_tok',
  'srsltid',
  'oly_anon_id',
  'oly_enc_id',
  'vero_id',
  'rb_clickid',
  's_cid',
]);

/** Whether a query parameter is a tracking one (`utm_*`, `fbclid`, `gclid`, …; case-insensitive). */
export function isTrackingParameter(name: string): boolean {
  const lower = name.toLowerCase();
  return lower.startsWith('utm_') || TRACKING_EXACT.has(lower);
}

function decodeComponent(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return text;
  }
}

/**
 * The keyed form of a raw query: tracking parameters dropped, parameters sorted by name (the
 * order of repeated values kept: `a=2&a=1` may mean a list), re-encoded canonically.
 * @returns `undefined` when `allowed` is a list and a parameter outside it is present (bypass)
 */
export function normalizeQuery(
  query: string,
  allowed: ReadonlySet<string> | 'all',
): string | undefined {
  if (query === '') return '';
  const parameters: Array<[name: string, value: string | undefined]> = [];
  for (const part of query.split('&')) {
    if (part === '') continue;
    const equals = part.indexOf('=');
    const name = decodeComponent(equals === -1 ? part : part.slice(0, equals));
    if (isTrackingParameter(name)) continue;
    if (allowed !== 'all' && !allowed.has(name)) return undefined;
    parameters.push([name, equals === -1 ? undefined : decodeComponent(part.slice(equals + 1))]);
  }
  parameters.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return parameters
    .map(([name, value]) =>
      value === undefined
        ? encodeURIComponent(name)
        : `${encodeURIComponent(name)}=${encodeURIComponent(value)}`,
    )
    .join('&');
}

/** The cookies of a `Cookie` header, in order (a name may repeat). */
export function parseCookies(header: string | undefined): Array<[name: string, value: string]> {
  if (!header) return [];
  const cookies: Array<[string, string]> = [];
  for (const part of header.split(';')) {
    const trimmed = part.trim();
    if (trimmed === '') continue;
    const equals = trimmed.indexOf('=');
    cookies.push(
      equals === -1 ? ['', trimmed] : [trimmed.slice(0, equals).trim(), trimmed.slice(equals + 1)],
    );
  }
  return cookies;
}

/** Parses `a;q=0.5, b` into tokens with weights, lower-cased, weight-0 ones dropped. */
function weightedTokens(value: string): Array<{ token: string; q: number }> {
  const tokens: Array<{ token: string; q: number }> = [];
  for (const part of value.split(',')) {
    const [rawToken = '', ...params] = part.split(';');
    const token = rawToken.trim().toLowerCase();
    if (token === '') continue;
    let q = 1;
    for (const param of params) {
      const match = /^\s*q\s*=\s*([0-9.]+)\s*$/i.exec(param);
      if (match) q = Number(match[1]);
    }
    if (q > 0 && Number.isFinite(q)) tokens.push({ token, q });
  }
  return tokens;
}

/** Marks an absent header, distinct from an empty one. */
const ABSENT = '\u0000';

/**
 * A request header's value as keyed for `Vary`:
 * - `Accept-Encoding`: the set of accepted codings, sorted (`gzip, br` = `br,gzip`; `x-gzip` = `gzip`);
 * - `Accept-Language`: the accepted languages in preference order, lower-cased;
 * - anything else: trimmed, inner whitespace collapsed.
 */
export function normalizeVaryValue(name: string, value: string | undefined): string {
  if (value === undefined) return ABSENT;
  if (name === 'accept-encoding') {
    const codings = weightedTokens(value).map(({ token }) => (token === 'x-gzip' ? 'gzip' : token));
    return [...new Set(codings)].sort().join(',');
  }
  if (name === 'accept-language') {
    return weightedTokens(value)
      .map((entry, index) => ({ ...entry, index }))
      .sort((a, b) => b.q - a.q || a.index - b.index)
      .map(({ token }) => token)
      .join(',');
  }
  return value.trim().replace(/\s+/g, ' ');
}
