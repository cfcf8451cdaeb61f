/**
 * The serializer contract. Built-ins: `json` (default), `v8`, `msgpack`.
 */

/**
 * Turns values into text or bytes and back. `serialize` throws on values it cannot write
 * (skycache turns that into a `SerializationError`); `deserialize` throws on bytes it cannot read
 * (skycache treats the entry as a miss and reports the error).
 *
 * skycache stores safe integers as decimal text and top-level Buffers itself, so a serializer never
 * sees them, and its output must not be pure decimal text or start with a NUL byte.
 */
export interface Serializer {
  readonly name: string;
  serialize(value: unknown): Buffer | string;
  /** Receives what `serialize` produced, or a Buffer holding the UTF-8 bytes of that string. */
  deserialize(payload: Buffer | string): unknown;
}
