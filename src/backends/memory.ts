/**
 * The memory backend: an LRU index in this process, bounded by entry count and, optionally, by
 * bytes. Expiry is checked when an entry is read and swept a little on each write: no timer per key.
 * Caches with the same `location` share one store in the process.
 */
import { ConfigError, InvalidValueError, KeyNotFoundError } from '../core/errors.js';
import { makeKeyMatcher } from '../core/glob.js';
import type {
  BackendContext,
  KeyHint,
  KeyMatch,
  Payload,
  Store,
  StoreCapabilities,
} from '../core/store.js';
import { parseIntegerPayload, samePayload } from '../serializers/codec.js';
import type { BackendDefinition } from './definition.js';
import { LruIndex, type LruNode } from './memory-lru.js';

interface SharedMemory {
  readonly index: LruIndex;
  readonly references: boolean;
}

/** How many least-recently-used entries each write inspects for expiry. */
const SWEEP_PER_WRITE = 2;

/** Stores by location, for the process. Entries outlive the caches that made them, as in Django's LocMemCache. */
const sharedStores = new Map<string, SharedMemory>();

function entryBytes(key: string, value: unknown): number {
  const valueBytes =
    typeof value === 'string'
      ? Buffer.byteLength(value)
      : Buffer.isBuffer(value)
        ? value.length
        : 0;
  return valueBytes + Buffer.byteLength(key);
}

function openShared(context: BackendContext): SharedMemory {
  const references = context.options.serialize === false;
  const existing = sharedStores.get(context.location);
  if (existing) {
    if (existing.references !== references) {
      throw new ConfigError(
        `cache "${context.alias}": field "options.serialize": memory location "${context.location}" is already open with serialize: ${!existing.references}`,
      );
    }
    return existing;
  }
  const maxSize = context.options.maxSize as number | undefined;
  const index = new LruIndex({
    maxEntries: (context.options.maxEntries as number | undefined) ?? 10_000,
    ...(maxSize === undefined ? {} : { maxSize, sizeOf: entryBytes }),
  });
  const shared = { index, references };
  sharedStores.set(context.location, shared);
  return shared;
}

class MemoryStore implements Store {
  readonly capabilities: StoreCapabilities;
  readonly #index: LruIndex;
  readonly #now: () => number;

  constructor(shared: SharedMemory, now: () => number) {
    this.#index = shared.index;
    this.#now = now;
    this.capabilities = { sync: true, references: shared.references, hints: true };
  }

  /** The LRU index (for `caches.connection()`). */
  get client(): LruIndex {
    return this.#index;
  }

