/**
 * Tags as a store wrapper, so every backend gets them the same way (memory and dummy included)
 * and a tiered cache copies into L1 only entries whose tags were checked.
 *
 * - Reads (`get`, `getMany`, `expiry`, `keys`): a tagged entry is checked against its tag records
 *   with one `getMany` for all of its tags (one per batch in `getMany` and `keys`) and handed on
 *   without its tag envelope; an entry whose record is missing, holds another token, or cannot be
 *   read is absent. Untagged entries pass straight through: strings cannot be envelopes, so the
 *   common case costs one `typeof`. On a memory store, `get` is the store's own until a tagged
 *   entry is written to it (`tag-writes.ts`: a flag shared by every cache on the location).
 * - Writes: a payload that is a tag *request* (the Cache's envelope with empty tokens) gets the
 *   current tokens first (one `getMany`; a missing record is created with `add` and a fresh random
 *   token), then is stored.
 * - `deleteTags` deletes the records: every entry stamped with their tokens is then invalid for
 *   good, since tokens are never reused.
 */
import type {
  Continuation,
  KeyHint,
  KeyMatch,
  MaybePromise,
  Payload,
  Store,
  StoreCapabilities,
} from '../store.js';
import { InvalidValueError, KeyNotFoundError } from '../errors.js';
import { all, andThen as then, continueWith, isPromise } from '../maybe-promise.js';
import { CheckedReply } from './checked-reply.js';
import { isTagged, newToken, unwrapTags, wrapTags, type TagStamp } from './format.js';
import { tagWritesOf, type TagWrites } from './tag-writes.js';

function text(payload: Payload | undefined): string | undefined {
  return payload === undefined ? undefined : String(payload);
}

/** How many keys `keys()` checks per `getMany`. */
const KEYS_BATCH = 100;

/** A store with tags. `deleteTags` is what `deleteByTag` calls. */
export interface TagAwareStore extends Store {
  deleteTags(tagKeys: readonly string[]): MaybePromise<void>;
}

export class TagCheckingStore implements TagAwareStore {
  readonly capabilities: StoreCapabilities;
  // The inner store's optional methods, present exactly when the inner store has them.
  readonly move?: Store['move'];
  readonly deleteIfValue?: Store['deleteIfValue'];
  readonly touchIfValue?: Store['touchIfValue'];
  readonly has?: Store['has'];
  readonly getThen?: Store['getThen'];
  readonly setThen?: Store['setThen'];
  readonly #inner: Store;
  readonly #references: boolean;
  readonly #sync: boolean;
  readonly #writes: TagWrites;
  readonly #checkOne = (payload: Payload | undefined) => this.#check(payload);

