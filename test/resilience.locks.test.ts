/**
 * `cache.lock()` and `cache.runOnce()` on real stores (memory and disk), and the cross-process
 * guarantees on disk with real child processes: one loader call for `getOrSet(..., { lock: true })`
 * across 4 processes, `runOnce` leader election, and a crashed leader being replaced.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import type { Cache } from '../src/core/cache.js';
import { InvalidValueError, LockTimeoutError } from '../src/core/errors.js';
import type { CacheEvents } from '../src/core/events.js';
import { createCache } from '../src/core/registry.js';
import {
  cacheWithClock,
  deferred,
  freshLocation,
  liveClock,
  rejection,
  RejectionWatch,
  sleep,
  TempDirs,
  timed,
  type TestClock,
} from './fixtures/resilience-helpers.js';

const dirs = new TempDirs();
const watch = new RejectionWatch();
const opened: Cache[] = [];
/** Child processes still running (killed after each test, so a failure leaks none). */
const running = new Set<{ kill(): void }>();

beforeEach(() => watch.install());
afterEach(async () => {
  for (const child of running) child.kill();
  running.clear();
  await sleep(5);
  watch.uninstall();
  for (const cache of opened.splice(0)) await cache.close();
  dirs.cleanUp();
  expect(watch.seen).toEqual([]);
});

const KINDS = ['memory', 'disk'] as const;
type Kind = (typeof KINDS)[number];

/** A factory of caches on one shared store of `kind` (same memory location / disk directory). */
function sharedStore(kind: Kind, clock: TestClock) {
  const location = kind === 'memory' ? freshLocation() : dirs.make();
  return (keyPrefix = ''): Cache => {
    const cache = cacheWithClock({ backend: kind, location, keyPrefix }, clock);
    opened.push(cache);
    return cache;
  };
}

function lockEvents(cache: Cache): Array<CacheEvents['lock']> {
  const seen: Array<CacheEvents['lock']> = [];
  cache.on('lock', (event) => void seen.push(event));
  return seen;
}

/** Whether `name` is free right now (acquires and releases it if so). */
async function isFree(cache: Cache, name: string): Promise<boolean> {
  try {
    const lock = await cache.lock(name, { wait: 0 });
    await lock.release();
    return true;
  } catch (error) {
    if (error instanceof LockTimeoutError) return false;
    throw error;
  }
}

