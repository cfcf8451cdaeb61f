/**
 * A Redis command in flight: its deadline (watched by the connection's watchdog, or a timer of its
 * own while the connection is down), and how its outcome reaches the caller (a promise, or the
 * caller's continuation).
 */
import type { Continuation } from '../../core/store.js';
import { setLongTimeout, type LongTimer } from '../../core/timers.js';
import type { Watchdog, Watched } from '../../core/watchdog.js';
import type { SharedClient } from './client.js';

/** A command got no answer within the operation timeout. */
export class RedisTimeoutError extends Error {
  override readonly name = 'RedisTimeoutError';
}

/** One command in flight and its deadline. */
export class PendingCommand implements Watched {
  /** Settled (answered, failed or timed out); nothing happens to it afterwards. */
  settled = false;
  /** Timed out: what was waiting to send it must not send it any more. */
  expired = false;
  /** When it times out (`performance.now()`), for a {@link Watchdog}. */
  deadline = 0;
  /** The next command a {@link Watchdog} watches. */
  next: Watched | undefined;
  prev: Watched | undefined;
  #resolve: ((value: unknown) => void) | undefined;
  #reject: ((error: unknown) => void) | undefined;
  #timer: LongTimer | undefined;
  readonly #name: string;
  readonly #limitMs: number;
  /** Set when the connection was already down: the error then says why. */
  readonly #down: SharedClient | undefined;
  /** Turns the reply into the result (saves a `.then` per command). */
  readonly #map: ((reply: unknown) => unknown) | undefined;
  /** The caller's continuation, if it gave one: it makes the result from the outcome. */
  readonly #then: Continuation<unknown> | undefined;
  readonly #watchdog: Watchdog | undefined;

  constructor(
    resolve: (value: unknown) => void,
    reject: (error: unknown) => void,
    name: string,
    limitMs: number,
    map: ((reply: unknown) => unknown) | undefined,
    then: Continuation<unknown> | undefined,
    watchdog: Watchdog | undefined,
    down?: SharedClient,
  ) {
    this.#resolve = resolve;
    this.#reject = reject;
    this.#name = name;
    this.#limitMs = limitMs;
    this.#map = map;
    this.#then = then;
    this.#down = down;
    this.#watchdog = watchdog;
    if (watchdog) watchdog.watch(this);
    else this.#timer = setLongTimeout(PendingCommand.#onTimer, limitMs, this);
  }

  static #onTimer(this: void, pending: PendingCommand): void {
    pending.#timer = undefined;
    pending.expire();
  }

  /** Fails it with a timeout error, unless it was settled already. */
  expire(): void {
    if (this.settled) return;
    this.expired = true;
    this.#finish(
      undefined,
      this.#down
        ? this.#down.unreachable()
        : new RedisTimeoutError(
            `Redis did not answer ${this.#name} within ${Math.round(this.#limitMs)} ms`,
          ),
      true,
    );
  }

  /** Settles it with the outcome of `sent` (the driver's promise for the command). */
  follow(sent: Promise<unknown>): void {
    sent.then(
      (value) => this.settle(value, undefined, false),
      (error: unknown) => this.settle(undefined, error, true),
    );
  }

  settle(reply: unknown, error: unknown, failed: boolean): void {
    if (this.settled) return;
    this.#timer?.clear();
    this.#finish(reply, error, failed);
    this.#watchdog?.unwatch(this);
  }

  #finish(reply: unknown, error: unknown, failed: boolean): void {
    this.settled = true;
    const resolve = this.#resolve!;
    const reject = this.#reject!;
    // Nothing to keep alive while it waits in a watchdog's list.
    this.#resolve = undefined;
    this.#reject = undefined;
    const then = this.#then;
    try {
      const result = this.#map && !failed ? this.#map(reply) : reply;
      if (then === undefined) {
        if (failed) reject(error);
        else resolve(result);
      } else {
        resolve(failed ? then.error(error) : then.value(result));
      }
    } catch (thrown) {
      reject(thrown);
    }
  }
}

/** Starts a command's work, settling `pending` with its outcome (a synchronous throw included). */
export function start(pending: PendingCommand, work: () => Promise<unknown>): void {
  let sent: Promise<unknown>;
  try {
    sent = work();
  } catch (error) {
    pending.settle(undefined, error, true);
    return;
  }
  pending.follow(sent);
}

/** A command that failed before it was sent: a rejection, or `then.error`'s answer. */
export function failWith<T>(error: unknown, then: Continuation<T> | undefined): Promise<T> {
  if (then === undefined) return Promise.reject(error as Error);
  try {
    return Promise.resolve(then.error(error));
  } catch (thrown) {
    return Promise.reject(thrown as Error);
  }
}
