/**
 * The memory backend: an LRU map in this process (lru-cache), bounded by entry count and,
 * optionally, by bytes. Expiry is checked when an entry is read and swept a little on each write:
 * no timer per key. Caches with the same `location` share one store in the process.
 */
import { LRUCache } from 'lru-cache';
import { InvalidValueError, KeyNotFoundError } from '../core/errors.js';
import { makeKeyMatcher } from '../core/glob.js';
import type { BackendContext, KeyMatch, Payload, Store, StoreCapabilities } from '../core/store.js';
import { parseIntegerPayload } from '../serializers/codec.js';
import type { BackendDefinition } from './definition.js';

/** An entry: value and absolute expiry in ms (`Infinity` = never). */
interface Entry {
  value: unknown;
  expiresAt: number;
}

interface SharedMemory {
  readonly lru: LRUCache<string, Entry>;
  readonly references: boolean;
}

/** How many least-recently-used entries each write inspects for expiry. */
const SWEEP_PER_WRITE = 2;

/** Stores by location, for the process. Entries outlive the caches that made them, as in Django's LocMemCache. */
const sharedStores = new Map<string, SharedMemory>();

function payloadBytes(entry: Entry, key: string): number {
  const { value } = entry;
  const valueBytes =
    typeof value === 'string'
      ? Buffer.byteLength(value)
      : Buffer.isBuffer(value)
        ? value.length
        : 0;
  return Math.max(1, valueBytes + Buffer.byteLength(key));
}

function openShared(context: BackendContext): SharedMemory {
  const references = context.options.serialize === false;
  const existing = sharedStores.get(context.location);
  if (existing) {
    if (existing.references !== references) {
      throw new InvalidValueError(
        `cache "${context.alias}": memory location "${context.location}" is already open with serialize: ${!existing.references}`,
      );
    }
    return existing;
  }
  const maxSize = context.options.maxSize as number | undefined;
  const lru = new LRUCache<string, Entry>({
    max: (context.options.maxEntries as number | undefined) ?? 10_000,
    ...(maxSize === undefined ? {} : { maxSize, sizeCalculation: payloadBytes }),
  });
  const shared = { lru, references };
  sharedStores.set(context.location, shared);
  return shared;
}

class MemoryStore implements Store {
  readonly capabilities: StoreCapabilities;
  readonly #lru: LRUCache<string, Entry>;
  readonly #now: () => number;

  constructor(shared: SharedMemory, now: () => number) {
    this.#lru = shared.lru;
    this.#now = now;
    this.capabilities = { sync: true, references: shared.references };
  }

  get client(): LRUCache<string, Entry> {
    return this.#lru;
  }