describe.each(KINDS)('cache.lock on %s', (kind) => {
  it('is exclusive until released; release() is true once, then false', async () => {
    const make = sharedStore(kind, liveClock());
    const a = make();
    const b = make();
    const lock = await a.lock('x', { ttl: 10 });
    expect(lock.name).toBe('x');
    const error = await rejection(b.lock('x', { wait: 0 }));
    expect(error).toBeInstanceOf(LockTimeoutError);
    expect(error).toMatchObject({ code: 'ERR_CACHE_LOCK_TIMEOUT' });
    expect(await rejection(a.lock('x', { wait: 0 }))).toBeInstanceOf(LockTimeoutError);
    expect(await lock.release()).toBe(true);
    expect(await lock.release()).toBe(false);
    const next = await b.lock('x', { wait: 0 });
    expect(await next.release()).toBe(true);
  });

  it('rejects with LockTimeoutError after `wait`', async () => {
    const make = sharedStore(kind, liveClock());
    const cache = make();
    const held = await cache.lock('x', { ttl: 10 });
    const { ms, error } = await timed(cache.lock('x', { wait: '300ms' }));
    expect(error).toBeInstanceOf(LockTimeoutError);
    expect(ms).toBeGreaterThanOrEqual(290);
    expect(ms).toBeLessThan(300 + 300);
    await held.release();
  });

  it('wait: 0 tries once', async () => {
    const make = sharedStore(kind, liveClock());
    const cache = make();
    const events = lockEvents(cache);
    const held = await cache.lock('x');
    const { ms, error } = await timed(cache.lock('x', { wait: 0 }));
    expect(error).toBeInstanceOf(LockTimeoutError);
    expect(ms).toBeLessThan(25);
    expect(events.map((event) => event.action)).toEqual(['acquired', 'timeout']);
    await held.release();
  });

  it('a waiter gets the lock as soon as it is released', async () => {
    const make = sharedStore(kind, liveClock());
    const cache = make();
    const held = await cache.lock('x');
    const waiting = timed(cache.lock('x', { wait: 5 }));
    await sleep(100);
    await held.release();
    const { ms, value } = await waiting;
    expect(value).toBeDefined();
    expect(ms).toBeLessThan(100 + 300);
    expect(await value!.release()).toBe(true);
  });

  it('defaults to a lifetime of 10 s and a wait of 10 s', async () => {
    const clock = liveClock();
    const make = sharedStore(kind, clock);
    const cache = make();
    await cache.lock('x');
    clock.advance(9_900);
    expect(await isFree(cache, 'x')).toBe(false);
    clock.advance(200);
    expect(await isFree(cache, 'x')).toBe(true);

    await cache.lock('y', { ttl: 60 });
    let settled = false;
    const waiter = rejection(cache.lock('y').finally(() => (settled = true)));
    await sleep(50);
    clock.advance(9_500); // about 9.8 s into the wait
    await sleep(250);
    expect(settled).toBe(false);
    clock.advance(500);
    expect(await waiter).toBeInstanceOf(LockTimeoutError);
  });

  it('extend() keeps it past its original lifetime', async () => {
    const clock = liveClock();
    const cache = sharedStore(kind, clock)();
    const lock = await cache.lock('x', { ttl: 10 });
    clock.advance(8_000);
    expect(await lock.extend()).toBe(true); // another 10 s from now
    clock.advance(5_000); // 13 s after acquiring
    expect(await isFree(cache, 'x')).toBe(false);
    expect(await lock.extend(30)).toBe(true);
    clock.advance(25_000);
    expect(await isFree(cache, 'x')).toBe(false);
    clock.advance(6_000);
    expect(await isFree(cache, 'x')).toBe(true);
  });

  it('release() of a lock that expired and was taken by another holder returns false and leaves it', async () => {
    const clock = liveClock();
    const make = sharedStore(kind, clock);
    const a = make();
    const b = make();
    const events = lockEvents(a);
    const first = await a.lock('x', { ttl: 1 });
    clock.advance(1_500);
    const second = await b.lock('x', { wait: 0, ttl: 10 });
    expect(await first.release()).toBe(false);
    expect(events.map((event) => event.action)).toEqual(['acquired', 'lost']);
    expect(await isFree(a, 'x')).toBe(false);
    expect(await second.extend()).toBe(true);
    expect(await second.release()).toBe(true);
    expect(await isFree(a, 'x')).toBe(true);
  });

  it('extend() of a lock that expired and was taken by another holder returns false and leaves it', async () => {
    const clock = liveClock();
    const make = sharedStore(kind, clock);
    const a = make();
    const b = make();
    const first = await a.lock('x', { ttl: 1 });
    clock.advance(1_500);
    const second = await b.lock('x', { wait: 0, ttl: 10 });
    expect(await first.extend(60)).toBe(false);
    expect(await first.release()).toBe(false);
    // The new holder's lock is untouched: still held, still expiring after its own 10 s.
    clock.advance(9_000);
    expect(await isFree(b, 'x')).toBe(false);
    clock.advance(1_500);
    expect(await isFree(b, 'x')).toBe(true);
    expect(await second.release()).toBe(false);
  });

  it('extend() and release() of an expired lock nobody took return false', async () => {
    const clock = liveClock();
    const cache = sharedStore(kind, clock)();
    const first = await cache.lock('x', { ttl: 1 });
    clock.advance(1_500);
    expect(await first.extend()).toBe(false);
    const second = await cache.lock('y', { ttl: 1 });
    clock.advance(1_500);
    expect(await second.release()).toBe(false);
  });

  it('`await using` releases it at the end of the block', async () => {
    const cache = sharedStore(kind, liveClock())();
    {
      await using lock = await cache.lock('x');
      expect(lock.name).toBe('x');
      expect(await isFree(cache, 'x')).toBe(false);
    }
    expect(await isFree(cache, 'x')).toBe(true);
    // A block left by an exception releases too.
    await expect(
      (async () => {
        await using _lock = await cache.lock('x');
        throw new Error('inside');
      })(),
    ).rejects.toThrow('inside');
    expect(await isFree(cache, 'x')).toBe(true);
  });

  it('lock names go through key making: different key prefixes hold the same name at once', async () => {
    const make = sharedStore(kind, liveClock());
    const a = make('app-a');
    const b = make('app-b');
    const alsoA = make('app-a');
    const eventsA = lockEvents(a);
    const la = await a.lock('init', { wait: 0 });
    const lb = await b.lock('init', { wait: 0 });
    expect(await rejection(alsoA.lock('init', { wait: 0 }))).toBeInstanceOf(LockTimeoutError);
    expect(eventsA[0]).toEqual({ key: 'init', madeKey: a.makeKey('init'), action: 'acquired' });
    expect(await la.release()).toBe(true);
    expect(await lb.release()).toBe(true);
  });

  it('emits lock events: acquired, timeout, released, lost', async () => {
    const clock = liveClock();
    const cache = sharedStore(kind, clock)();
    const events = lockEvents(cache);
    const lock = await cache.lock('x', { ttl: 1 });
    await rejection(cache.lock('x', { wait: 0 }));
    expect(await lock.release()).toBe(true);
    const lost = await cache.lock('x', { ttl: 1 });
    clock.advance(1_500);
    expect(await lost.extend()).toBe(false);
    const madeKey = cache.makeKey('x');
    expect(events).toEqual([
      { key: 'x', madeKey, action: 'acquired' },
      { key: 'x', madeKey, action: 'timeout' },
      { key: 'x', madeKey, action: 'released' },
      { key: 'x', madeKey, action: 'acquired' },
      { key: 'x', madeKey, action: 'lost' },
    ]);
  });

  it.each<[string, Record<string, unknown>]>([
    ['ttl 0', { ttl: 0 }],
    ['ttl not a duration', { ttl: 'long' }],
    ['wait not a duration', { wait: '1 s' }],
  ])('%s is an InvalidValueError', async (_label, options) => {
    const cache = sharedStore(kind, liveClock())();
    expect(await rejection(cache.lock('x', options as never))).toBeInstanceOf(InvalidValueError);
  });
});

