/**
 * Several processes on one directory, and a writer killed in the middle: real processes, real
 * SQLite, no mocks.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';

import { createCache } from '../src/core/registry.js';
import { DiskFixtures, isIntactCrashValue, valueFiles } from './fixtures/disk-helpers.js';

const fixtures = new DiskFixtures();
afterEach(() => fixtures.cleanUp());

const FIXTURES = join(import.meta.dirname, 'fixtures');
const backend = 'disk';

interface Run {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Starts a fixture under tsx; `onLine` sees each stdout line as it comes. */
function start(fixture: string, args: string[], onLine?: (line: string, kill: () => void) => void) {
  const child = spawn(process.execPath, ['--import', 'tsx', join(FIXTURES, fixture), ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    if (onLine)
      for (const line of chunk.split('\n')) if (line) onLine(line, () => child.kill('SIGKILL'));
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise<Run>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
}

function integrityCheck(directory: string): string {
  const db = new Database(join(directory, 'skycache.db'));
  try {
    return db.pragma('integrity_check', { simple: true }) as string;
  } finally {
    db.close();
  }
}

describe('disk backend across processes', () => {
  it('4 processes × (500 incr of one counter + 500 sets): exact count, every key, no SQLITE_BUSY', async () => {
    // Nobody has opened it: the workers race to create the database, then to add the counter.
    const directory = fixtures.directory();
    const workers = 4;
    const count = 500;
    const runs = await Promise.all(
      Array.from({ length: workers }, (_, worker) =>
        start('disk-counter-worker.ts', [
          directory,
          String(worker),
          String(workers),
          String(count),
        ]),
      ),
    );
    const reports = runs.map((run) => {
      expect(run.stderr).not.toMatch(/SQLITE_BUSY|locked/);
      expect(run.code, run.stdout + run.stderr).toBe(0);
      return JSON.parse(run.stdout.trim()) as { ok: boolean; added: boolean };
    });
    expect(reports.every((report) => report.ok)).toBe(true);
    expect(reports.filter((report) => report.added)).toHaveLength(1);

    const check = createCache({ backend, location: directory, timeout: null });
    try {
      expect(await check.get('counter')).toBe(workers * count);
      const keys = Array.from({ length: workers }, (_, worker) =>
        Array.from({ length: count }, (_, i) => `w${worker}:${i}`),
      ).flat();
      const found = await check.getMany(keys);
      expect(found.size).toBe(workers * count);
      for (const [key, value] of found) {
        const [worker, i] = key.slice(1).split(':').map(Number);
        expect(value).toEqual({ worker, i });
      }
    } finally {
      await check.close();
    }
    expect(integrityCheck(directory)).toBe('ok');
  }, 60_000);

  it('a writer killed with SIGKILL mid-loop leaves a healthy directory and only intact values', async () => {
    const directory = fixtures.directory();
    // Three kills at different moments, on the same directory.
    for (const delayMs of [30, 120, 250]) {
      const run = await start('disk-crash-writer.ts', [directory], (line, kill) => {
        if (line === 'running') setTimeout(kill, delayMs);
      });
      expect(run.signal, run.stderr).toBe('SIGKILL');
    }

    expect(integrityCheck(directory)).toBe('ok');
    const store = fixtures.open(directory, { largeValueThreshold: 1024 });
    let readable = 0;
    for (let i = 0; i < 300; i++) {
      const key = `k${i}`;
      const value = store.get(key);
      if (value === undefined) continue;
      expect(isIntactCrashValue(key, value), key).toBe(true);
      readable++;
    }
    expect(readable).toBeGreaterThan(0);
    expect(String(store.get('counter'))).toMatch(/^\d+$/);

    // The totals the triggers keep agree with the rows.
    const db = store.client;
    const actual = db.prepare('SELECT count(*) AS count, total(size) AS size FROM entries').get();
    const { entries, bytes } = store.totals();
    expect({ count: entries, size: bytes }).toEqual(actual);

    // Every file row has its file; once orphans are swept, every file has its row.
    store.sweepOrphans(0);
    const referenced = (
      db.prepare('SELECT file FROM entries WHERE file IS NOT NULL').pluck().all() as string[]
    ).sort();
    expect(valueFiles(directory).sort()).toEqual(referenced);

    // And the store goes on working.
    store.set('after', 'x'.repeat(5000), null);
    expect(store.get('after')).toBe('x'.repeat(5000));
  }, 60_000);
});