  /** The live node, removing it if expired; `bump` marks it recently used. */
  #live(key: string, bump: boolean): LruNode | undefined {
    const node = this.#index.peek(key);
    if (node === undefined) return undefined;
    if (node.expiresAt !== Infinity && node.expiresAt <= this.#now()) {
      this.#index.remove(node);
      return undefined;
    }
    if (bump) this.#index.touch(node);
    return node;
  }

  /** Removes a few expired entries from the cold end, so dead entries do not crowd out live ones. */
  #sweep(): void {
    this.#index.sweepExpired(this.#now(), SWEEP_PER_WRITE);
  }

  get(key: string, hint?: KeyHint): Payload | undefined {
    // The hot path: the node found last time (if still in the index) saves the Map lookup.
    let node = hint?.slot as LruNode | undefined;
    if (node === undefined || node.removed) {
      node = this.#index.peek(key);
      if (node === undefined) return undefined;
      if (hint) hint.slot = node;
    }
    if (node.expiresAt !== Infinity && node.expiresAt <= this.#now()) {
      this.#index.remove(node);
      return undefined;
    }
    this.#index.touch(node);
    return node.value as Payload;
  }

  getMany(keys: readonly string[]): Array<Payload | undefined> {
    return keys.map((key) => this.get(key));
  }

  set(key: string, value: Payload, expiresAt: number | null): void {
    this.#sweep();
    this.#index.set(key, value, expiresAt ?? Infinity);
  }

  setMany(entries: ReadonlyArray<readonly [string, Payload]>, expiresAt: number | null): string[] {
    const failed: string[] = [];
    this.#sweep();
    for (const [key, value] of entries) {
      // Only an entry larger than maxSize on its own is refused.
      if (!this.#index.set(key, value, expiresAt ?? Infinity)) failed.push(key);
    }
    return failed;
  }

  add(key: string, value: Payload, expiresAt: number | null): boolean {
    if (this.#live(key, false)) return false;
    this.#sweep();
    return this.#index.set(key, value, expiresAt ?? Infinity) !== undefined;
  }

  delete(key: string): boolean {
    const live = this.#live(key, false) !== undefined;
    this.#index.delete(key);
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
    const node = this.#live(key, true);
    if (!node) return false;
    node.expiresAt = expiresAt ?? Infinity;
    return true;
  }

  incr(key: string, delta: number): number {
    const node = this.#live(key, true);
    if (!node) throw new KeyNotFoundError(`key "${key}" not found`);
    // Reference stores hold the caller's values: only a number is an integer there, not '41'.
    const current =
      typeof node.value === 'number' || this.capabilities.references !== true
        ? parseIntegerPayload(node.value)
        : undefined;
    if (current === undefined) {
      throw new InvalidValueError(`the value under "${key}" is not an integer`);
    }
    const next = current + delta;
    if (!Number.isSafeInteger(next)) {
      throw new InvalidValueError(`incr of "${key}" would leave the safe integer range`);
    }
    // Through set, so a byte limit sees the new size; the node (and its expiry) is kept, and
    // JavaScript runs this without interleaving, so it is atomic.
    this.#index.set(key, typeof node.value === 'number' ? next : String(next), node.expiresAt);
    return next;
  }

  expiry(key: string): number | null | undefined {
    const node = this.#live(key, false);
    if (!node) return undefined;
    return node.expiresAt === Infinity ? null : node.expiresAt;
  }

  *keys(match: KeyMatch): Iterable<string> {
    const matches = makeKeyMatcher(match.prefix, match.pattern);
    const now = this.#now();
    // Collected first: the caller may delete while iterating.
    const found: string[] = [];
    for (const node of this.#index.nodes()) {
      if (node.expiresAt > now && matches(node.key)) found.push(node.key);
    }
    yield* found;
  }

  deleteMatching(match: KeyMatch): number {
    const matches = makeKeyMatcher(match.prefix, match.pattern);
    const now = this.#now();
    let removed = 0;
    for (const node of [...this.#index.nodes()]) {
      if (!matches(node.key)) continue;
      if (node.expiresAt > now) removed++;
      this.#index.remove(node);
    }
    return removed;
  }

  deleteIfValue(key: string, value: Payload): boolean {
    const node = this.#live(key, false);
    if (!node || !samePayload(node.value, value)) return false;
    this.#index.remove(node);
    return true;
  }

  touchIfValue(key: string, value: Payload, expiresAt: number | null): boolean {
    const node = this.#live(key, false);
    if (!node || !samePayload(node.value, value)) return false;
    node.expiresAt = expiresAt ?? Infinity;
    return true;
  }

  clear(): void {
    this.#index.clear();
  }

  close(): void {
    // The entries belong to the location, not to this cache: other caches may still use them.
  }
}

/**
 * A memory store of its own, not shared by location and serializing (payloads, not references):
 * the first tier of a tiered cache.
 * @param limits most entries, and optionally most bytes (keys + payloads)
 */
export function createPrivateMemoryStore(
  limits: { readonly maxEntries: number; readonly maxSize?: number | undefined },
  now: () => number,
): Store {
  const { maxEntries, maxSize } = limits;
  const index = new LruIndex({
    maxEntries,
    ...(maxSize === undefined ? {} : { maxSize, sizeOf: entryBytes }),
  });
  return new MemoryStore({ index, references: false }, now);
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
