/**
 * Entries that may be served stale. `getOrSet` with `staleWhileRevalidate` or `staleIfError`
 * stores the value wrapped with its logical expiry and keeps the entry in the store for that long
 * plus the stale window. Readers other than `getOrSet` treat a wrapped entry past its logical
 * expiry as absent, so plain `set` and `delete` replace or remove it like any other entry.
 *
 * Format: byte 0x01, a type byte (`s` the inner payload was a string, `b` a Buffer), the logical
 * expiry as a float64 (big-endian ms), then the inner payload. Text serializers never start with
 * 0x01 and skycache's binary marker is 0x00, so the two cannot be confused. Reference stores
 * (memory with `serialize: false`) keep a {@link StaleBox} instead.
 */
import type { Payload } from '../store.js';

const STALE_MARK = 0x01;
const HEADER = 10;

/** The reference-store form of a wrapped value. */
export class StaleBox {
  constructor(
    readonly value: unknown,
    readonly expiresAt: number,
  ) {}
}

/**
 * Whether this process ever made a {@link StaleBox}: until then a reference store cannot hold one,
 * and the memory hot path skips the `instanceof` check. (A live binding: importers see updates.)
 */
export let staleBoxesMade = false;

/** Wraps a payload with its logical expiry (ms). */
export function wrapStale(payload: Payload, expiresAt: number, references: boolean): Payload {
  if (references) {
    staleBoxesMade = true;
    return new StaleBox(payload, expiresAt) as unknown as Payload;
  }
  const inner = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  const out = Buffer.allocUnsafe(HEADER + inner.length);
  out[0] = STALE_MARK;
  out[1] = typeof payload === 'string' ? 0x73 : 0x62;
  out.writeDoubleBE(expiresAt, 2);
  inner.copy(out, HEADER);
  return out;
}

/** A payload split into its inner payload and logical expiry (`undefined` if it was not wrapped). */
export interface Unwrapped {
  readonly payload: Payload;
  readonly expiresAt: number | undefined;
}

/**
 * @param references the store keeps values as they are (memory `serialize: false`): only a
 *   {@link StaleBox} is wrapped there, since any other value is the caller's own
 */
export function unwrapStale(payload: Payload, references: boolean): Unwrapped {
  const box = payload as unknown;
  if (box instanceof StaleBox) return { payload: box.value as Payload, expiresAt: box.expiresAt };
  if (references || !isWrappedBytes(payload)) return { payload, expiresAt: undefined };
  const inner = payload.subarray(HEADER);
  return {
    payload: payload[1] === 0x73 ? inner.toString('utf8') : inner,
    expiresAt: payload.readDoubleBE(2),
  };
}

function isWrappedBytes(payload: Payload): payload is Buffer {
  return Buffer.isBuffer(payload) && payload.length >= HEADER && payload[0] === STALE_MARK;
}

/** Whether a payload is wrapped (cheap: one byte or one `instanceof`). */
export function isWrapped(payload: Payload, references: boolean): boolean {
  return references ? (payload as unknown) instanceof StaleBox : isWrappedBytes(payload);
}
