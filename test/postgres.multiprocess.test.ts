/**
 * Several processes on one table: real processes, a real server, no mocks. Each worker makes its
 * cache, reports `ready`, and starts when every worker has (a line on stdin), so they truly race.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { createCache } from '../src/core/registry.js';
import {
  adminPool,
  backend,
  dropTables,
  POSTGRES_URL,
  probePostgres,
} from './fixtures/postgres-helpers.js';
import { describeWithService } from './support/services.js';

const WORKER = join(import.meta.dirname, 'fixtures/postgres-worker.ts');
const COUNTER_TABLE = 'skycache_test_multiprocess';
const FRESH_TABLE = `skycache_test_fresh_${process.pid}`;

interface Outcome {
  readonly code: number | null;
  readonly result: { ok: boolean; [field: string]: unknown } | undefined;
  readonly stderr: string;
}

/** Starts `workers` workers with `args`, releases them together, and collects what they print. */
async function race(workers: number, args: string[]): Promise<Outcome[]> {
  let ready = 0;
  let release: () => void = () => {};
  const allReady = new Promise<void>((resolve) => (release = resolve));
  const children = Array.from({ length: workers }, () => {
    const child = spawn(process.execPath, ['--import', 'tsx', WORKER, ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      if (!stdout.includes('ready') && (stdout + chunk).includes('ready') && ++ready === workers)
        release();
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const done = new Promise<Outcome>((resolve) =>
      child.on('exit', (code) => {
        const last = stdout.trim().split('\n').pop() ?? '';
        let result: Outcome['result'];
        try {
          result = JSON.parse(last) as Outcome['result'];
        } catch {
          result = undefined;
        }
        resolve({ code, result, stderr });
      }),
    );
    return { child, done };
  });
  // A worker that dies before it is ready must not leave the others waiting.
  await Promise.race([allReady, Promise.all(children.map(({ done }) => done))]);
  for (const { child } of children) child.stdin.end('go\n');
  return Promise.all(children.map(({ done }) => done));
}

const unavailable = await probePostgres();

describeWithService('PostgreSQL', unavailable, 'postgres backend across processes', () => {
  const admin = adminPool();
  afterAll(async () => {
    await dropTables(admin, COUNTER_TABLE, FRESH_TABLE);
    await admin.end();
  });

  it('4 processes × 250 concurrent incr of one key: the exact total, no lost update', async () => {
    const cache = createCache({
      backend,
      location: POSTGRES_URL,
      options: { table: COUNTER_TABLE },
    });
    await cache.set('counter', 0, null);
    const outcomes = await race(4, ['incr', COUNTER_TABLE, 'counter', '250']);
    for (const outcome of outcomes) {
      expect(outcome.result, JSON.stringify(outcome.result) + outcome.stderr).toMatchObject({
        ok: true,
      });
      expect(outcome.code).toBe(0);
    }
    expect(await cache.get('counter')).toBe(1000);
    // Every increment saw a distinct value: the largest one each worker saw is at most the total.
    expect(Math.max(...outcomes.map((outcome) => outcome.result!.max as number))).toBe(1000);
    await cache.close();
  }, 60_000);

  it('8 processes starting at once on a table nobody has created: all succeed', async () => {
    await dropTables(admin, FRESH_TABLE);
    const outcomes = await race(8, ['start', FRESH_TABLE]);
    for (const outcome of outcomes) {
      expect(outcome.result, JSON.stringify(outcome.result) + outcome.stderr).toMatchObject({
        ok: true,
      });
      expect(outcome.code).toBe(0);
    }
    // Exactly one add won, and every incr counted.
    expect(outcomes.filter((outcome) => outcome.result!.added === true)).toHaveLength(1);
    expect(outcomes.map((outcome) => outcome.result!.counter).sort()).toEqual([
      1, 2, 3, 4, 5, 6, 7, 8,
    ]);
    const { rows } = await admin.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM "${FRESH_TABLE}" WHERE key LIKE ':1:pid:%'`,
    );
    expect(rows[0]!.n).toBe(8);
  }, 60_000);
});