describe.each(KINDS)('runOnce in one process on %s', (kind) => {
  it('concurrent callers: fn runs once, one { ran: true }, everyone returns after fn finished', async () => {
    const make = sharedStore(kind, liveClock());
    const caches = [make(), make(), make()];
    let runs = 0;
    let finishedAt = 0;
    const fn = async () => {
      runs++;
      await sleep(200);
      finishedAt = performance.now();
    };
    const results = await Promise.all(
      caches.flatMap((cache) =>
        [0, 1].map(async () => {
          const result = await cache.runOnce('init', fn, { ttl: 5 });
          return { ...result, at: performance.now() };
        }),
      ),
    );
    expect(runs).toBe(1);
    expect(results.filter((result) => result.ran)).toHaveLength(1);
    for (const result of results) expect(result.at).toBeGreaterThanOrEqual(finishedAt);
  });

  it('a caller arriving while the done flag exists returns { ran: false } at once; after ttl fn runs again', async () => {
    const clock = liveClock();
    const cache = sharedStore(kind, clock)();
    let runs = 0;
    expect(await cache.runOnce('init', () => void runs++, { ttl: 30 })).toEqual({ ran: true });
    const { ms, value } = await timed(cache.runOnce('init', () => void runs++, { ttl: 30 }));
    expect(value).toEqual({ ran: false });
    expect(ms).toBeLessThan(50);
    clock.advance(29_000);
    expect(await cache.runOnce('init', () => void runs++, { ttl: 30 })).toEqual({ ran: false });
    clock.advance(2_000);
    expect(await cache.runOnce('init', () => void runs++, { ttl: 30 })).toEqual({ ran: true });
    expect(runs).toBe(2);
  });

  it('fn throwing: the leader rejects with that error, no done flag, and a waiter runs fn next', async () => {
    const make = sharedStore(kind, liveClock());
    const leader = make();
    const waiter = make();
    const problem = new Error('migration failed');
    const leaderRan = deferred<void>();
    const leaderCall = leader.runOnce(
      'init',
      async () => {
        leaderRan.resolve();
        await sleep(100);
        throw problem;
      },
      { ttl: 5 },
    );
    await leaderRan.promise;
    let waiterRuns = 0;
    let leaderSettled = false;
    void leaderCall.catch(() => (leaderSettled = true));
    const waiterCall = waiter.runOnce(
      'init',
      () => {
        expect(leaderSettled).toBe(true);
        waiterRuns++;
      },
      { ttl: 5 },
    );
    expect(await rejection(leaderCall)).toBe(problem);
    expect(await waiterCall).toEqual({ ran: true });
    expect(waiterRuns).toBe(1);
    expect(await leader.runOnce('init', () => {}, { ttl: 5 })).toEqual({ ran: false });
  });

  it('fn throwing with nobody waiting: the next caller runs fn (no done flag was written)', async () => {
    const cache = sharedStore(kind, liveClock())();
    const problem = new TypeError('bad config');
    expect(
      await rejection(
        cache.runOnce(
          'init',
          () => {
            throw problem;
          },
          { ttl: 5 },
        ),
      ),
    ).toBe(problem);
    let runs = 0;
    expect(await cache.runOnce('init', () => void runs++, { ttl: 5 })).toEqual({ ran: true });
    expect(runs).toBe(1);
  });

  it('a caller whose wait runs out rejects with LockTimeoutError', async () => {
    const cache = sharedStore(kind, liveClock())();
    const gate = deferred<void>();
    const leader = cache.runOnce('init', () => gate.promise, { ttl: 5 });
    await sleep(20);
    const { ms, error } = await timed(cache.runOnce('init', () => {}, { ttl: 5, wait: '200ms' }));
    expect(error).toBeInstanceOf(LockTimeoutError);
    expect(ms).toBeGreaterThanOrEqual(190);
    expect(ms).toBeLessThan(200 + 300);
    gate.resolve();
    expect(await leader).toEqual({ ran: true });
  });

  it('renews the leader lock while fn runs longer than ttl', async () => {
    const cache = sharedStore(kind, liveClock())();
    let runs = 0;
    const leader = cache.runOnce(
      'slow',
      async () => {
        runs++;
        await sleep(900);
      },
      { ttl: 0.3 },
    );
    await sleep(20);
    const other = await cache.runOnce('slow', () => void runs++, { ttl: 0.3, wait: 3 });
    expect(await leader).toEqual({ ran: true });
    expect(other).toEqual({ ran: false });
    expect(runs).toBe(1);
  });
});

