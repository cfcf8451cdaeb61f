/**
 * The chaos simulation (in the style of BentoCache's simulator): 4 processes with tiered caches on
 * one private redis-server do random reads, tagged writes and tag deletes on 8 keys for 20 s while
 * this process kills their bus connections, kills their L2 connections and pauses the server at
 * random. Afterwards every read is checked against the log of acknowledged writes and tag deletes
 * of all processes:
 *
 * a read that started at `t` is *stale* if it returned the value of a write W that had finished
 * before some other write to that key (or a delete of one of W's tags) started, which itself was
 * acknowledged before `t − bound`. `bound` is the documented worst case: `l1.timeout` (3 s here),
 * plus a margin for a loaded machine. Reads stale by more than 100 ms are counted and printed too.
 * A miss is never stale; a write that failed may or may not have been applied and is never used
 * as evidence.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@redis/client';
import { afterAll, expect, it } from 'vitest';
import { startFixture, killRunning } from './fixtures/resilience-processes.js';
import { probeRedis, startRedisServer, type RedisServer } from './fixtures/redis-servers.js';
import { describeWithService } from './support/services.js';

const PROCESSES = 4;
const KEYS = 8;
const DURATION_MS = 20_000;
/** The control run (no bus), which shows the audit can see staleness. */
const CONTROL_MS = 6_000;
const L1_TIMEOUT_MS = 3_000;
const BOUND_MS = L1_TIMEOUT_MS + 1_000;

type Entry =
  | { op: 'w'; key: number; value: string; start: number; end: number | null }
  | { op: 'd'; tag: string; start: number; end: number | null }
  | { op: 'r'; key: number; value: string | null; start: number; end: number };

interface Timed {
  readonly start: number;
  readonly end: number;
}

/** For events sorted by `end`: the largest `start` among those that ended before `t`. */
function latestStartBefore(
  sortedByEnd: readonly Timed[],
  prefixMaxStart: readonly number[],
  t: number,
) {
  let lo = 0;
  let hi = sortedByEnd.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sortedByEnd[mid]!.end < t) lo = mid + 1;
    else hi = mid;
  }
  return lo === 0 ? -Infinity : prefixMaxStart[lo - 1]!;
}

function index(events: Timed[]) {
  const sorted = [...events].sort((a, b) => a.end - b.end);
  const prefix: number[] = [];
  sorted.forEach((event, i) => prefix.push(Math.max(event.start, i ? prefix[i - 1]! : -Infinity)));
  return (t: number) => latestStartBefore(sorted, prefix, t);
}

/** Checks every read; returns how many were stale beyond `bound` ms and beyond 100 ms. */
function audit(entries: Entry[], bound: number) {
  const writeEnd = new Map<string, number>();
  const writesByKey = new Map<number, Timed[]>();
  const deletesByTag = new Map<string, Timed[]>();
  for (const entry of entries) {
    if (entry.op === 'w') {
      writeEnd.set(entry.value, entry.end ?? Infinity);
      if (entry.end !== null) {
        const list = writesByKey.get(entry.key) ?? [];
        list.push({ start: entry.start, end: entry.end });
        writesByKey.set(entry.key, list);
      }
    } else if (entry.op === 'd' && entry.end !== null) {
      const list = deletesByTag.get(entry.tag) ?? [];
      list.push({ start: entry.start, end: entry.end });
      deletesByTag.set(entry.tag, list);
    }
  }
  const writeIndex = new Map([...writesByKey].map(([key, list]) => [key, index(list)]));
  const deleteIndex = new Map([...deletesByTag].map(([tag, list]) => [tag, index(list)]));
  let beyondBound = 0;
  let beyond100ms = 0;
  let reads = 0;
  const examples: string[] = [];
  for (const entry of entries) {
    if (entry.op !== 'r' || entry.value === null) continue;
    reads++;
    const servedEnd = writeEnd.get(entry.value);
    if (servedEnd === undefined || servedEnd === Infinity) continue;
    const newer = (t: number) =>
      Math.max(
        writeIndex.get(entry.key)?.(t) ?? -Infinity,
        deleteIndex.get(`g${entry.key % 3}`)?.(t) ?? -Infinity,
      ) > servedEnd;
    if (newer(entry.start - bound)) {
      beyondBound++;
      if (examples.length < 5) examples.push(JSON.stringify(entry));
    }
    if (newer(entry.start - 100)) beyond100ms++;
  }
  return { reads, beyondBound, beyond100ms, examples };
}