  /** The live entry, removing it if expired. `get` bumps recency; `peek` does not. */
  #live(key: string, bump: boolean): Entry | undefined {
    const entry = bump ? this.#lru.get(key) : this.#lru.peek(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt !== Infinity && entry.expiresAt <= this.#now()) {
      this.#lru.delete(key);
      return undefined;
    }
    return entry;
  }

  /** Removes a few expired entries from the cold end, so dead entries do not crowd out live ones. */
  #sweep(): void {
    let inspected = 0;
    const now = this.#now();
    for (const key of this.#lru.rkeys()) {
      const entry = this.#lru.peek(key);
      if (entry && entry.expiresAt <= now) this.#lru.delete(key);
      if (++inspected >= SWEEP_PER_WRITE) break;
    }
  }

  get(key: string): Payload | undefined {
    // The hot path, inlined: one Map lookup inside lru-cache, and the clock only for expiring entries.
    const entry = this.#lru.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt !== Infinity && entry.expiresAt <= this.#now()) {
      this.#lru.delete(key);
      return undefined;
    }
    return entry.value as Payload;
  }

  getMany(keys: readonly string[]): Array<Payload | undefined> {
    return keys.map((key) => this.get(key));
  }

  set(key: string, value: Payload, expiresAt: number | null): void {
    this.#sweep();
    this.#lru.set(key, { value, expiresAt: expiresAt ?? Infinity });
  }

  setMany(entries: ReadonlyArray<readonly [string, Payload]>, expiresAt: number | null): string[] {
    const failed: string[] = [];
    for (const [key, value] of entries) {
      this.set(key, value, expiresAt);
      // lru-cache refuses (silently) an entry larger than maxSize on its own.
      if (!this.#lru.has(key)) failed.push(key);
    }
    return failed;
  }

  add(key: string, value: Payload, expiresAt: number | null): boolean {
    if (this.#live(key, false)) return false;
    this.set(key, value, expiresAt);
    return this.#lru.has(key);
  }

  delete(key: string): boolean {
    const live = this.#live(key, false) !== undefined;
    this.#lru.delete(key);
    return live;
  }

  deleteMany(keys: readonly string[]): number {
    let removed = 0;
    for (const key of keys) if (this.delete(key)) removed++;
    return removed;
  }

  has(key: string): boolean {
    return this.#live(key, false) !== undefined;
  }

  touch(key: string, expiresAt: number | null): boolean {
    const entry = this.#live(key, true);
    if (!entry) return false;
    entry.expiresAt = expiresAt ?? Infinity;
    return true;
  }

  incr(key: string, delta: number): number {
    const entry = this.#live(key, true);
    if (!entry) throw new KeyNotFoundError(`key "${key}" not found`);
    // Reference stores hold the caller's values: only a number is an integer there, not '41'.
    const current =
      typeof entry.value === 'number' || this.capabilities.references !== true
        ? parseIntegerPayload(entry.value)
        : undefined;
    if (current === undefined)
      throw new InvalidValueError(`the value under "${key}" is not an integer`);
    const next = current + delta;
    if (!Number.isSafeInteger(next))
      throw new InvalidValueError(`incr of "${key}" would leave the safe integer range`);
    // In place: the entry keeps its expiry, and JavaScript runs this without interleaving.
    entry.value = typeof entry.value === 'number' ? next : String(next);
    return next;
  }

  expiry(key: string): number | null | undefined {
    const entry = this.#live(key, false);
    if (!entry) return undefined;
    return entry.expiresAt === Infinity ? null : entry.expiresAt;
  }

  *keys(match: KeyMatch): Iterable<string> {
    const matches = makeKeyMatcher(match.prefix, match.pattern);
    const now = this.#now();
    // Collected first: the caller may delete while iterating.
    const found: string[] = [];
    for (const [key, entry] of this.#lru.entries()) {
      if (entry.expiresAt > now && matches(key)) found.push(key);
    }
    yield* found;
  }

  deleteMatching(match: KeyMatch): number {
    const matches = makeKeyMatcher(match.prefix, match.pattern);
    const now = this.#now();
    let removed = 0;
    for (const [key, entry] of [...this.#lru.entries()]) {
      if (!matches(key)) continue;
      if (entry.expiresAt > now) removed++;
      this.#lru.delete(key);
    }
    return removed;
  }

  clear(): void {
    this.#lru.clear();
  }

  close(): void {
    // The entries belong to the location, not to this cache: other caches may still use them.
  }
}

/** The `memory` backend definition. */
export const memoryBackend: BackendDefinition = {
  name: 'memory',
  sync: true,
  options: {
    maxEntries: { kind: 'integer', min: 1 },
    maxSize: { kind: 'integer', min: 1 },
    serialize: { kind: 'boolean' },
    // Accepted so the original settings (OPTIONS.CULL_FREQUENCY) load unchanged; the LRU evicts
    // one entry at a time instead.
    cullFrequency: { kind: 'integer', min: 0 },
  },
  validate(options) {
    if (options.serialize === false && options.maxSize !== undefined) {
      return 'options.maxSize: cannot be measured with serialize: false (values are kept as references); use maxEntries';
    }
    return undefined;
  },
  factory: (context) => new MemoryStore(openShared(context), context.now),
};