  /**
   * @param processLocal only this process writes to the store (memory): until a tagged entry is
   *   written through any wrapper of it, `get` is the inner store's
   * @param now the stores' clock (`BackendContext.now`), for the expiry of a tagged `setThen`
   */
  constructor(inner: Store, processLocal = false, now: () => number = Date.now) {
    this.#inner = inner;
    this.#writes = tagWritesOf(inner, processLocal);
    this.capabilities = inner.capabilities;
    this.#references = inner.capabilities.references === true;
    this.#sync = inner.capabilities.sync;
    if (inner.move) this.move = (from, to) => inner.move!(from, to);
    if (inner.deleteIfValue) this.deleteIfValue = (key, value) => inner.deleteIfValue!(key, value);
    if (inner.touchIfValue) {
      this.touchIfValue = (key, value, expiresAt) => inner.touchIfValue!(key, value, expiresAt);
    }
    if (inner.getThen) {
      this.getThen = (key, hint, next) => inner.getThen!(key, hint, this.#checked(next));
    }
    if (inner.setThen) {
      this.setThen = (key, value, ttlMs, next) =>
        this.#isRequest(value)
          ? continueWith(() => this.set(key, value, ttlMs === null ? null : now() + ttlMs), next)
          : inner.setThen!(key, value, ttlMs, next);
    }
    if (inner.has) {
      const has = inner.has.bind(inner);
      this.has = (key) =>
        then(has(key), (present) =>
          present ? then(this.get(key), (p) => p !== undefined) : false,
        );
    }
  }

  get client(): unknown {
    return this.#inner.client;
  }

  /** The wrapped store. */
  get inner(): Store {
    return this.#inner;
  }

  // ---- reads ---------------------------------------------------------------------------------

  get(key: string, hint?: KeyHint): MaybePromise<Payload | undefined> {
    if (!this.#writes.tagged) return this.#inner.get(key, hint);
    const payload = this.#inner.get(key, hint);
    if (payload === undefined || typeof payload === 'string') return payload;
    // A sync store never returns a promise: only a tag envelope needs more than this check.
    if (this.#sync) return isTagged(payload as Payload) ? this.#check(payload as Payload) : payload;
    if (isPromise(payload)) return payload.then(this.#checkOne);
    return this.#check(payload);
  }

  /** `next`, checking tags first once tagged entries may exist (for `getThen`). */
  #checked<R>(next: Continuation<R>): Continuation<R> {
    return this.#writes.tagged ? new CheckedReply(this.#checkOne, next) : next;
  }

  /** The payload without its envelope if its tags are valid; `undefined` if not. */
  #check(payload: Payload | undefined): MaybePromise<Payload | undefined> {
    if (payload === undefined || typeof payload === 'string' || !isTagged(payload)) return payload;
    const parts = unwrapTags(payload);
    if (!parts) return undefined;
    return then(this.#readTokens(parts.stamps.map(([tagKey]) => tagKey)), (tokens) =>
      tokens !== undefined && parts.stamps.every(([tagKey, token]) => tokens.get(tagKey) === token)
        ? parts.payload
        : undefined,
    );
  }

  /** Current tokens by tag key (absent = no record); `undefined` if they cannot be read. */
  #readTokens(tagKeys: readonly string[]): MaybePromise<Map<string, string> | undefined> {
    const unique = [...new Set(tagKeys)];
    let values: MaybePromise<Array<Payload | undefined>>;
    try {
      values = this.#inner.getMany(unique);
    } catch {
      // An unreadable tag state makes the entry a miss, never a hit.
      return undefined;
    }
    const toMap = (found: Array<Payload | undefined>) => {
      const tokens = new Map<string, string>();
      found.forEach((token, i) => {
        if (token !== undefined) tokens.set(unique[i]!, String(token));
      });
      return tokens;
    };
    return isPromise(values) ? values.then(toMap, () => undefined) : toMap(values);
  }

  getMany(keys: readonly string[]): MaybePromise<Array<Payload | undefined>> {
    return then(this.#inner.getMany(keys), (payloads) => this.#checkMany(payloads));
  }

  #checkMany(payloads: Array<Payload | undefined>): MaybePromise<Array<Payload | undefined>> {
    const tagged: Array<{ index: number; payload: Payload; stamps: readonly TagStamp[] }> = [];
    payloads.forEach((payload, index) => {
      if (payload === undefined || typeof payload === 'string' || !isTagged(payload)) return;
      const parts = unwrapTags(payload);
      if (parts) tagged.push({ index, ...parts });
      else payloads[index] = undefined;
    });
    if (tagged.length === 0) return payloads;
    return then(
      this.#readTokens(tagged.flatMap(({ stamps }) => stamps.map(([tagKey]) => tagKey))),
      (tokens) => {
        for (const { index, payload, stamps } of tagged) {
          const valid =
            tokens !== undefined && stamps.every(([tagKey, token]) => tokens.get(tagKey) === token);
          payloads[index] = valid ? payload : undefined;
        }
        return payloads;
      },
    );
  }

  expiry(key: string): MaybePromise<number | null | undefined> {
    // Both at once (one round trip on a pipelining client): the entry, to check its tags.
    return then(all<unknown>([this.get(key), this.#inner.expiry(key)]), ([payload, expiresAt]) =>
      payload === undefined ? undefined : (expiresAt as number | null | undefined),
    );
  }

  /** The stored entry's expiry without checking its tags (for a caller that just checked them). */
  entryExpiry(key: string): MaybePromise<number | null | undefined> {
    return this.#inner.expiry(key);
  }

  keys(match: KeyMatch): AsyncIterable<string> | Iterable<string> {
    const listed = this.#inner.keys(match);
    if (this.capabilities.sync && Symbol.iterator in listed) return this.#keysSync(listed);
    return this.#keysAsync(listed);
  }

  *#keysSync(listed: Iterable<string>): Iterable<string> {
    let batch: string[] = [];
    const flush = function* (this: TagCheckingStore): Iterable<string> {
      const payloads = this.getMany(batch) as Array<Payload | undefined>;
      const keys = batch;
      batch = [];
      for (let i = 0; i < keys.length; i++) if (payloads[i] !== undefined) yield keys[i]!;
    }.bind(this);
    for (const key of listed) {
      batch.push(key);
      if (batch.length >= KEYS_BATCH) yield* flush();
    }
    yield* flush();
  }

  async *#keysAsync(listed: AsyncIterable<string> | Iterable<string>): AsyncIterable<string> {
    let batch: string[] = [];
    const flush = async (): Promise<string[]> => {
      const keys = batch;
      batch = [];
      if (keys.length === 0) return [];
      const payloads = await this.getMany(keys);
      return keys.filter((_, i) => payloads[i] !== undefined);
    };
    for await (const key of listed) {
      batch.push(key);
      if (batch.length >= KEYS_BATCH) yield* await flush();
    }
    yield* await flush();
  }

  // ---- writes --------------------------------------------------------------------------------

  /** Whether a payload is a tag request (an envelope with tokens still to fill in). */
  #isRequest(payload: Payload): boolean {
    if (typeof payload === 'string' || !isTagged(payload)) return false;
    // Every write passes here: from now on, reads of this store check for envelopes.
    this.#writes.tagged = true;
    const parts = unwrapTags(payload);
    return parts !== undefined && parts.stamps.some(([, token]) => token === '');
  }