const redisUnavailable = await probeRedis();

describeWithService('Redis', redisUnavailable, 'tiers chaos simulation', () => {
  let server: RedisServer | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'skycache-chaos-'));
  afterAll(async () => {
    killRunning();
    await server?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Runs the simulation for `durationMs` with `extra` config; returns the totals and the audit. */
  async function simulate(durationMs: number, extra: Record<string, unknown>, tag: string) {
    server ??= await startRedisServer();
    const config = {
      backend: 'redis',
      location: server.url,
      keyPrefix: `chaos-${randomBytes(4).toString('hex')}`,
      operationTimeout: '1s',
      circuitBreaker: { failures: 5, openFor: '300ms' },
      l1: { maxEntries: 100, timeout: `${L1_TIMEOUT_MS}ms` },
      ...extra,
    };
    const workers = Array.from({ length: PROCESSES }, (_, i) =>
      startFixture('tiers-chaos-worker.ts', [
        JSON.stringify(config),
        `w${i}`,
        String(durationMs),
        String(KEYS),
        join(dir, `${tag}-w${i}.json`),
      ]),
    );
    const admin = createClient({ url: server.url });
    admin.on('error', () => {});
    await admin.connect();
    const chaos = { busKills: 0, l2Kills: 0, pauses: 0 };
    const started = Date.now();
    // Let the workers start before the first interruption.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    while (Date.now() - started < durationMs - 1000) {
      await new Promise((resolve) => setTimeout(resolve, 300 + Math.random() * 900));
      const dice = Math.random();
      try {
        if (dice < 0.45) {
          await admin.sendCommand(['CLIENT', 'KILL', 'TYPE', 'pubsub']);
          chaos.busKills++;
        } else if (dice < 0.8) {
          await admin.sendCommand(['CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes']);
          chaos.l2Kills++;
        } else {
          await admin.sendCommand(['CLIENT', 'PAUSE', '300', 'ALL']);
          chaos.pauses++;
        }
      } catch {
        // the admin connection itself may be caught by a pause; try again next time
      }
    }
    for (const worker of workers) await worker.line('done');
    await admin.close();
    const logs = Array.from(
      { length: PROCESSES },
      (_, i) =>
        JSON.parse(readFileSync(join(dir, `${tag}-w${i}.json`), 'utf8')) as {
          counts: Record<string, number>;
          log: Entry[];
        },
    );
    const totals: Record<string, number> = {};
    for (const { counts } of logs) {
      for (const [name, count] of Object.entries(counts))
        totals[name] = (totals[name] ?? 0) + count;
    }
    const result = audit(
      logs.flatMap(({ log }) => log),
      BOUND_MS,
    );
    process.stdout.write(
      `[tiers chaos, ${tag}] ${JSON.stringify({ ...totals, ...chaos, checkedReads: result.reads, staleBeyond100ms: result.beyond100ms, staleBeyondBound: result.beyondBound })}\n`,
    );
    return { totals, chaos, result };
  }

  it(
    `${PROCESSES} processes, ${DURATION_MS / 1000} s, bus and L2 interrupted: no stale read beyond l1.timeout`,
    async () => {
      const { totals, chaos, result } = await simulate(DURATION_MS, {}, 'bus');
      expect(result.examples).toEqual([]);
      expect(result.beyondBound).toBe(0);
      // The simulation did exercise what it claims to.
      expect(totals.l1Hits).toBeGreaterThan(100);
      expect(totals.writes).toBeGreaterThan(100);
      expect(totals.tagDeletes).toBeGreaterThan(5);
      expect(chaos.busKills + chaos.l2Kills + chaos.pauses).toBeGreaterThan(5);
    },
    DURATION_MS + 60_000,
  );

  it(
    'control: without a bus the same audit does see stale reads (within l1.timeout)',
    async () => {
      const { result } = await simulate(CONTROL_MS, { bus: false }, 'control');
      expect(result.beyondBound).toBe(0);
      expect(result.beyond100ms).toBeGreaterThan(0);
    },
    CONTROL_MS + 60_000,
  );
});
