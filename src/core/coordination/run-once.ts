/**
 * `lock()` and `runOnce()` over a cache view: named locks through the cache's key making (so
 * prefixes isolate them), and leader election built on them.
 */
import type { CacheView } from '../cache/view.js';
import { durationToMs, type Duration } from '../duration.js';
import { InvalidValueError, LockTimeoutError } from '../errors.js';
import { FAIL_OPEN } from '../guard/operations.js';
import { assertName } from '../keys.js';
import { DEFAULT_LOCK_MS } from '../load/options.js';
import { runProgram } from '../program/runner.js';
import { hasProgram, setProgram } from '../program/single-key.js';
import { setLongTimeout, type LongTimer } from '../timers.js';
import { lockPrimitives } from './lock-primitives.js';
import { acquireLock, backoff, type Lock } from './locks.js';

/** Options of `lock()` and `runOnce()`. */
export interface LockOptions {
  /** The lock's lifetime (seconds or a duration string). */
  ttl?: Duration;
  /** How long to try before `LockTimeoutError` (0 = once). */
  wait?: Duration;
}

function positiveTtl(ttl: Duration | undefined, fallbackMs: number): number {
  const ttlMs = ttl === undefined ? fallbackMs : durationToMs(ttl, 'ttl');
  if (ttlMs <= 0) throw new InvalidValueError(`ttl must be positive, got ${String(ttl)}`);
  return ttlMs;
}

/** Acquires the lock `name`. @throws LockTimeoutError after `wait` (default 10 s) */
export async function acquireNamedLock(
  view: CacheView,
  name: string,
  opts: LockOptions,
): Promise<Lock> {
  assertName(name, 'a lock name');
  const ttlMs = positiveTtl(opts.ttl, DEFAULT_LOCK_MS);
  const waitMs = opts.wait === undefined ? DEFAULT_LOCK_MS : durationToMs(opts.wait, 'wait');
  const made = view.make(name, undefined);
  const primitives = lockPrimitives(view);
  return (await acquireLock(primitives, name, made, ttlMs, waitMs, view.ctx.now))!;
}

/** Renews `lock` every third of its lifetime until cleared (failures are reported). */
function keepRenewed(view: CacheView, lock: Lock, name: string, ttlMs: number): LongTimer {
  let timer: LongTimer;
  const renew = () => {
    lock.extend().catch((error: unknown) => view.ctx.observer.error(error, 'runOnce', name, ''));
    timer = setLongTimeout(renew, ttlMs / 3).unref();
  };
  timer = setLongTimeout(renew, ttlMs / 3).unref();
  return { clear: () => timer.clear(), unref: () => timer.unref() };
}

/** Leader election; see `Cache.runOnce`. */
export async function runOnce(
  view: CacheView,
  name: string,
  fn: () => unknown,
  opts: LockOptions,
): Promise<{ ran: boolean }> {
  // Names follow the key rules before anything is derived from them (`${name}:done`).
  assertName(name, 'a runOnce name');
  const ttlMs = positiveTtl(opts.ttl, 60_000);
  const waitMs = opts.wait === undefined ? ttlMs : durationToMs(opts.wait, 'wait');
  const doneKey = `${name}:done`;
  const lockName = `${name}:lock`;
  const now = view.ctx.now;
  const isDone = () =>
    runProgram(view, 'has', () => hasProgram(view, doneKey, undefined), FAIL_OPEN.has);
  const report = (error: unknown) => view.ctx.observer.error(error, 'runOnce', name, '');
  const deadline = now() + waitMs;
  for (let attempt = 0; ; attempt++) {
    if (await isDone()) return { ran: false };
    let lock: Lock | undefined;
    try {
      lock = await acquireNamedLock(view, lockName, { ttl: ttlMs / 1000, wait: 0 });
    } catch (error) {
      if (!(error instanceof LockTimeoutError)) throw error;
    }
    if (lock) {
      try {
        if (await isDone()) return { ran: false };
        const renewal = keepRenewed(view, lock, name, ttlMs);
        try {
          await fn();
        } finally {
          renewal.clear();
        }
        await runProgram(
          view,
          'set',
          () => setProgram(view, doneKey, true, ttlMs / 1000),
          FAIL_OPEN.set,
        );
        return { ran: true };
      } finally {
        await lock.release().catch(report);
      }
    }
    if (now() >= deadline) {
      throw new LockTimeoutError(`runOnce "${name}": no done flag and no lock within ${waitMs} ms`);
    }
    await backoff(attempt);
  }
}
