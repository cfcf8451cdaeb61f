/**
 * One store's commands: routed to the right node, with replies decoded as the store needs them,
 * and every one bounded by the store's operation timeout.
 *
 * Outages, by design:
 * - a command is handed to the driver only when the connection is ready, so nothing waits in the
 *   driver's offline queue to be applied long after its caller gave up;
 * - while the connection is down, a command waits for it up to the timeout, and once it has been
 *   down longer than the timeout, commands fail at once (no pile of 250 ms waits);
 * - a command already sent to a frozen server (`CLIENT PAUSE`, SIGSTOP) fails at the timeout and
 *   its late reply is dropped (the one case where a write may still be applied later);
 * - the client reconnects by itself with capped exponential backoff and never gives up.
 */
import type { Logger } from '../../core/logger.js';
import { setLongTimeout, type LongTimer } from '../../core/timers.js';
import { Watchdog, type Watched } from '../../core/watchdog.js';
import {
  acquireClient,
  loadDriver,
  type CommandOptions,
  type NodeRedisClient,
  type NodeRedisCluster,
  type RedisArgument,
  type SharedClient,
} from './client.js';
import type { RedisSettings } from './options.js';
import type { LuaScript } from './scripts.js';

export type { NodeRedisClient, RedisArgument };

/** A command got no answer within the operation timeout. */
export class RedisTimeoutError extends Error {
  override readonly name = 'RedisTimeoutError';
}

/** One command in flight and its deadline. */
class PendingCommand<T> implements Watched {
  /** Settled (answered, failed or timed out); nothing happens to it afterwards. */
  settled = false;
  /** Timed out: what was waiting to send it must not send it any more. */
  expired = false;
  /** When it times out (`performance.now()`), for a {@link Watchdog}. */
  deadline = 0;
  /** The next command a {@link Watchdog} watches. */
  next: Watched | undefined;
  prev: Watched | undefined;
  #resolve: ((value: T) => void) | undefined;
  #reject: ((error: unknown) => void) | undefined;
  #timer: LongTimer | undefined;
  readonly #name: string;
  readonly #limitMs: number;
  /** Set when the connection was already down: the error then says why. */
  readonly #down: SharedClient | undefined;
  /** Turns the reply into the result (saves a `.then` per command). */
  readonly #map: ((reply: unknown) => T) | undefined;
  readonly #watchdog: Watchdog | undefined;

  constructor(
    resolve: (value: T) => void,
    reject: (error: unknown) => void,
    name: string,
    limitMs: number,
    map: ((reply: unknown) => T) | undefined,
    watchdog: Watchdog | undefined,
    down?: SharedClient,
  ) {
    this.#resolve = resolve;
    this.#reject = reject;
    this.#name = name;
    this.#limitMs = limitMs;
    this.#map = map;
    this.#down = down;
    this.#watchdog = watchdog;
    if (watchdog) watchdog.watch(this);
    else this.#timer = setLongTimeout(PendingCommand.#onTimer, limitMs, this);
  }

  static #onTimer<U>(this: void, pending: PendingCommand<U>): void {
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
    if (failed) reject(error);
    else resolve(this.#map ? this.#map(reply) : (reply as T));
  }
}

/**
 * How replies are decoded: `text` gives strings for bulk replies (keys, cursors) and numbers for
 * integers (counts, TTLs); `bytes` gives Buffers for bulk replies (payloads), byte for byte;
 * `integerText` gives integers as decimal text (node-redis decodes integers near 2^53 inexactly).
 */
export type ReplyMode = 'text' | 'bytes' | 'integerText';

type Sender = NodeRedisClient | NodeRedisCluster;

/** One store's use of a (shared) node-redis client or Cluster. */
export class RedisConnection {
  readonly #shared: SharedClient;
  readonly #timeoutMs: number;
  /** Per-command options by reply mode, for commands sent to one node of a Cluster. */
  readonly #options: Readonly<Record<ReplyMode, CommandOptions>>;
  /**
   * The client with each mode's options preset (`withCommandOptions`): node-redis merges preset
   * options much faster than options passed with each command, which matters on the hot path.
   */
  readonly #senders: Readonly<Record<ReplyMode, Sender>>;
  /** Times out the commands sent while the connection is ready. */
  /** None past Node's timer range (`operationTimeout: '30d'`): each command then has a long timer. */
  readonly #watchdog: Watchdog | undefined;
  #closed = false;

