/**
 * The Redis store: each operation in as few round trips as Redis allows, atomic where the
 * contract says so. Expiry is Redis's own (`PX`, `PEXPIRE`, `PTTL`), converted from and to the
 * absolute times of the store contract with the cache's clock; `setThen`'s lifetime goes to `PX`
 * as it is.
 *
 * On a Cluster, multi-key commands are split into same-slot groups (no `CROSSSLOT`), and `keys`,
 * `deleteMatching` and `clear` visit every master.
 */
import { InvalidValueError, KeyNotFoundError } from '../../core/errors.js';
import type {
  Continuation,
  KeyHint,
  KeyMatch,
  Payload,
  Store,
  StoreCapabilities,
} from '../../core/store.js';
import type { NodeRedisClient, RedisArgument, RedisConnection } from './connection.js';
import { toRedisMatch } from './match.js';
import {
  DELETE_IF_VALUE_SCRIPT,
  INCR_SCRIPT,
  MOVE_SCRIPT,
  NOT_INTEGER,
  OUT_OF_RANGE,
  PERSIST_SCRIPT,
  TOUCH_IF_VALUE_SCRIPT,
} from './scripts.js';
import { groupBySlot, hashSlot } from './slots.js';

/** Keys asked of each `SCAN` call: large enough for few round trips, small enough to never block. */
const SCAN_COUNT = '1000';

/** A missing value comes back as `null` from the driver; the contract says `undefined`. */
function toPayload(reply: unknown): Payload | undefined {
  return reply === null ? undefined : (reply as Buffer);
}

function toVoid(): void {}
const isOne = (reply: unknown) => reply === 1;
const isSet = (reply: unknown) => reply !== null;

/** A store in Redis or a Redis Cluster (see docs/redis.md); made by the `redis` backend's factory. */
export class RedisStore implements Store {
  readonly capabilities: StoreCapabilities = { sync: false, shared: true, boundsOperations: true };
  readonly #redis: RedisConnection;
  readonly #now: () => number;

  constructor(connection: RedisConnection, now: () => number) {
    this.#redis = connection;
    this.#now = now;
  }

  /** The node-redis client or Cluster. Reading it starts connecting, so it can be used at once. */
  get client(): unknown {
    this.#redis.startConnecting();
    return this.#redis.raw;
  }

