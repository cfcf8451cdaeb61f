/**
 * Two tiers as one store: a private in-process store (L1) in front of a shared one (L2), kept
 * coherent across processes by an invalidation bus. Being a {@link Store}, it runs the whole Cache
 * API unchanged (versions, stale windows, locks, `getOrSet`).
 *
 * Reads: L1, then L2; an L2 hit is copied into L1 until the earlier of its L2 expiry and
 * `l1TimeoutMs` from now. Writes (every storing, deleting, `incr`, move and lock call): L2 first;
 * once L2 answered, this process drops its L1 copies and publishes an invalidation, which every
 * other process applies to its own L1. L1 copies are dropped rather than replaced: with several
 * connections to L2 (a PostgreSQL pool), acknowledgements can arrive out of the order the writes
 * were applied in, and a replaced copy could then be the older value.
 *
 * Invariants:
 * - A read from L2 fills L1 only if no invalidation covering its key arrived while it was in
 *   flight (it is marked dirty instead), so a late answer can never bring back an old value.
 * - With a bus, L1 is used only while the bus is connected: when it drops, or when a publisher's
 *   sequence numbers skip, the whole L1 is dropped first and nothing is served from or copied into
 *   L1 until the subscription is back. Without a bus, an L1 copy can be stale for up to
 *   `l1TimeoutMs` after another process wrote.
 * - `keys`, `expiry` (ttl) and the lock primitives answer from L2; `has` may answer from L1.
 */
import type { InvalidationBus } from '../bus/bus.js';
import { isPromise } from '../core/maybe-promise.js';
import type { Invalidation } from '../bus/message.js';
import { asText, FirstTier, type FirstTierOptions, type PendingRead } from './first-tier.js';
import type {
  KeyHint,
  KeyMatch,
  MaybePromise,
  Payload,
  Store,
  StoreCapabilities,
} from '../core/store.js';

/** Which tier answered. */
export type Tier = 'l1' | 'l2';

/** Options of {@link TieredStore}: a first tier to share, or what to make one of. */
export type TieredStoreOptions = {
  /** The shared store. */
  readonly l2: Store;
  /** The clock of expiry times (ms since the epoch). */
  readonly now: () => number;
} & ({ readonly tier: FirstTier } | FirstTierOptions);

const always = (): boolean => true;
const isTrue = (result: boolean): boolean => result;

export class TieredStore implements Store {
  readonly capabilities: StoreCapabilities;
  /**
   * The tier the latest `get` was answered from, set synchronously before `get` returns (so a
   * caller reads it right after the call, before awaiting). `'l2'` also covers a miss.
   */
  lastTier: Tier = 'l2';
  /** Like `lastTier`, for each key of the latest `getMany` (a new array each call). */
  lastTiers: readonly Tier[] = [];
  /** L1 hits and L2 reads since the store was made (for tests and diagnostics). */
  readonly counts = { l1Hits: 0, l2Reads: 0, fills: 0, skippedFills: 0 };
  readonly move?: (from: string, to: string) => MaybePromise<boolean>;
  readonly deleteIfValue?: (key: string, value: Payload) => MaybePromise<boolean>;
  readonly touchIfValue?: (
    key: string,
    value: Payload,
    expiresAt: number | null,
  ) => MaybePromise<boolean>;

  readonly #tier: FirstTier;
  readonly #l1: Store;
  readonly #l2: Store;
  readonly #l1TimeoutMs: number;
  readonly #bus: InvalidationBus | undefined;
  readonly #now: () => number;
  readonly #pending: Set<PendingRead>;
  #closed = false;

