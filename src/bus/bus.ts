/**
 * The invalidation bus: tells every process which L1 entries to drop after a write, and tells this
 * process when it may have missed such news.
 *
 * Publishing: invalidations go to an outbox; one pump sends them in order, batching whatever piled
 * up while the previous publish was in flight into one message with one sequence number. A publish
 * that fails is retried (same sequence number, so a receiver that did get it ignores the copy)
 * until it goes through, with backoff; a caller waits for its message at most until the first
 * attempt is answered or fails, so a dead bus never fails or holds up an operation.
 *
 * Receiving: a message from a publisher whose sequence number skips ahead means a message was lost,
 * and so does a dropped connection: both make the listener drop everything it holds (`reset`)
 * before the next message is applied. While the transport is down, {@link InvalidationBus.connected}
 * is false and the listener must not serve or fill what the bus protects.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from '../core/logger.js';
import { sleep } from '../core/timers.js';
import {
  decodeMessage,
  encodeMessage,
  packInvalidations,
  type BusMessage,
  type Invalidation,
} from './message.js';

/** What a transport reports to its bus. */
export interface TransportEvents {
  /** A message arrived on the channel (own ones included). */
  message(text: string): void;
  /** The subscription is confirmed: every message published from now on will arrive. */
  up(): void;
  /** The subscription is gone (connection dropped); messages may be lost until the next `up`. */
  down(reason: unknown): void;
}