// ---- several processes on one disk directory ----------------------------------------------

const FIXTURES = join(import.meta.dirname, 'fixtures');

interface Child {
  /** Resolves when the process exits. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves when the process printed `line`. */
  line(line: string): Promise<number>;
  stdout(): string;
  stderr(): string;
  kill(): void;
}

function start(fixture: string, args: string[]): Child {
  const child = spawn(process.execPath, ['--import', 'tsx', join(FIXTURES, fixture), ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const waiting: Array<{ line: string; resolve: (at: number) => void }> = [];
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
    const lines = out.split('\n');
    for (const wait of waiting.splice(0)) {
      if (lines.includes(wait.line)) wait.resolve(Date.now());
      else waiting.push(wait);
    }
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const handle = { kill: () => void child.kill('SIGKILL') };
  running.add(handle);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => {
      running.delete(handle);
      resolve({ code, signal });
    }),
  );
  return {
    exited,
    line: (line) =>
      out.split('\n').includes(line)
        ? Promise.resolve(Date.now())
        : new Promise((resolve) => waiting.push({ line, resolve })),
    stdout: () => out,
    stderr: () => err,
    kill: handle.kill,
  };
}

/** The JSON result line a fixture printed last. */
function result<T>(child: Child): T {
  const lines = child.stdout().trim().split('\n');
  return JSON.parse(lines[lines.length - 1]!) as T;
}

interface LogLine {
  event: string;
  worker: number;
  at: number;
}

function readLog(file: string): LogLine[] {
  return readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [event = '', worker = '', at = ''] = line.split(' ');
      return { event, worker: Number(worker), at: Number(at) };
    });
}

