/**
 * Reading HTTP header values: the header maps the frameworks hand us, `Cache-Control` directives,
 * comma-separated token lists (`Vary`) and entity-tag lists (`If-None-Match`).
 */

/**
 * Response headers as Node and Fastify expose them (`res.getHeaders()`, `reply.getHeaders()`):
 * lower-case names; a header sent several times (`Set-Cookie`) is an array.
 */
export type HeaderMap = Readonly<Record<string, string | readonly string[] | number | undefined>>;

/** A header's value as one string (list headers joined with `, `), or `undefined` if absent. */
export function headerValue(headers: HeaderMap, name: string): string | undefined {
  const value = headers[name];
  if (value === undefined) return undefined;
  if (typeof value === 'number') return String(value);
  return typeof value === 'string' ? value : value.join(', ');
}

/** Each value of a header, in order (an array header gives each element). */
export function headerValues(headers: HeaderMap, name: string): string[] {
  const value = headers[name];
  if (value === undefined) return [];
  if (typeof value === 'number') return [String(value)];
  return typeof value === 'string' ? [value] : [...value];
}

/** Splits a list header at commas that are not inside a quoted string. */
function splitList(value: string): string[] {
  const parts: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const char = value[i]!;
    if (char === '"' && value[i - 1] !== '\\') quoted = !quoted;
    if (char === ',' && !quoted) {
      parts.push(current);
      current = '';
    } else {
      current += char;
    }
  }
  parts.push(current);
  return parts.map((part) => part.trim()).filter((part) => part !== '');
}

/**
 * `Cache-Control` directives by lower-case name; a directive without a value maps to `''`, a
 * quoted one to what is inside the quotes (`private="X-User"` → `'X-User'`). A repeated directive's
 * values are joined with `, `, unless one of them is unqualified (then `''`).
 */
export function parseCacheControl(value: string | undefined): Map<string, string> {
  const directives = new Map<string, string>();
  if (!value) return directives;
  for (const part of splitList(value)) {
    const equals = part.indexOf('=');
    const name = (equals === -1 ? part : part.slice(0, equals)).trim().toLowerCase();
    const raw = equals === -1 ? '' : part.slice(equals + 1).trim();
    const value = raw.startsWith('"') ? raw.slice(1, -1) : raw;
    const earlier = directives.get(name);
    // A repeated directive: the field lists add up, and an unqualified one (`''`) wins.
    if (earlier === undefined) directives.set(name, value);
    else directives.set(name, earlier === '' || value === '' ? '' : `${earlier}, ${value}`);
  }
  return directives;
}

/** A comma-separated list of tokens (`Vary`), lower-cased, duplicates dropped, in order. */
export function parseTokenList(value: string | undefined): string[] {
  if (!value) return [];
  const seen = new Set<string>();
  for (const part of splitList(value)) seen.add(part.toLowerCase());
  return [...seen];
}

/** An `If-None-Match` value: `'*'`, or the listed entity-tags as written (`W/"a"`, `"b"`). */
export function parseEntityTags(value: string): '*' | string[] {
  if (value.trim() === '*') return '*';
  return splitList(value);
}

/** The opaque part of an entity-tag, for weak comparison (`W/"x"` and `"x"` are equal). */
export function opaqueTag(tag: string): string {
  return tag.startsWith('W/') ? tag.slice(2) : tag;
}

/** RFC 9110 token characters: what a header name may contain. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Whether `name` can be a header name. */
export function isHeaderName(name: string): boolean {
  return TOKEN.test(name);
}
