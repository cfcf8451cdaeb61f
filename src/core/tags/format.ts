/**
 * The tag envelope: an entry stored with tags carries, for each tag, the made key of the tag's
 * record and the token that record held when the entry was written. The entry is valid only while
 * every one of those records still holds that token; `deleteByTag` deletes the records, and a
 * token is random and never reused, so an invalidated entry can never become valid again — not
 * when a record is evicted, expires, is cleared or re-created (README "Tags").
 *
 * Format: byte 0x02, a type byte (`s` the inner payload was a string, `b` a Buffer), the length of
 * the header as a uint32 (big-endian), the header (JSON `[[tagKey, token], …]`), then the inner
 * payload (itself possibly a stale-window envelope, 0x01). Text serializers never start with 0x02
 * and skycache's binary marker is 0x00. Reference stores (memory with `serialize: false`) keep a
 * {@link TagBox} instead.
 *
 * Before the tokens are known, the Cache hands the store a *request*: the same envelope with empty
 * tokens, which the tag-checking store completes (see `tag-store.ts`).
 */
import { randomBytes } from 'node:crypto';
import type { Payload } from '../store.js';

const TAG_MARK = 0x02;
const FIXED = 6;

/** One tag of an entry: its record's made key and the token it held. `''` = still to be read. */
export type TagStamp = readonly [tagKey: string, token: string];

/** The reference-store form of a tagged entry. */
export class TagBox {
  constructor(
    readonly payload: Payload,
    readonly stamps: readonly TagStamp[],
  ) {}
}

/** A fresh token for a tag record: 96 random bits, never reused. */
export function newToken(): string {
  return randomBytes(12).toString('base64url');
}

/** Wraps a payload with its tag stamps. */
export function wrapTags(
  payload: Payload,
  stamps: readonly TagStamp[],
  references: boolean,
): Payload {
  if (references) return new TagBox(payload, stamps) as unknown as Payload;
  const header = Buffer.from(JSON.stringify(stamps), 'utf8');
  const inner = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  const out = Buffer.allocUnsafe(FIXED + header.length + inner.length);
  out[0] = TAG_MARK;
  out[1] = typeof payload === 'string' ? 0x73 : 0x62;
  out.writeUInt32BE(header.length, 2);
  header.copy(out, FIXED);
  inner.copy(out, FIXED + header.length);
  return out;
}

/** Whether a payload carries tags (cheap: one byte or one `instanceof`). */
export function isTagged(payload: Payload): boolean {
  const first = (payload as Buffer | null)?.[0];
  // A Buffer (the common case) is told by its first byte, without an `instanceof`.
  if (typeof first === 'number') return first === TAG_MARK && payload.length >= FIXED;
  return (payload as unknown) instanceof TagBox;
}

/** A tagged payload's parts; `undefined` if the envelope is damaged. */
export function unwrapTags(
  payload: Payload,
): { readonly payload: Payload; readonly stamps: readonly TagStamp[] } | undefined {
  if ((payload as unknown) instanceof TagBox) {
    const box = payload as unknown as TagBox;
    return { payload: box.payload, stamps: box.stamps };
  }
  const bytes = payload as Buffer;
  const headerLength = bytes.readUInt32BE(2);
  if (FIXED + headerLength > bytes.length) return undefined;
  let stamps: unknown;
  try {
    stamps = JSON.parse(bytes.toString('utf8', FIXED, FIXED + headerLength));
  } catch {
    return undefined;
  }
  if (!Array.isArray(stamps)) return undefined;
  const inner = bytes.subarray(FIXED + headerLength);
  return {
    payload: bytes[1] === 0x73 ? inner.toString('utf8') : inner,
    stamps: stamps as TagStamp[],
  };
}
