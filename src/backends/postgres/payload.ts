/**
 * How payloads, expiry times and keys travel to PostgreSQL: the column a payload goes to, whole-ms
 * expiry parameters, and the key order multi-row writes lock rows in.
 */
import type { Payload } from '../../core/store.js';

/** Text goes to the `value` column, binary to `data`. PostgreSQL text cannot hold NUL characters,
 *  so a string with one is kept as its UTF-8 bytes (and comes back as a Buffer of them). */
export function columns(payload: Payload): [string | null, Buffer | null] {
  if (typeof payload !== 'string') return [null, payload];
  return payload.includes('\0') ? [null, Buffer.from(payload, 'utf8')] : [payload, null];
}

/** Expiry in whole ms, rounded up: an entry never expires early. `now` is rounded down to match. */
export function expiryParameter(expiresAt: number | null): number | null {
  return expiresAt === null ? null : Math.ceil(expiresAt);
}

/**
 * Orders keys by code point, which is the byte order of UTF-8 and so of `COLLATE "C"`: multi-row
 * writes lock rows in the same order as the primary key, and so never deadlock with each other.
 */
export function compareCodePoints(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    // Surrogates (astral characters) sort above U+E000–U+FFFF in code point order.
    if (x >= 0xd800) x += x <= 0xdfff ? 0x2000 : -0x800;
    if (y >= 0xd800) y += y <= 0xdfff ? 0x2000 : -0x800;
    return x - y;
  }
  return a.length - b.length;
}