/** One pub/sub mechanism (Redis pub/sub, PostgreSQL LISTEN/NOTIFY). Reconnects by itself. */
export interface BusTransport {
  /** For messages: `'redis'`, `'postgres'`. */
  readonly kind: string;
  /** Connects, subscribes, and keeps doing so until `close`. */
  start(events: TransportEvents): void;
  /** Publishes one message; rejects if it was not accepted within `timeoutMs`. */
  publish(text: string, timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

/** Why a listener must drop everything. */
export type ResetReason = 'down' | 'up' | 'gap';

/** Who applies what the bus receives (a tiered store). */
export interface BusListener {
  invalidate(invalidation: Invalidation): void;
  /** Messages may have been lost: drop everything the bus protects. */
  reset(reason: ResetReason): void;
}

/** Options of {@link InvalidationBus}. */
export interface BusOptions {
  readonly alias: string;
  readonly logger: Logger;
  /** The most a publish may take before it counts as failed, in ms. */
  readonly publishTimeoutMs: number;
}

/** Publishers remembered for gap detection; the oldest is forgotten beyond this. */
const MAX_PUBLISHERS = 10_000;
/** Invalidations kept while the bus is down; beyond this they collapse into one `clear`. */
const MAX_OUTBOX = 1_000;
/** Longest wait between two publish retries, in ms. */
const MAX_RETRY_DELAY_MS = 2_000;

interface Outgoing {
  readonly text: string;
  readonly waiters: Array<() => void>;
}

export class InvalidationBus {
  /** This bus's publisher id: random, so a restarted process is a new publisher. */
  readonly id = randomBytes(9).toString('base64url');
  readonly #transport: BusTransport;
  readonly #options: BusOptions;
  #listener: BusListener | undefined;
  #connected = false;
  #closed = false;
  #sequence = 0;
  readonly #lastSeen = new Map<string, number>();
  #outbox: Invalidation[] = [];
  #outboxWaiters: Array<() => void> = [];
  readonly #queue: Outgoing[] = [];
  #pumping = false;
  #downSince: number | undefined;
  /** Counters, for tests and diagnostics. */
  readonly counts = { published: 0, received: 0, gaps: 0, resets: 0, publishFailures: 0 };

  constructor(transport: BusTransport, options: BusOptions) {
    this.#transport = transport;
    this.#options = options;
  }

  /** The transport (tests reach its connections through it). */
  get transport(): BusTransport {
    return this.#transport;
  }

  /** Whether the subscription is live: what the listener holds is kept valid by messages. */
  get connected(): boolean {
    return this.#connected;
  }

  /** Starts receiving; `listener` gets every invalidation from other publishers. */
  listen(listener: BusListener): void {
    if (this.#listener) throw new Error('the bus already has a listener');
    this.#listener = listener;
    this.#transport.start({
      message: (text) => this.#onMessage(text),
      up: () => this.#onUp(),
      down: (reason) => this.#onDown(reason),
    });
  }

  /**
   * Publishes an invalidation. Resolves once it was sent, or once the first attempt failed (it is
   * then retried in the background); never rejects.
   */
  publish(invalidation: Invalidation): Promise<void> {
    if (this.#closed) return Promise.resolve();
    if (this.#outbox.length >= MAX_OUTBOX) this.#outbox = [{ kind: 'clear' }];
    else this.#outbox.push(invalidation);
    const sent = new Promise<void>((resolve) => this.#outboxWaiters.push(resolve));
    void this.#pump();
    return sent;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#connected = false;
    for (const outgoing of this.#queue) for (const waiter of outgoing.waiters) waiter();
    for (const waiter of this.#outboxWaiters) waiter();
    this.#queue.length = 0;
    this.#outbox = [];
    this.#outboxWaiters = [];
    await this.#transport.close();
  }

  // ---- publishing ----------------------------------------------------------------------------

  #takeOutbox(): void {
    const bodies = packInvalidations(this.#outbox);
    const waiters = this.#outboxWaiters;
    this.#outbox = [];
    this.#outboxWaiters = [];
    bodies.forEach((invalidations, index) => {
      const message: BusMessage = { publisher: this.id, sequence: ++this.#sequence, invalidations };
      this.#queue.push({
        text: encodeMessage(message),
        waiters: index === bodies.length - 1 ? waiters : [],
      });
    });
  }

  async #pump(): Promise<void> {
    if (this.#pumping) return;
    this.#pumping = true;
    let failures = 0;
    try {
      while (!this.#closed) {
        if (this.#queue.length === 0) {
          if (this.#outbox.length === 0) break;
          this.#takeOutbox();
        }
        const outgoing = this.#queue[0]!;
        try {
          await this.#transport.publish(outgoing.text, this.#options.publishTimeoutMs);
          this.#queue.shift();
          this.counts.published++;
          failures = 0;
          for (const waiter of outgoing.waiters.splice(0)) waiter();
        } catch (error) {
          this.counts.publishFailures++;
          // The caller does not wait for the retries.
          for (const waiter of outgoing.waiters.splice(0)) waiter();
          if (failures++ === 0) {
            this.#options.logger.warn(
              { err: error, alias: this.#options.alias },
              `${this.#transport.kind} invalidation bus: publish failed; retrying`,
            );
          }
          await sleep(Math.min(20 * 2 ** Math.min(failures, 10), MAX_RETRY_DELAY_MS));
        }
      }
    } finally {
      this.#pumping = false;
    }
  }

  // ---- receiving -----------------------------------------------------------------------------

  #onMessage(text: string): void {
    const message = decodeMessage(text);
    if (!message || message.publisher === this.id || !this.#connected) return;
    this.counts.received++;
    const last = this.#lastSeen.get(message.publisher);
    if (last !== undefined) {
      if (message.sequence <= last) return; // a retried copy
      if (message.sequence !== last + 1) {
        this.counts.gaps++;
        this.#options.logger.warn(
          { alias: this.#options.alias, publisher: message.publisher, expected: last + 1 },
          `${this.#transport.kind} invalidation bus: a message was lost; dropping the whole L1`,
        );
        this.#reset('gap');
      }
      this.#lastSeen.delete(message.publisher);
    } else if (this.#lastSeen.size >= MAX_PUBLISHERS) {
      this.#lastSeen.delete(this.#lastSeen.keys().next().value!);
    }
    this.#lastSeen.set(message.publisher, message.sequence);
    for (const invalidation of message.invalidations) this.#listener?.invalidate(invalidation);
  }

  #reset(reason: ResetReason): void {
    this.counts.resets++;
    this.#listener?.reset(reason);
  }

  #onUp(): void {
    if (this.#closed) return;
    // Whatever was published while nobody listened is lost: start from nothing.
    this.#lastSeen.clear();
    this.#reset('up');
    this.#connected = true;
    if (this.#downSince !== undefined) {
      this.#options.logger.warn(
        { alias: this.#options.alias, downMs: Math.round(performance.now() - this.#downSince) },
        `${this.#transport.kind} invalidation bus restored`,
      );
      this.#downSince = undefined;
    }
  }

  #onDown(reason: unknown): void {
    const wasUp = this.#connected;
    this.#connected = false;
    if (!wasUp || this.#closed) return;
    this.#downSince = performance.now();
    this.#reset('down');
    this.#options.logger.warn(
      { err: reason, alias: this.#options.alias },
      `${this.#transport.kind} invalidation bus disconnected; L1 is bypassed until it is back`,
    );
  }
}