describe('across processes on disk', () => {
  const WORKERS = 4;

  it('4 processes × 100 concurrent getOrSet(..., { lock: true }): the loader runs once in total', async () => {
    const directory = dirs.make();
    const barrier = dirs.make();
    const log = join(dirs.make(), 'loader.log');
    writeFileSync(log, '');
    const children = Array.from({ length: WORKERS }, (_, worker) =>
      start('resilience-lock-worker.ts', [
        directory,
        barrier,
        String(worker),
        String(WORKERS),
        '100',
        log,
      ]),
    );
    const exits = await Promise.all(children.map((child) => child.exited));
    const reports = children.map((child, i) => {
      expect(exits[i]!.code, child.stdout() + child.stderr()).toBe(0);
      return result<{ ok: boolean; values: string[] }>(child);
    });
    const calls = readFileSync(log, 'utf8').trim().split('\n').filter(Boolean);
    expect(calls).toHaveLength(1);
    // Everyone got the one loaded value.
    const values = new Set(reports.flatMap((report) => report.values));
    expect(values.size).toBe(1);
    const check = createCache({ backend: 'disk', location: directory });
    opened.push(check);
    expect(JSON.stringify(await check.get('shared-key'))).toBe([...values][0]);
  });

  it('runOnce across 4 processes: fn ran once, exactly one { ran: true }, all returned after it finished', async () => {
    const directory = dirs.make();
    const barrier = dirs.make();
    const log = join(dirs.make(), 'runonce.log');
    writeFileSync(log, '');
    const children = Array.from({ length: WORKERS }, (_, worker) =>
      start('resilience-runonce-worker.ts', [
        directory,
        barrier,
        String(worker),
        String(WORKERS),
        'app:init',
        'run',
        log,
        '30',
        '30',
      ]),
    );
    const exits = await Promise.all(children.map((child) => child.exited));
    const reports = children.map((child, i) => {
      expect(exits[i]!.code, child.stdout() + child.stderr()).toBe(0);
      return result<{ ok: boolean; ran: boolean; returnedAt: number }>(child);
    });
    const entries = readLog(log);
    expect(entries.filter((entry) => entry.event === 'start')).toHaveLength(1);
    const end = entries.find((entry) => entry.event === 'end');
    expect(end).toBeDefined();
    expect(reports.filter((report) => report.ran)).toHaveLength(1);
    expect(reports.find((report) => report.ran)).toBeDefined();
    for (const report of reports) expect(report.returnedAt).toBeGreaterThanOrEqual(end!.at);
  });

  it('a crashed leader (SIGKILL while holding the lock) is replaced within ttl', async () => {
    const TTL_S = 1;
    const directory = dirs.make();
    const log = join(dirs.make(), 'crash.log');
    writeFileSync(log, '');
    const args = (worker: number, mode: string, wait: number) => [
      directory,
      dirs.make(),
      String(worker),
      '1',
      'app:init',
      mode,
      log,
      String(TTL_S),
      String(wait),
    ];
    const leader = start('resilience-runonce-worker.ts', args(0, 'hang', 30));
    const leaderStarted = await leader.line('started');
    const follower = start('resilience-runonce-worker.ts', args(1, 'run', 30));
    await follower.line('calling');
    // Hold on past the lock's first lifetime: the leader's renewals must keep it.
    await sleep(Math.max(300, leaderStarted + 2 * TTL_S * 1000 - Date.now()));
    expect(readLog(log).filter((entry) => entry.event === 'start')).toHaveLength(1);
    const killedAt = Date.now();
    leader.kill();
    expect((await leader.exited).signal).toBe('SIGKILL');
    const exit = await follower.exited;
    expect(exit.code, follower.stdout() + follower.stderr()).toBe(0);
    expect(result<{ ran: boolean }>(follower).ran).toBe(true);
    const starts = readLog(log).filter((entry) => entry.event === 'start');
    expect(starts.map((entry) => entry.worker)).toEqual([0, 1]);
    const takeover = starts[1]!.at - killedAt;
    expect(takeover).toBeGreaterThanOrEqual(0);
    expect(takeover).toBeLessThan(TTL_S * 1000 + 500);
  });

  it('a leader whose fn throws: it rejects with that error, no done flag, and a waiting process runs fn', async () => {
    const directory = dirs.make();
    const log = join(dirs.make(), 'throw.log');
    writeFileSync(log, '');
    const args = (worker: number, mode: string) => [
      directory,
      dirs.make(),
      String(worker),
      '1',
      'app:init',
      mode,
      log,
      '10',
      '10',
    ];
    const leader = start('resilience-runonce-worker.ts', args(0, 'throw'));
    await leader.line('started');
    const waiter = start('resilience-runonce-worker.ts', args(1, 'run'));
    await waiter.line('calling');
    await sleep(200); // the waiter is polling for the lock or the done flag
    writeFileSync(`${log}.go`, '');
    const [leaderExit, waiterExit] = await Promise.all([leader.exited, waiter.exited]);
    expect(leaderExit.code).toBe(1);
    expect(result(leader)).toMatchObject({ ok: false, message: 'fn of worker 0 failed' });
    expect(waiterExit.code, waiter.stdout() + waiter.stderr()).toBe(0);
    expect(result(waiter)).toMatchObject({ ok: true, ran: true });
    expect(readLog(log).map((entry) => `${entry.event} ${entry.worker}`)).toEqual([
      'start 0',
      'start 1',
      'end 1',
    ]);
  });
});