  constructor(settings: RedisSettings, alias: string, logger: Logger) {
    const { RESP_TYPES } = loadDriver(alias);
    this.#timeoutMs = settings.operationTimeoutMs;
    this.#watchdog = Watchdog.for(this.#timeoutMs);
    this.#shared = acquireClient(settings.target, settings.shareKey, {
      alias,
      logger,
      reconnectMaxDelayMs: settings.reconnectMaxDelayMs,
    });
    // An explicit mapping on every command, so a borrowed client's own defaults never change what
    // the store gets back. On a single node, commands are only sent when the connection is ready
    // and this store bounds them itself: the driver's default per-command timeout (an AbortSignal
    // per command in node-redis 6) would only cost time. On a Cluster, a command routed to a node
    // that is reconnecting waits in that node's queue; the driver's timeout takes it out of there,
    // so it is not sent after its caller gave up (past Node's timer range, ours is the only bound).
    const timeout = this.#shared.cluster && this.#watchdog ? this.#timeoutMs : undefined;
    this.#options = {
      text: { typeMapping: {}, timeout },
      bytes: { typeMapping: { [RESP_TYPES.BLOB_STRING]: Buffer }, timeout },
      integerText: { typeMapping: { [RESP_TYPES.NUMBER]: String }, timeout },
    };
    const raw = this.#shared.raw;
    this.#senders = {
      text: raw.withCommandOptions(this.#options.text),
      bytes: raw.withCommandOptions(this.#options.bytes),
      integerText: raw.withCommandOptions(this.#options.integerText),
    };
  }

  /** The node-redis client or Cluster. */
  get raw(): NodeRedisClient | NodeRedisCluster {
    return this.#shared.raw;
  }

  /** Whether this is a Cluster (multi-key commands must then stay within one slot). */
  get isCluster(): boolean {
    return this.#shared.cluster !== undefined;
  }

  /** Starts connecting, so that a client handed to the application works at once. */
  startConnecting(): void {
    if (!this.#closed) this.#shared.startConnecting();
  }

  /**
   * Runs `work` once the connection is ready, failing if the whole takes longer than the operation
   * timeout; `work` is never started after that point. While the connection is down, the wait
   * ends one timeout after it went down: past that, calls fail at once instead of each waiting out
   * its own timeout.
   */
  #bounded<T>(name: string, work: () => Promise<unknown>, map?: (reply: unknown) => T): Promise<T> {
    if (this.#closed) return Promise.reject(new Error('the redis store is closed'));
    const shared = this.#shared;
    if (shared.isReady) {
      return new Promise<T>((resolve, reject) => {
        const pending = new PendingCommand(
          resolve,
          reject,
          name,
          this.#timeoutMs,
          map,
          this.#watchdog,
        );
        work().then(
          (value) => pending.settle(value, undefined, false),
          (error: unknown) => pending.settle(undefined, error, true),
        );
      });
    }
    let limitMs = this.#timeoutMs;
    const down = shared.downSince !== undefined;
    if (down) {
      limitMs = Math.min(limitMs, shared.downSince! + this.#timeoutMs - performance.now());
      if (limitMs <= 0) return Promise.reject(shared.unreachable());
    }
    return new Promise<T>((resolve, reject) => {
      // Its own timer: its limit may be shorter than the watchdog's commands'.
      const pending = new PendingCommand(
        resolve,
        reject,
        name,
        limitMs,
        map,
        undefined,
        down ? shared : undefined,
      );
      shared.whenReady().then(
        () => {
          if (pending.expired) return;
          work().then(
            (value) => pending.settle(value, undefined, false),
            (error: unknown) => pending.settle(undefined, error, true),
          );
        },
        (error: unknown) => pending.settle(undefined, error, true),
      );
    });
  }

  /** Sends one command; on a Cluster it goes to the node owning `key`'s slot. */
  #send(
    key: RedisArgument | undefined,
    args: readonly RedisArgument[],
    mode: ReplyMode,
  ): Promise<unknown> {
    const sender = this.#senders[mode];
    return this.#shared.single
      ? (sender as NodeRedisClient).sendCommand(args)
      : (sender as NodeRedisCluster).sendCommand(key, false, args);
  }

  /**
   * One command about `key` (its routing key on a Cluster), bounded by the operation timeout.
   * `map` turns the reply into the result.
   */
  command<T = unknown>(
    key: RedisArgument | undefined,
    args: readonly RedisArgument[],
    mode: ReplyMode,
    map?: (reply: unknown) => T,
  ): Promise<T> {
    if (!this.#closed && this.#shared.isReady) {
      // The hot path (every get and set): sent at once, no closure around the send, and the
      // deadline watched by the connection's watchdog rather than a timer of its own.
      const sent = this.#send(key, args, mode);
      return new Promise<T>((resolve, reject) => {
        const pending = new PendingCommand(
          resolve,
          reject,
          args[0] as string,
          this.#timeoutMs,
          map,
          this.#watchdog,
        );
        sent.then(
          (value) => pending.settle(value, undefined, false),
          (error: unknown) => pending.settle(undefined, error, true),
        );
      });
    }
    return this.#bounded(args[0] as string, () => this.#send(key, args, mode), map);
  }

  /**
   * Runs a script by `EVALSHA`, sending its source with `EVAL` where a node lacks it. On a Cluster
   * all `keys` must be in one slot.
   */
  script(
    script: LuaScript,
    keys: readonly string[],
    args: readonly RedisArgument[],
    mode: ReplyMode,
  ): Promise<unknown> {
    const tail = [String(keys.length), ...keys, ...args];
    return this.#bounded('EVALSHA', async () => {
      try {
        return await this.#send(keys[0], ['EVALSHA', script.sha, ...tail], mode);
      } catch (error) {
        if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
        return this.#send(keys[0], ['EVAL', script.source, ...tail], mode);
      }
    });
  }

  /**
   * `MULTI` … `EXEC` in one round trip. On a Cluster every key must be in `key`'s slot.
   * @returns one reply per command; a command that failed inside the transaction is an `Error`
   */
  transaction(key: string, commands: ReadonlyArray<readonly RedisArgument[]>): Promise<unknown[]> {
    return this.#bounded('MULTI', async () => {
      let multi: { exec(): Promise<unknown[]> };
      const single = this.#shared.single;
      if (single) {
        const clientMulti = single.multi();
        for (const command of commands) clientMulti.addCommand(command);
        multi = clientMulti;
      } else {
        const clusterMulti = this.#shared.cluster!.multi(key);
        for (const command of commands) clusterMulti.addCommand(key, false, command);
        multi = clusterMulti;
      }
      try {
        return await multi.exec();
      } catch (error) {
        // Some commands failed inside EXEC (the others were applied): report them one by one.
        const replies = (error as { replies?: unknown }).replies;
        if (Array.isArray(replies) && replies.length === commands.length) return replies;
        throw error;
      }
    });
  }

  /** The master nodes: the one client, or every master of the Cluster (for SCAN, FLUSHDB). */
  masters(): Promise<NodeRedisClient[]> {
    return this.#bounded('the node list', async () => {
      const { single, cluster } = this.#shared;
      if (single) return [single];
      return Promise.all(cluster!.masters.map((master) => cluster!.nodeClient(master)));
    });
  }

  /** One command to one node, bounded by the operation timeout. */
  nodeCommand(
    node: NodeRedisClient,
    args: readonly RedisArgument[],
    mode: ReplyMode,
  ): Promise<unknown> {
    return this.#bounded(args[0] as string, () => node.sendCommand(args, this.#options[mode]));
  }

  /** Gives the client back (closing it if this was its last store and skycache made it). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#shared.release(this.#timeoutMs);
  }
}
