/**
 * The memory backend's index: a Map of nodes threaded on a doubly linked list in recency order.
 *
 * Why not lru-cache: a hit must cost one hash lookup to meet the memory backend's performance
 * target, so the Cache keeps a per-key hint holding the node it found last time. That needs stable
 * node objects that can tell when they were removed, which lru-cache does not expose. Everything
 * else here is the textbook structure: O(1) get, set, delete and eviction from the cold end.
 *
 * Reads bump lazily, as memcached does: a read moves an entry to the front only if it has drifted
 * past the middle of the list (counted in insertions at the front since it was last moved there).
 * Entries in the front half are never eviction candidates, so a recently read entry is still never
 * the one evicted; only the order within the front half is approximate. With a byte limit
 * (`maxSize`), whose eviction point is not a position, every read bumps.
 */

/** One entry. `removed` turns true when it leaves the index, so hints holding it know to look again. */
export interface LruNode {
  readonly key: string;
  value: unknown;
  /** Absolute expiry in ms; `Infinity` = never. */
  expiresAt: number;
  /** Bytes counted against `maxSize` (0 when no size limit is set). */
  size: number;
  removed: boolean;
  /** The index's insertion counter when the node was last put at the front. */
  stamp: number;
  prev: LruNode | undefined;
  next: LruNode | undefined;
}

export interface LruLimits {
  /** Most entries kept. */
  readonly maxEntries: number;
  /** Most bytes kept, as measured by `sizeOf`; `undefined` = no limit. */
  readonly maxSize?: number;
  /** Bytes of an entry; only called when `maxSize` is set. */
  readonly sizeOf?: (key: string, value: unknown) => number;
}

export class LruIndex {
  readonly #map = new Map<string, LruNode>();
  /** Most recently used. */
  #head: LruNode | undefined;
  /** Least recently used. */
  #tail: LruNode | undefined;
  #bytes = 0;
  /** Insertions at the front so far. */
  #stamp = 0;
  /** How far (in insertions) a node may drift before a read moves it back to the front. */
  readonly #lazyWindow: number;
  readonly #limits: LruLimits;

  constructor(limits: LruLimits) {
    this.#limits = limits;
    this.#lazyWindow = limits.maxSize === undefined ? Math.floor(limits.maxEntries / 2) : 0;
  }

  get size(): number {
    return this.#map.size;
  }

  /** Bytes held, as counted for `maxSize`. */
  get bytes(): number {
    return this.#bytes;
  }

  /** The node, without changing recency. */
  peek(key: string): LruNode | undefined {
    return this.#map.get(key);
  }

  /** Marks the node most recently used. */
  touch(node: LruNode): void {
    if (node === this.#head) return;
    this.#unlink(node);
    this.#pushHead(node);
  }

  /** Marks the node used by a read: moves it to the front only if it drifted past the window. */
  touchForRead(node: LruNode): void {
    if (this.#stamp - node.stamp > this.#lazyWindow) this.touch(node);
  }

  /**
   * Stores `value` under `key`, reusing the node if the key exists (hints stay valid), and evicts
   * from the cold end while over a limit.
   * @returns the node, or `undefined` if the entry alone exceeds `maxSize` (nothing is kept)
   */
  set(key: string, value: unknown, expiresAt: number): LruNode | undefined {
    const { maxSize, sizeOf } = this.#limits;
    const size = maxSize === undefined ? 0 : sizeOf!(key, value);
    if (maxSize !== undefined && size > maxSize) {
      this.delete(key);
      return undefined;
    }
    let node = this.#map.get(key);
    if (node) {
      this.#bytes += size - node.size;
      node.value = value;
      node.expiresAt = expiresAt;
      node.size = size;
      this.touch(node);
    } else {
      node = {
        key,
        value,
        expiresAt,
        size,
        removed: false,
        stamp: 0,
        prev: undefined,
        next: undefined,
      };
      this.#map.set(key, node);
      this.#bytes += size;
      this.#pushHead(node);
    }
    this.#evict(node);
    return node;
  }

  /** Removes `key`; returns the node that was there. */
  delete(key: string): LruNode | undefined {
    const node = this.#map.get(key);
    if (node) this.remove(node);
    return node;
  }

  remove(node: LruNode): void {
    if (node.removed) return;
    this.#map.delete(node.key);
    this.#unlink(node);
    this.#bytes -= node.size;
    node.removed = true;
  }

  clear(): void {
    for (const node of this.#map.values()) node.removed = true;
    this.#map.clear();
    this.#head = this.#tail = undefined;
    this.#bytes = 0;
  }

  /** Looks at up to `limit` nodes from the cold end and removes those expired at `now`. */
  sweepExpired(now: number, limit: number): void {
    let node = this.#tail;
    for (let i = 0; node !== undefined && i < limit; i++) {
      const previous = node.prev;
      if (node.expiresAt <= now) this.remove(node);
      node = previous;
    }
  }

  nodes(): IterableIterator<LruNode> {
    return this.#map.values();
  }

  #evict(keep: LruNode): void {
    const { maxEntries, maxSize } = this.#limits;
    while (this.#map.size > maxEntries || (maxSize !== undefined && this.#bytes > maxSize)) {
      const victim = this.#tail;
      if (!victim || victim === keep) break;
      this.remove(victim);
    }
  }

  #pushHead(node: LruNode): void {
    node.stamp = ++this.#stamp;
    node.prev = undefined;
    node.next = this.#head;
    if (this.#head) this.#head.prev = node;
    this.#head = node;
    this.#tail ??= node;
  }

  #unlink(node: LruNode): void {
    if (node.prev) node.prev.next = node.next;
    else this.#head = node.next;
    if (node.next) node.next.prev = node.prev;
    else this.#tail = node.prev;
    node.prev = node.next = undefined;
  }
}
