/**
 * The entry format: what a cache stores under a made key, and how it reads it back. Every read of
 * a payload goes through {@link EntryFormat}, so a new field of the entry has one place to go.
 *
 * An entry is either a bare payload (the serializer's output) or an envelope around one
 * (`stale.ts`): today the envelope carries the logical expiry of a value kept for a stale window.
 * Tags belong in the envelope too: add them to {@link Entry}, give the envelope a new mark byte
 * with a tag section in `stale.ts`, and every reader here sees them; bare payloads stay untouched,
 * so entries written before keep reading.
 */
import type { Codec } from '../../serializers/codec.js';
import { CacheError, InvalidValueError } from '../errors.js';
import type { CacheObserver } from '../events.js';
import type { CacheOperation } from '../guard/operations.js';
import type { Payload } from '../store.js';
import { isWrapped, StaleBox, staleBoxesMade, unwrapStale, wrapStale } from './stale.js';

/** What {@link EntryFormat.decode} returns for an absent, expired or undecodable entry. */
export const MISS: unique symbol = Symbol('miss');
export type Miss = typeof MISS;

/** A stored entry split into its parts. */
export interface Entry {
  /** The serializer's payload (a reference on reference stores). */
  readonly payload: Payload;
  /** The logical expiry (ms) of an entry kept past it for a stale window; `undefined` otherwise. */
  readonly expiresAt: number | undefined;
}

/** A decoded entry as `getOrSet` sees it: stale ones included. */
export interface DecodedEntry {
  readonly value: unknown;
  /** The logical expiry (ms) when the entry carries one. */
  readonly expiresAt: number | undefined;
}

export class EntryFormat {
  constructor(
    private readonly codec: Codec,
    /** The store keeps values as they are (memory `serialize: false`): nothing to decode. */
    readonly references: boolean,
    private readonly now: () => number,
    private readonly observer: CacheObserver,
  ) {}

  /** The payload for a value. @throws InvalidValueError for `undefined`; SerializationError */
  encode(value: unknown): Payload {
    if (value === undefined)
      throw new InvalidValueError('undefined cannot be stored; use null or delete the key');
    return this.codec.encode(value);
  }

  /** A payload kept past `expiresAt` (ms) for a stale window. */
  wrap(payload: Payload, expiresAt: number): Payload {
    return wrapStale(payload, expiresAt, this.references);
  }

  /** Whether the payload is an envelope (cheap: one byte or one `instanceof`). */
  isWrapped(payload: Payload): boolean {
    return isWrapped(payload, this.references);
  }

  /** The entry's parts. */
  unwrap(payload: Payload): Entry {
    return unwrapStale(payload, this.references);
  }

  /**
   * Whether a reference read on the hot path is the value itself: true unless a stale box may be
   * there. (Until this process made one, no reference store can hold one.)
   */
  isBareReference(payload: Payload): boolean {
    return !staleBoxesMade || !((payload as unknown) instanceof StaleBox);
  }

  /** Present, and not past the logical expiry of a stale-window entry. */
  isLive(payload: Payload | undefined): payload is Payload {
    if (payload === undefined) return false;
    return !this.isWrapped(payload) || this.unwrap(payload).expiresAt! > this.now();
  }

  /**
   * The live value of a payload read for `key`; {@link MISS} when absent, past its logical expiry
   * (only `getOrSet` sees stale entries) or undecodable (reported as an `error`).
   */
  decode(
    payload: Payload | undefined,
    key: string,
    madeKey: string,
    operation: CacheOperation,
  ): unknown {
    if (payload === undefined) return MISS;
    if (this.isWrapped(payload)) {
      const entry = this.unwrap(payload);
      if (entry.expiresAt! <= this.now()) return MISS;
      payload = entry.payload;
    }
    return this.#value(payload, key, madeKey, operation);
  }

  /** The value and logical expiry of a payload, stale or not; {@link MISS} if absent or undecodable. */
  decodeEntry(
    payload: Payload | undefined,
    key: string,
    madeKey: string,
    operation: CacheOperation,
  ): DecodedEntry | Miss {
    if (payload === undefined) return MISS;
    const entry = this.unwrap(payload);
    const value = this.#value(entry.payload, key, madeKey, operation);
    return value === MISS ? MISS : { value, expiresAt: entry.expiresAt };
  }

  #value(payload: Payload, key: string, madeKey: string, operation: CacheOperation): unknown {
    if (this.references) return payload;
    try {
      return this.codec.decode(payload);
    } catch (error) {
      const problem = new CacheError(`stored bytes under "${madeKey}" cannot be decoded`, {
        cause: error,
      });
      this.observer.error(problem, operation, key, madeKey);
      return MISS;
    }
  }
}
