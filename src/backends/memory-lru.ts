/**
 * The memory backend's index: exact LRU order over a Map of nodes.
 *
 * Why not lru-cache: a hit must cost one hash lookup to meet the memory backend's performance
 * target, so the Cache keeps a per-key hint holding the node it found last time. That needs stable
 * node objects that can tell when they were removed, which lru-cache does not expose. The recency
 * list follows lru-cache's design: each node owns a slot, and the links live in two `Uint32Array`s,
 * so moving an entry to the front writes small integers instead of object pointers.
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
  /** Its slot in the link arrays. */
  slot: number;
}

export interface LruLimits {
  /** Most entries kept. */
  readonly maxEntries: number;
  /** Most bytes kept, as measured by `sizeOf`; `undefined` = no limit. */
  readonly maxSize?: number;
  /** Bytes of an entry; only called when `maxSize` is set. */
  readonly sizeOf?: (key: string, value: unknown) => number;
}

/** "No slot", for the ends of the list. */
const NONE = 0xffffffff;

export class LruIndex {
  readonly #map = new Map<string, LruNode>();
  /** Node by slot. */
  readonly #nodes: Array<LruNode | undefined> = [];
  /** Towards the front (more recent) / the back (less recent), by slot. Grown on demand. */
  #prev = new Uint32Array(64);
  #next = new Uint32Array(64);
  /** Slots given back by removed nodes. */
  readonly #free: number[] = [];
  /** Slots never used yet start here. */
  #fresh = 0;
  /** Most recently used. */
  #head = NONE;
  /** Least recently used. */
  #tail = NONE;
  #bytes = 0;
  readonly #limits: LruLimits;

  constructor(limits: LruLimits) {
    this.#limits = limits;
  }

  /** A slot for a new node: a freed one, else the next fresh one (growing the links as needed). */
  #takeSlot(): number {
    if (this.#free.length > 0) return this.#free.pop()!;
    const slot = this.#fresh++;
    if (slot >= this.#prev.length) {
      const prev = new Uint32Array(this.#prev.length * 2);
      const next = new Uint32Array(this.#next.length * 2);
      prev.set(this.#prev);
      next.set(this.#next);
      this.#prev = prev;
      this.#next = next;
    }
    return slot;
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
    const slot = node.slot;
    if (slot === this.#head) return;
    this.#unlink(slot);
    this.#pushHead(slot);
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
      const slot = this.#takeSlot();
      node = { key, value, expiresAt, size, removed: false, slot };
      this.#map.set(key, node);
      this.#nodes[slot] = node;
      this.#bytes += size;
      this.#pushHead(slot);
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
    this.#unlink(node.slot);
    this.#nodes[node.slot] = undefined;
    this.#free.push(node.slot);
    this.#bytes -= node.size;
    node.removed = true;
  }

  clear(): void {
    for (const node of this.#map.values()) node.removed = true;
    this.#map.clear();
    this.#nodes.length = 0;
    this.#free.length = 0;
    this.#fresh = 0;
    this.#head = this.#tail = NONE;
    this.#bytes = 0;
  }

  /** Looks at up to `limit` nodes from the cold end and removes those expired at `now`. */
  sweepExpired(now: number, limit: number): void {
    let slot = this.#tail;
    for (let i = 0; slot !== NONE && i < limit; i++) {
      const node = this.#nodes[slot]!;
      slot = this.#prev[slot]!;
      if (node.expiresAt <= now) this.remove(node);
    }
  }

  nodes(): IterableIterator<LruNode> {
    return this.#map.values();
  }

  #evict(keep: LruNode): void {
    const { maxEntries, maxSize } = this.#limits;
    while (this.#map.size > maxEntries || (maxSize !== undefined && this.#bytes > maxSize)) {
      const victim = this.#tail === NONE ? undefined : this.#nodes[this.#tail];
      if (!victim || victim === keep) break;
      this.remove(victim);
    }
  }

  #pushHead(slot: number): void {
    this.#prev[slot] = NONE;
    this.#next[slot] = this.#head;
    if (this.#head !== NONE) this.#prev[this.#head] = slot;
    else this.#tail = slot;
    this.#head = slot;
  }

  #unlink(slot: number): void {
    const prev = this.#prev[slot]!;
    const next = this.#next[slot]!;
    if (prev !== NONE) this.#next[prev] = next;
    else this.#head = next;
    if (next !== NONE) this.#prev[next] = prev;
    else this.#tail = prev;
  }
}
