/**
 * The envelope between values and payloads, shared by every serializer:
 * - safe integers are stored as decimal text, so stores can add to them natively (`INCRBY`, SQL);
 * - a top-level Buffer/Uint8Array is stored as a NUL byte followed by its bytes, and comes back as
 *   a Buffer under every serializer;
 * - everything else goes through the serializer.
 */
import { SerializationError } from '../core/errors.js';
import type { Payload } from '../core/store.js';
import type { Serializer } from './serializer.js';

/** Converts values to payloads and back for one cache. */
export interface Codec {
  /** @throws SerializationError if the serializer cannot write the value */
  encode(value: unknown): Payload;
  /** @throws whatever the serializer throws on bytes it cannot read */
  decode(payload: Payload): unknown;
}

const BINARY_MARK = 0x00;
const INTEGER_TEXT = /^-?\d+$/;

function isIntegerByte(byte: number | undefined): boolean {
  return byte === 0x2d || (byte !== undefined && byte >= 0x30 && byte <= 0x39);
}

/** The codec for a serializer; `references` makes it the identity (memory `serialize: false`). */
export function createCodec(serializer: Serializer, references = false): Codec {
  if (references) return { encode: (value) => value as Payload, decode: (payload) => payload };
  // JSON reads decimal integer text as the same integer, so its string payloads skip the test.
  const textIsJson = serializer.name === 'json';
  return {
    encode(value) {
      if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value);
      if (value instanceof Uint8Array) {
        const out = Buffer.allocUnsafe(value.byteLength + 1);
        out[0] = BINARY_MARK;
        out.set(value, 1);
        return out;
      }
      let out: unknown;
      try {
        out = serializer.serialize(value);
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        throw new SerializationError(
          `the ${serializer.name} serializer cannot write this value: ${reason}`,
          {
            cause: error,
          },
        );
      }
      if (typeof out === 'string' || Buffer.isBuffer(out)) return out;
      if (out instanceof Uint8Array) return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
      throw new SerializationError(
        `the ${serializer.name} serializer returned neither a string nor a Buffer`,
      );
    },
    decode(payload) {
      if (typeof payload === 'string') {
        if (textIsJson) return JSON.parse(payload);
        return INTEGER_TEXT.test(payload) ? Number(payload) : serializer.deserialize(payload);
      }
      const first = payload[0];
      // A copy, so that a caller mutating the Buffer it got cannot change what the store holds.
      if (first === BINARY_MARK) return Buffer.from(payload.subarray(1));
      if (isIntegerByte(first)) {
        const text = payload.toString('latin1');
        if (INTEGER_TEXT.test(text)) return Number(text);
      }
      return serializer.deserialize(payload);
    },
  };
}

/** Whether a payload is decimal integer text (what `incr` works on). */
export function parseIntegerPayload(payload: unknown): number | undefined {
  if (typeof payload === 'number') return Number.isSafeInteger(payload) ? payload : undefined;
  const text =
    typeof payload === 'string'
      ? payload
      : Buffer.isBuffer(payload)
        ? payload.toString('latin1')
        : undefined;
  if (text === undefined || !INTEGER_TEXT.test(text)) return undefined;
  const value = Number(text);
  return Number.isSafeInteger(value) ? value : undefined;
}

/** Whether two payloads hold the same bytes (a string and a Buffer compare by UTF-8). */
export function samePayload(stored: unknown, given: unknown): boolean {
  if (stored === given) return true;
  if (Buffer.isBuffer(stored) && Buffer.isBuffer(given)) return stored.equals(given);
  if (typeof stored === 'string' && Buffer.isBuffer(given))
    return given.equals(Buffer.from(stored));
  if (Buffer.isBuffer(stored) && typeof given === 'string')
    return stored.equals(Buffer.from(given));
  return false;
}
