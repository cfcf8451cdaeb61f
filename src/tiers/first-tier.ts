/**
 * The part of a tiered cache that one process shares between all its caches on one store: the L1
 * store, the bus and the reads in flight. Caches made separately on the same store (two aliases,
 * a cache per request handler) then see each other's writes at once, and a process keeps one bus
 * subscription per store. Each cache keeps its own L2 handle (its own guard and breaker).
 */
import type { BusListener, InvalidationBus, ResetReason } from '../bus/bus.js';
import type { Invalidation } from '../bus/message.js';
import { makeKeyMatcher } from '../core/glob.js';
import type { Payload, Store } from '../core/store.js';

/** An L2 read in flight; an invalidation covering its key marks it so its answer is not kept. */
export interface PendingRead {
  readonly key: string;
  dirty: boolean;
}

/** What a first tier is made of. */
export interface FirstTierOptions {
  /** A private, synchronous, serializing store (see `createPrivateMemoryStore`). */
  readonly l1: Store;
  /** Longest time an L2 value is kept in L1, in ms (> 0). */
  readonly l1TimeoutMs: number;
  /** Keeps the L1s of all processes coherent; without it staleness is bounded by `l1TimeoutMs`. */
  readonly bus?: InvalidationBus | undefined;
  /** Called when the last user released it. */
  readonly onClosed?: () => void;
}

export class FirstTier implements BusListener {
  readonly l1: Store;
  readonly timeoutMs: number;
  readonly bus: InvalidationBus | undefined;
  readonly pending = new Set<PendingRead>();
  /** L1 may be read and filled: there is no bus, or its subscription is live. */
  open: boolean;
  readonly #onClosed: (() => void) | undefined;
  #users = 0;

  constructor(options: FirstTierOptions) {
    this.l1 = options.l1;
    this.timeoutMs = options.l1TimeoutMs;
    this.bus = options.bus;
    this.open = options.bus === undefined;
    this.#onClosed = options.onClosed;
    options.bus?.listen(this);
  }

  acquire(): this {
    this.#users++;
    return this;
  }

  /** Gives back one user's share; the last one closes the bus and empties L1. */
  async release(): Promise<void> {
    if (--this.#users > 0) return;
    this.#onClosed?.();
    this.open = false;
    this.#dropAll();
    await this.bus?.close();
  }

  /** Drops what `invalidation` covers from L1, and keeps reads in flight from copying it back. */
  invalidate(invalidation: Invalidation): void {
    switch (invalidation.kind) {
      case 'keys': {
        const keys = invalidation.keys;
        for (const key of keys) this.l1.delete(key);
        if (this.pending.size === 0) return;
        const covered = keys.length === 1 ? (key: string) => key === keys[0] : setOf(keys);
        for (const read of this.pending) if (covered(read.key)) read.dirty = true;
        return;
      }
      case 'match': {
        this.l1.deleteMatching(invalidation);
        if (this.pending.size === 0) return;
        const matches = makeKeyMatcher(invalidation.prefix, invalidation.pattern);
        for (const read of this.pending) if (matches(read.key)) read.dirty = true;
        return;
      }
      default:
        // `tags`: L1 does not know which tags its copies carry; `clear` covers everything.
        this.#dropAll();
    }
  }

  reset(reason: ResetReason): void {
    if (reason === 'down') this.open = false;
    this.#dropAll();
    if (reason === 'up') this.open = true;
  }

  #dropAll(): void {
    this.l1.clear();
    for (const read of this.pending) read.dirty = true;
  }
}

function setOf(keys: readonly string[]): (key: string) => boolean {
  const set = new Set(keys);
  return (key) => set.has(key);
}

/**
 * Redis hands back text payloads as Buffers. L1 keeps them as strings, as a memory cache does, so
 * an L1 hit decodes as fast as a memory hit. Binary payloads (skycache's marks 0x00–0x02 first, or
 * bytes that are not UTF-8) stay Buffers, byte for byte.
 */
export function asText(payload: Payload): Payload {
  if (typeof payload === 'string' || payload.length === 0 || payload[0]! <= 0x02) return payload;
  const text = payload.toString('utf8');
  return Buffer.byteLength(text) === payload.length && !text.includes('\ufffd') ? text : payload;
}