  constructor(options: TieredStoreOptions) {
    const tier = 'tier' in options ? options.tier : new FirstTier(options);
    this.#tier = tier.acquire();
    this.#l1 = tier.l1;
    this.#l2 = options.l2;
    this.#l1TimeoutMs = tier.timeoutMs;
    this.#bus = tier.bus;
    this.#now = options.now;
    this.#pending = tier.pending;
    const l2 = options.l2.capabilities;
    this.capabilities = {
      sync: l2.sync,
      references: false,
      // The L2 it was given is guarded (guard-l2.ts): the cache must not guard the tiers again.
      guarded: true,
      // L1 is a memory store: it keeps its handles in the hints.
      hints: true,
      ...(l2.boundsOperations === undefined ? {} : { boundsOperations: l2.boundsOperations }),
      ...(l2.shared === undefined ? {} : { shared: l2.shared }),
    };
    const store = options.l2;
    if (store.move) {
      this.move = (from, to) =>
        this.#write(() => store.move!(from, to), { kind: 'keys', keys: [from, to] }, always);
    }
    if (store.deleteIfValue) {
      this.deleteIfValue = (key, value) =>
        this.#write(() => store.deleteIfValue!(key, value), { kind: 'keys', keys: [key] }, isTrue);
    }
    if (store.touchIfValue) {
      this.touchIfValue = (key, value, expiresAt) =>
        this.#write(
          () => store.touchIfValue!(key, value, expiresAt),
          { kind: 'keys', keys: [key] },
          isTrue,
        );
    }
  }

  /** L1 may be read and filled: there is no bus, or its subscription is live. */
  get #l1Open(): boolean {
    return this.#tier.open;
  }

  /** The shared store's client: caches on one L2 share in-process work (single-flight). */
  get client(): unknown {
    return this.#l2.client;
  }

  /** The first tier (tests look inside). */
  get l1(): Store {
    return this.#l1;
  }

  get bus(): InvalidationBus | undefined {
    return this.#bus;
  }

  /** Whether L1 is in use right now (no bus, or the bus is connected). */
  get l1Open(): boolean {
    return this.#l1Open;
  }

  // ---- reads ---------------------------------------------------------------------------------

  get(key: string, hint?: KeyHint): MaybePromise<Payload | undefined> {
    if (this.#l1Open) {
      const hit = this.#l1.get(key, hint) as Payload | undefined;
      if (hit !== undefined) {
        this.lastTier = 'l1';
        this.counts.l1Hits++;
        return hit;
      }
    }
    this.lastTier = 'l2';
    return this.#readThrough(key);
  }

  #readThrough(key: string): MaybePromise<Payload | undefined> {
    this.counts.l2Reads++;
    const l2 = this.#l2;
    const value = l2.get(key);
    if (!isPromise(value)) {
      // A synchronous L2 (disk): nothing can interleave, so no pending-read bookkeeping.
      if (value !== undefined && this.#l1Open) this.#fill(key, value, this.#expiryOf(key));
      return value;
    }
    if (!this.#l1Open) return value;
    const read: PendingRead = { key, dirty: false };
    this.#pending.add(read);
    // Asked together with the value (one round trip on a pipelining client); a failure only
    // means the value is not copied into L1.
    const expiry = Promise.resolve(this.#expiryOf(key)).catch(() => undefined);
    return value.then(
      async (payload) => {
        const expiresAt = await expiry;
        this.#pending.delete(read);
        if (payload !== undefined) {
          if (read.dirty || !this.#l1Open) this.counts.skippedFills++;
          else this.#fill(key, payload, expiresAt);
        }
        return payload;
      },
      (error: unknown) => {
        this.#pending.delete(read);
        throw error;
      },
    );
  }

  /**
   * The L2 entry's expiry for an L1 copy. A tag-checking L2 would check the tags again; the value
   * read beside it was checked already, so ask the entry's own expiry.
   */
  #expiryOf(key: string): MaybePromise<number | null | undefined> {
    const l2 = this.#l2 as Store & {
      entryExpiry?: (key: string) => MaybePromise<number | null | undefined>;
    };
    return l2.entryExpiry ? l2.entryExpiry(key) : l2.expiry(key);
  }

  /** Copies an L2 value into L1 until the earlier of its L2 expiry and the L1 timeout. */
  #fill(key: string, payload: Payload, expiresAt: MaybePromise<number | null | undefined>): void {
    if (expiresAt === undefined || isPromise(expiresAt)) return;
    const now = this.#now();
    const cap = now + this.#l1TimeoutMs;
    const until = expiresAt === null ? cap : Math.min(expiresAt, cap);
    if (until <= now) return;
    this.counts.fills++;
    this.#l1.set(key, asText(payload), until);
  }

  getMany(keys: readonly string[]): MaybePromise<Array<Payload | undefined>> {
    const result: Array<Payload | undefined> = new Array<Payload | undefined>(keys.length);
    const missing: number[] = [];
    const tiers = (this.lastTiers = new Array<Tier>(keys.length).fill('l2'));
    for (let i = 0; i < keys.length; i++) {
      const hit = this.#l1Open ? (this.#l1.get(keys[i]!) as Payload | undefined) : undefined;
      if (hit === undefined) missing.push(i);
      else {
        tiers[i] = 'l1';
        result[i] = hit;
        this.counts.l1Hits++;
      }
    }
    if (missing.length === 0) return result;
    const missingKeys = missing.map((i) => keys[i]!);
    const values = this.#l2.getMany(missingKeys);
    this.counts.l2Reads += missingKeys.length;
    if (!isPromise(values)) {
      missing.forEach((index, n) => {
        const payload = (result[index] = values[n]);
        if (payload !== undefined && this.#l1Open) {
          this.#fill(keys[index]!, payload, this.#expiryOf(keys[index]!));
        }
      });
      return result;
    }
    const reads = missingKeys.map((key) => ({ key, dirty: false }));
    if (this.#l1Open) for (const read of reads) this.#pending.add(read);
    const done = () => {
      for (const read of reads) this.#pending.delete(read);
    };
    return values.then(
      async (payloads) => {
        const hits = missing.flatMap((index, n) => (payloads[n] === undefined ? [] : [n]));
        const expiries = this.#l1Open
          ? await Promise.all(
              hits.map((n) =>
                Promise.resolve(this.#expiryOf(missingKeys[n]!)).catch(() => undefined),
              ),
            )
          : [];
        done();
        missing.forEach((index, n) => (result[index] = payloads[n]));
        hits.forEach((n, h) => {
          if (!this.#l1Open || reads[n]!.dirty) return;
          this.#fill(missingKeys[n]!, payloads[n]!, expiries[h]);
        });
        return result;
      },
      (error: unknown) => {
        done();
        throw error;
      },
    );
  }

  has(key: string): MaybePromise<boolean> {
    if (this.#l1Open && this.#l1.get(key) !== undefined) return true;
    const l2 = this.#l2;
    if (l2.has) return l2.has(key);
    const payload = l2.get(key);
    return isPromise(payload) ? payload.then((p) => p !== undefined) : payload !== undefined;
  }

  expiry(key: string): MaybePromise<number | null | undefined> {
    return this.#l2.expiry(key);
  }

  keys(match: KeyMatch): AsyncIterable<string> | Iterable<string> {
    return this.#l2.keys(match);
  }

  // ---- writes --------------------------------------------------------------------------------

  set(key: string, value: Payload, expiresAt: number | null): MaybePromise<void> {
    return this.#write(() => this.#l2.set(key, value, expiresAt), keysOf(key), always);
  }

  setMany(
    entries: ReadonlyArray<readonly [string, Payload]>,
    expiresAt: number | null,
  ): MaybePromise<string[]> {
    const keys = entries.map(([key]) => key);
    return this.#write(() => this.#l2.setMany(entries, expiresAt), { kind: 'keys', keys }, always);
  }

  add(key: string, value: Payload, expiresAt: number | null): MaybePromise<boolean> {
    return this.#write(() => this.#l2.add(key, value, expiresAt), keysOf(key), isTrue);
  }

  delete(key: string): MaybePromise<boolean> {
    // Even when L2 had nothing (evicted, expired), other L1s may still hold a copy.
    return this.#write(() => this.#l2.delete(key), keysOf(key), always);
  }

  deleteMany(keys: readonly string[]): MaybePromise<number> {
    return this.#write(() => this.#l2.deleteMany(keys), { kind: 'keys', keys }, always);
  }

  touch(key: string, expiresAt: number | null): MaybePromise<boolean> {
    return this.#write(() => this.#l2.touch(key, expiresAt), keysOf(key), always);
  }

  incr(key: string, delta: number): MaybePromise<number> {
    return this.#write(() => this.#l2.incr(key, delta), keysOf(key), always);
  }

  deleteMatching(match: KeyMatch): MaybePromise<number> {
    return this.#write(
      () => this.#l2.deleteMatching(match),
      { kind: 'match', prefix: match.prefix, pattern: match.pattern },
      always,
    );
  }

  clear(): MaybePromise<void> {
    return this.#write(() => this.#l2.clear(), { kind: 'clear' }, always);
  }

  /**
   * Deletes tag records (`deleteByTag`). L1 copies were checked against their tags when they were
   * copied, and L1 does not know which tags they carry, so every L1 drops everything it holds.
   */
  deleteTags(tagKeys: readonly string[]): MaybePromise<void> {
    const l2 = this.#l2 as Store & {
      deleteTags?: (tagKeys: readonly string[]) => MaybePromise<void>;
    };
    return this.#write(
      () => (l2.deleteTags ? l2.deleteTags(tagKeys) : l2.deleteMany(tagKeys)),
      { kind: 'tags', tags: tagKeys },
      always,
    ) as MaybePromise<void>;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#tier.release();
    await this.#l2.close();
  }

  /**
   * Runs an L2 write; once it resolved (and `applies` says it changed something), drops the
   * local copies and publishes the invalidation, waiting for the publish on an async store.
   * A failed write may still have been applied (a timeout), so it invalidates too.
   */
  #write<T>(
    run: () => MaybePromise<T>,
    invalidation: Invalidation,
    applies: (result: T) => boolean,
  ): MaybePromise<T> {
    let result: MaybePromise<T>;
    try {
      result = run();
    } catch (error) {
      void this.#invalidate(invalidation);
      throw error;
    }
    if (!isPromise(result)) {
      // A synchronous store keeps its `…Sync` API: the publish goes on in the background.
      if (applies(result)) void this.#invalidate(invalidation);
      return result;
    }
    return result.then(
      (value) => {
        if (!applies(value)) return value;
        const published = this.#invalidate(invalidation);
        return published ? published.then(() => value) : value;
      },
      (error: unknown) => {
        void this.#invalidate(invalidation);
        throw error;
      },
    );
  }

  #invalidate(invalidation: Invalidation): Promise<void> | undefined {
    this.#tier.invalidate(invalidation);
    return this.#bus?.publish(invalidation);
  }
}

function keysOf(key: string): Invalidation {
  return { kind: 'keys', keys: [key] };
}
