/**
 * Locks over any store: acquire is an atomic `add` of a random token with the lock's lifetime;
 * release and extend act only while the token is still ours (a compare-and-delete /
 * compare-and-touch in the store), so a holder whose lock expired and was taken by someone else
 * never removes the new holder's lock.
 */
import { randomUUID } from 'node:crypto';
import { durationToMs, type Duration } from '../duration.js';
import { LockTimeoutError } from '../errors.js';
import type { LockAction } from '../events.js';

/** What a lock needs from the cache: atomic store calls on made keys. */
export interface LockPrimitives {
  /** Stores `token` under `made` for `ttlMs` if absent; `true` if stored. */
  tryAdd(made: string, token: string, ttlMs: number): Promise<boolean>;
  /** Deletes `made` if it still holds `token`. */
  deleteIfToken(made: string, token: string): Promise<boolean>;
  /** Renews `made` for `ttlMs` if it still holds `token`. */
  touchIfToken(made: string, token: string, ttlMs: number): Promise<boolean>;
  /** Announces lock events. */
  event(name: string, made: string, action: LockAction): void;
  /** Counts a caller that found the lock held and waits for it (once per acquire). */
  waiting(): void;
}

/** A held lock. Release it with `release()` or `await using`. */
export class Lock {
  #held = true;

  /** @internal */
  constructor(
    /** The lock's name, as given to `cache.lock()`. */
    readonly name: string,
    private readonly made: string,
    private readonly token: string,
    private readonly ttlMs: number,
    private readonly primitives: LockPrimitives,
  ) {}

  /**
   * Releases the lock. `true` if it was ours to release, `false` if it had expired (and maybe been
   * taken by another holder, whose lock is left alone).
   */
  async release(): Promise<boolean> {
    if (!this.#held) return false;
    this.#held = false;
    const released = await this.primitives.deleteIfToken(this.made, this.token);
    this.primitives.event(this.name, this.made, released ? 'released' : 'lost');
    return released;
  }

  /**
   * Renews the lock for `ttl` (seconds or a duration string; default its original lifetime) from
   * now. `false` if the lock was lost.
   */
  async extend(ttl?: Duration): Promise<boolean> {
    if (!this.#held) return false;
    const ttlMs = ttl === undefined ? this.ttlMs : durationToMs(ttl, 'ttl');
    const extended = await this.primitives.touchIfToken(this.made, this.token, ttlMs);
    if (!extended) {
      this.#held = false;
      this.primitives.event(this.name, this.made, 'lost');
    }
    return extended;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.release();
  }
}

/** Waits between attempts, growing from 10 ms to 200 ms. */
export function backoff(attempt: number): Promise<void> {
  const ms = Math.min(200, 10 * 1.5 ** attempt);
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Acquires `made` for `ttlMs`, trying until `waitMs` has passed.
 * @param whileWaiting called between attempts; a `true` result stops waiting (the caller no longer
 *   needs the lock) and resolves `undefined`
 * @throws LockTimeoutError after `waitMs`
 */
export async function acquireLock(
  primitives: LockPrimitives,
  name: string,
  made: string,
  ttlMs: number,
  waitMs: number,
  now: () => number,
  whileWaiting?: () => Promise<boolean>,
): Promise<Lock | undefined> {
  const token = randomUUID();
  const deadline = now() + waitMs;
  for (let attempt = 0; ; attempt++) {
    if (await primitives.tryAdd(made, token, ttlMs)) {
      primitives.event(name, made, 'acquired');
      return new Lock(name, made, token, ttlMs, primitives);
    }
    if (whileWaiting && (await whileWaiting())) return undefined;
    if (now() >= deadline) {
      primitives.event(name, made, 'timeout');
      throw new LockTimeoutError(`could not acquire lock "${name}" within ${waitMs} ms`);
    }
    if (attempt === 0) primitives.waiting();
    await backoff(attempt);
  }
}