  /** Tag requests completed with the current tokens (one read for all); other payloads as they are. */
  #complete(payloads: readonly Payload[]): MaybePromise<Payload[]> {
    const requests = payloads.map((payload) =>
      this.#isRequest(payload) ? unwrapTags(payload) : undefined,
    );
    const tagKeys = [
      ...new Set(requests.flatMap((parts) => parts?.stamps.map(([tagKey]) => tagKey) ?? [])),
    ];
    if (tagKeys.length === 0) return payloads as Payload[];
    return then(this.#currentTokens(tagKeys), (tokens) => {
      const byKey = new Map(tagKeys.map((tagKey, i) => [tagKey, tokens[i]!]));
      return payloads.map((payload, i) => {
        const parts = requests[i];
        if (!parts) return payload;
        const stamps = parts.stamps.map(([tagKey]) => [tagKey, byKey.get(tagKey)!] as const);
        return wrapTags(parts.payload, stamps, this.#references);
      });
    });
  }

  /** The token of each tag, creating the records that do not exist. Throws if unreadable. */
  #currentTokens(tagKeys: readonly string[]): MaybePromise<string[]> {
    const inner = this.#inner;
    return then(inner.getMany(tagKeys), (found) => {
      const tokens = found.map(text);
      const missing = tokens.flatMap((token, i) => (token === undefined ? [i] : []));
      if (missing.length === 0) return tokens as string[];
      const fresh = missing.map(() => newToken());
      const added = all(missing.map((i, n) => inner.add(tagKeys[i]!, fresh[n]!, null)));
      return then(added, (results) => {
        const lost = missing.filter((_, n) => !results[n]);
        missing.forEach((i, n) => {
          if (results[n]) tokens[i] = fresh[n];
        });
        if (lost.length === 0) return tokens as string[];
        // Someone created these records at the same moment: theirs are the tokens.
        return then(inner.getMany(lost.map((i) => tagKeys[i]!)), (again) => {
          lost.forEach((i, n) => {
            // Deleted again in between: a token nobody holds makes the entry a miss, as it should.
            tokens[i] = text(again[n]) ?? newToken();
          });
          return tokens as string[];
        });
      });
    });
  }

  set(key: string, value: Payload, expiresAt: number | null): MaybePromise<void> {
    if (!this.#isRequest(value)) return this.#inner.set(key, value, expiresAt);
    return then(this.#complete([value]), ([payload]) => this.#inner.set(key, payload!, expiresAt));
  }

  add(key: string, value: Payload, expiresAt: number | null): MaybePromise<boolean> {
    const payload = this.#isRequest(value) ? this.#complete([value]) : [value];
    return then(payload, ([completed]) =>
      then(this.#inner.add(key, completed!, expiresAt), (added) =>
        added ? true : this.#addOverInvalid(key, completed!, expiresAt),
      ),
    );
  }

  /**
   * `add` found an entry: if it is a tagged entry whose tags were deleted, it is absent to every
   * reader, so it is replaced (compare-and-delete, then add again).
   */
  #addOverInvalid(key: string, payload: Payload, expiresAt: number | null): MaybePromise<boolean> {
    const inner = this.#inner;
    return then(inner.get(key), (held) => {
      if (held === undefined || typeof held === 'string' || !isTagged(held)) return false;
      return then(this.#check(held), (valid) => {
        if (valid !== undefined) return false;
        const removed = inner.deleteIfValue ? inner.deleteIfValue(key, held) : inner.delete(key);
        return then(removed, (gone) => (gone ? inner.add(key, payload, expiresAt) : false));
      });
    });
  }

  setMany(
    entries: ReadonlyArray<readonly [string, Payload]>,
    expiresAt: number | null,
  ): MaybePromise<string[]> {
    if (!entries.some(([, payload]) => this.#isRequest(payload))) {
      return this.#inner.setMany(entries, expiresAt);
    }
    return then(this.#complete(entries.map(([, payload]) => payload)), (payloads) =>
      this.#inner.setMany(
        entries.map(([key], i) => [key, payloads[i]!] as const),
        expiresAt,
      ),
    );
  }

  delete(key: string): MaybePromise<boolean> {
    return this.#inner.delete(key);
  }

  deleteMany(keys: readonly string[]): MaybePromise<number> {
    return this.#inner.deleteMany(keys);
  }

  /**
   * `false` for an entry whose tags were deleted (it is absent to every reader). Costs a read
   * first; a valid tagged entry is touched only if it is still the one read (`touchIfValue`).
   */
  touch(key: string, expiresAt: number | null): MaybePromise<boolean> {
    const inner = this.#inner;
    return then(inner.get(key), (held) => {
      if (held === undefined) return false;
      if (typeof held === 'string' || !isTagged(held)) return inner.touch(key, expiresAt);
      return then(this.#check(held), (valid) => {
        if (valid === undefined) return false;
        if (inner.touchIfValue) return inner.touchIfValue(key, held, expiresAt);
        return inner.touch(key, expiresAt);
      });
    });
  }

  /**
   * Native and atomic on the untagged value. A tagged entry is never changed (its integer is
   * inside the tag envelope, out of reach of `INCRBY` or SQL arithmetic): `KeyNotFoundError` if
   * its tags were deleted (it is absent), else `InvalidValueError` saying a counter takes no tags.
   */
  incr(key: string, delta: number): MaybePromise<number> {
    let result: MaybePromise<number>;
    try {
      result = this.#inner.incr(key, delta);
    } catch (error) {
      return this.#incrRefused(key, error);
    }
    return isPromise(result) ? result.catch((error) => this.#incrRefused(key, error)) : result;
  }

  #incrRefused(key: string, error: unknown): MaybePromise<never> {
    if (!(error instanceof InvalidValueError)) throw error;
    return then(this.#inner.get(key), (held) => {
      if (held === undefined || typeof held === 'string' || !isTagged(held)) throw error;
      return then(this.#check(held), (valid): never => {
        if (valid === undefined) throw new KeyNotFoundError(`key "${key}" not found`);
        throw new InvalidValueError(
          `incr cannot change "${key}": it was stored with tags, and a counter takes no tags`,
        );
      });
    });
  }

  deleteMatching(match: KeyMatch): MaybePromise<number> {
    return this.#inner.deleteMatching(match);
  }

  deleteTags(tagKeys: readonly string[]): MaybePromise<void> {
    return then(this.#inner.deleteMany(tagKeys), () => undefined);
  }

  clear(): MaybePromise<void> {
    return this.#inner.clear();
  }

  close(): MaybePromise<void> {
    return this.#inner.close();
  }
}