  /** Milliseconds from now until `expiresAt`, as `PX` text. */
  #px(expiresAt: number): string {
    return this.#pxFor(expiresAt - this.#now());
  }

  /** A lifetime (ms) as `PX` text: at least 1, since `PX` takes positive integers. */
  #pxFor(ttlMs: number): string {
    const ms = Math.max(1, Math.ceil(ttlMs));
    // Writes with one timeout ask for the same few values over and over; converting a number to
    // text is the dearest step of a SET's arguments.
    if (ms !== this.#lastPx) {
      this.#lastPx = ms;
      this.#lastPxText = String(ms);
    }
    return this.#lastPxText;
  }

  #lastPx = 0;
  #lastPxText = '0';

  /** A `SET` of an entry living `ttlMs` ms (`null`: for good). */
  #setArgs(key: string, value: Payload, ttlMs: number | null): RedisArgument[] {
    return ttlMs === null ? ['SET', key, value] : ['SET', key, value, 'PX', this.#pxFor(ttlMs)];
  }

  /** The lifetime left until `expiresAt` (ms), by this store's clock. */
  #ttl(expiresAt: number | null): number | null {
    return expiresAt === null ? null : expiresAt - this.#now();
  }

  get(key: string): Promise<Payload | undefined> {
    return this.#redis.command(key, ['GET', key], 'bytes', toPayload);
  }

  getThen<R>(key: string, _hint: KeyHint | undefined, next: Continuation<R>): Promise<R> {
    return this.#redis.commandThen(key, ['GET', key], 'bytes', toPayload, next);
  }

  async getMany(keys: readonly string[]): Promise<Array<Payload | undefined>> {
    if (!this.#redis.isCluster) {
      const replies = (await this.#redis.command(keys[0], ['MGET', ...keys], 'bytes')) as unknown[];
      return replies.map(toPayload);
    }
    const found = new Array<Payload | undefined>(keys.length);
    await Promise.all(
      groupBySlot(keys).map(async (group) => {
        const slotKeys = group.map((index) => keys[index]!);
        const replies = (await this.#redis.command(
          slotKeys[0],
          ['MGET', ...slotKeys],
          'bytes',
        )) as unknown[];
        group.forEach((index, position) => (found[index] = toPayload(replies[position])));
      }),
    );
    return found;
  }

  set(key: string, value: Payload, expiresAt: number | null): Promise<void> {
    return this.#redis.command(
      key,
      this.#setArgs(key, value, this.#ttl(expiresAt)),
      'text',
      toVoid,
    );
  }

  setThen<R>(key: string, value: Payload, ttlMs: number | null, next: Continuation<R>): Promise<R> {
    const args = this.#setArgs(key, value, ttlMs);
    return this.#redis.commandThen(key, args, 'text', toVoid, next);
  }

  async setMany(
    entries: ReadonlyArray<readonly [string, Payload]>,
    expiresAt: number | null,
  ): Promise<string[]> {
    if (entries.length === 0) return [];
    if (entries.length === 1) {
      const [key, value] = entries[0]!;
      await this.set(key, value, expiresAt);
      return [];
    }
    const keys = entries.map(([key]) => key);
    // One transaction per slot (the whole batch on a single node): all or nothing within it.
    const groups = this.#redis.isCluster ? groupBySlot(keys) : [keys.map((_, index) => index)];
    const failed: string[] = [];
    const errors: unknown[] = [];
    const ttlMs = this.#ttl(expiresAt);
    await Promise.all(
      groups.map(async (group) => {
        const commands = group.map((index) => {
          const [key, value] = entries[index]!;
          return this.#setArgs(key, value, ttlMs);
        });
        try {
          const replies = await this.#redis.transaction(keys[group[0]!]!, commands);
          group.forEach((index, position) => {
            if (replies[position] instanceof Error) failed.push(keys[index]!);
          });
        } catch (error) {
          errors.push(error);
          for (const index of group) failed.push(keys[index]!);
        }
      }),
    );
    // Nothing reached Redis at all: that is an outage, not a list of refused keys.
    if (errors.length === groups.length) throw errors[0];
    return failed;
  }

  add(key: string, value: Payload, expiresAt: number | null): Promise<boolean> {
    const args: RedisArgument[] =
      expiresAt === null
        ? ['SET', key, value, 'NX']
        : ['SET', key, value, 'NX', 'PX', this.#px(expiresAt)];
    return this.#redis.command(key, args, 'text', isSet);
  }

  delete(key: string): Promise<boolean> {
    return this.#redis.command(key, ['UNLINK', key], 'text', isOne);
  }

  deleteMany(keys: readonly string[]): Promise<number> {
    return this.#unlink(keys);
  }

  /** `UNLINK` in one command, or one per slot on a Cluster; how many keys were removed. */
  async #unlink(keys: readonly string[]): Promise<number> {
    if (keys.length === 0) return 0;
    if (!this.#redis.isCluster) {
      return (await this.#redis.command(keys[0], ['UNLINK', ...keys], 'text')) as number;
    }
    const counts = await Promise.all(
      groupBySlot(keys).map((group) => {
        const slotKeys = group.map((index) => keys[index]!);
        return this.#redis.command(slotKeys[0], ['UNLINK', ...slotKeys], 'text');
      }),
    );
    return counts.reduce<number>((sum, count) => sum + (count as number), 0);
  }

  has(key: string): Promise<boolean> {
    return this.#redis.command(key, ['EXISTS', key], 'text', isOne);
  }

  async touch(key: string, expiresAt: number | null): Promise<boolean> {
    const reply =
      expiresAt === null
        ? await this.#redis.script(PERSIST_SCRIPT, [key], [], 'text')
        : await this.#redis.command(key, ['PEXPIRE', key, this.#px(expiresAt)], 'text');
    return reply === 1;
  }

  async incr(key: string, delta: number): Promise<number> {
    let reply: unknown;
    try {
      reply = await this.#redis.script(INCR_SCRIPT, [key], [String(delta)], 'integerText');
    } catch (error) {
      const message = error instanceof Error ? error.message : '';
      if (message.includes(OUT_OF_RANGE)) {
        throw new InvalidValueError(`incr of "${key}" would leave the safe integer range`);
      }
      // Ours, or INCRBY's own ("value is not an integer or out of range") for text like "007".
      if (message.includes(NOT_INTEGER) || message.includes('not an integer')) {
        throw new InvalidValueError(`the value under "${key}" is not an integer`);
      }
      throw error;
    }
    if (reply === null) throw new KeyNotFoundError(`key "${key}" not found`);
    return Number(reply);
  }

  /** Compare-and-delete (locks): one script, atomic on the server. */
  async deleteIfValue(key: string, value: Payload): Promise<boolean> {
    return (await this.#redis.script(DELETE_IF_VALUE_SCRIPT, [key], [value], 'text')) === 1;
  }

  /** Compare-and-renew (locks): one script, atomic on the server. */
  async touchIfValue(key: string, value: Payload, expiresAt: number | null): Promise<boolean> {
    const ttl = expiresAt === null ? '' : this.#px(expiresAt);
    return (await this.#redis.script(TOUCH_IF_VALUE_SCRIPT, [key], [value, ttl], 'text')) === 1;
  }

  /**
   * `Store.move`: the live entry under `from` goes to `to` with its remaining TTL; `false` if
   * `from` is absent. Atomic in one script on a single node (and on a Cluster when both keys share
   * a slot); across Cluster slots no script can be atomic, so it is read, write, delete in that
   * order.
   */
  async move(from: string, to: string): Promise<boolean> {
    if (!this.#redis.isCluster || hashSlot(from) === hashSlot(to)) {
      return (await this.#redis.script(MOVE_SCRIPT, [from, to], [], 'text')) === 1;
    }
    const value = await this.get(from);
    const expiresAt = value === undefined ? undefined : await this.expiry(from);
    if (value === undefined || expiresAt === undefined) return false;
    await this.set(to, value, expiresAt);
    await this.delete(from);
    return true;
  }

  async expiry(key: string): Promise<number | null | undefined> {
    const left = (await this.#redis.command(key, ['PTTL', key], 'text')) as number;
    if (left === -2) return undefined;
    if (left === -1) return null;
    return this.#now() + left;
  }

  /** `SCAN` pages of every master, filtered exactly (the MATCH pattern is a superset). */
  async *#scan(match: KeyMatch): AsyncGenerator<string[]> {
    const { pattern, matches } = toRedisMatch(match);
    for (const node of await this.#redis.masters()) {
      let cursor = '0';
      do {
        const [next, keys] = (await this.#redis.nodeCommand(
          node,
          ['SCAN', cursor, 'MATCH', pattern, 'COUNT', SCAN_COUNT],
          'text',
        )) as [string, string[]];
        cursor = next;
        const page = keys.filter(matches);
        if (page.length > 0) yield page;
      } while (cursor !== '0');
    }
  }

  async *keys(match: KeyMatch): AsyncIterable<string> {
    // SCAN may return a key twice (when Redis rehashes during the iteration); callers get it once.
    const seen = new Set<string>();
    for await (const page of this.#scan(match)) {
      for (const key of page) {
        if (seen.has(key)) continue;
        seen.add(key);
        yield key;
      }
    }
  }

  async deleteMatching(match: KeyMatch): Promise<number> {
    let removed = 0;
    for await (const page of this.#scan(match)) removed += await this.#unlink(page);
    return removed;
  }

  async clear(): Promise<void> {
    const masters: NodeRedisClient[] = await this.#redis.masters();
    // ASYNC: Redis frees the memory in the background, so a large database never blocks it.
    await Promise.all(
      masters.map((node) => this.#redis.nodeCommand(node, ['FLUSHDB', 'ASYNC'], 'text')),
    );
  }

  close(): Promise<void> {
    return this.#redis.close();
  }
}
