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
import { Watchdog } from '../../core/watchdog.js';
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
import type { Continuation } from '../../core/store.js';
import { failWith, PendingCommand, RedisTimeoutError, start } from './pending.js';
import type { LuaScript } from './scripts.js';

export type { NodeRedisClient, RedisArgument };
export { RedisTimeoutError };

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
   * its own timeout. `map` turns the reply into the result; `then`, if given, receives the outcome.
   */
  #bounded<T>(
    name: string,
    work: () => Promise<unknown>,
    map?: (reply: unknown) => unknown,
    then?: Continuation<T>,
  ): Promise<T> {
    if (this.#closed) return failWith(new Error('the redis store is closed'), then);
    const shared = this.#shared;
    if (shared.isReady) {
      return new Promise<T>((resolve, reject) => {
        const pending = new PendingCommand(
          resolve as (value: unknown) => void,
          reject,
          name,
          this.#timeoutMs,
          map,
          then,
          this.#watchdog,
        );
        start(pending, work);
      });
    }
    let limitMs = this.#timeoutMs;
    const down = shared.downSince !== undefined;
    if (down) {
      limitMs = Math.min(limitMs, shared.downSince! + this.#timeoutMs - performance.now());
      if (limitMs <= 0) return failWith(shared.unreachable(), then);
    }
    return new Promise<T>((resolve, reject) => {
      // Its own timer: its limit may be shorter than the watchdog's commands'.
      const pending = new PendingCommand(
        resolve as (value: unknown) => void,
        reject,
        name,
        limitMs,
        map,
        then,
        undefined,
        down ? shared : undefined,
      );
      shared.whenReady().then(
        () => {
          if (!pending.expired) start(pending, work);
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
    return this.#dispatch(key, args, mode, map, undefined);
  }

  /**
   * {@link command}, with the outcome handed to `then` (see `Continuation`): the promise returned
   * settles as `then.value(map(reply))` or `then.error(failure)` does. Never throws.
   */
  commandThen<R>(
    key: RedisArgument | undefined,
    args: readonly RedisArgument[],
    mode: ReplyMode,
    map: ((reply: unknown) => unknown) | undefined,
    then: Continuation<R>,
  ): Promise<R> {
    return this.#dispatch(key, args, mode, map, then);
  }

  #dispatch<T>(
    key: RedisArgument | undefined,
    args: readonly RedisArgument[],
    mode: ReplyMode,
    map: ((reply: unknown) => unknown) | undefined,
    then: Continuation<T> | undefined,
  ): Promise<T> {
    if (!this.#closed && this.#shared.isReady) {
      // The hot path (every get and set): sent at once, no closure around the send, and the
      // deadline watched by the connection's watchdog rather than a timer of its own.
      let sent: Promise<unknown>;
      try {
        sent = this.#send(key, args, mode);
      } catch (error) {
        return failWith(error, then);
      }
      return new Promise<T>((resolve, reject) => {
        const pending = new PendingCommand(
          resolve as (value: unknown) => void,
          reject,
          args[0] as string,
          this.#timeoutMs,
          map,
          then,
          this.#watchdog,
        );
        pending.follow(sent);
      });
    }
    return this.#bounded(args[0] as string, () => this.#send(key, args, mode), map, then);
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
