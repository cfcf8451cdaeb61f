/**
 * Several processes on one directory, and a writer killed in the middle: real processes, real
 * SQLite, no mocks.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, utimesSync, writeFileSync } from 'node:fs';
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

  it('4 processes × incrVersion of the same 300 entries at once: each moves exactly once, intact', async () => {
    const directory = fixtures.directory();
    const workers = 4;
    const count = 300;
    const setup = createCache({ backend, location: directory, timeout: null });
    const large = 'x'.repeat(40_000); // every 10th value lives in a file
    for (let i = 0; i < count; i++)
      await setup.set(`v${i}`, i % 10 === 0 ? { i, large } : { i }, { timeout: 600 });
    await setup.close();

    const runs = await Promise.all(
      Array.from({ length: workers }, (_, worker) =>
        start('disk-version-worker.ts', [
          directory,
          String(worker),
          String(workers),
          String(count),
        ]),
      ),
    );
    const moved = runs.flatMap((run) => {
      expect(run.code, run.stdout + run.stderr).toBe(0);
      const report = JSON.parse(run.stdout.trim()) as { ok: boolean; moved: number[] };
      expect(report.ok).toBe(true);
      return report.moved;
    });
    // Read-write-delete would let two processes both "move" one entry (and copy it to version 3).
    expect(moved.sort((a, b) => a - b)).toEqual(Array.from({ length: count }, (_, i) => i));

    const check = createCache({ backend, location: directory, timeout: null });
    try {
      for (let i = 0; i < count; i++) {
        expect(await check.get(`v${i}`)).toBeUndefined();
        expect(await check.get(`v${i}`, { version: 2 })).toEqual(
          i % 10 === 0 ? { i, large } : { i },
        );
        expect(await check.has(`v${i}`, { version: 3 })).toBe(false);
        expect(await check.ttl(`v${i}`, { version: 2 })).toBeGreaterThan(500);
      }
    } finally {
      await check.close();
    }
    expect(valueFiles(directory)).toHaveLength(count / 10);
    expect(integrityCheck(directory)).toBe('ok');
  }, 120_000);

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

  it('after kill -9 rounds, the sweep a store runs on opening removes orphaned value files and temp files', async () => {
    const directory = fixtures.directory();
    for (const delayMs of [40, 160]) {
      const run = await start('disk-crash-writer.ts', [directory], (line, kill) => {
        if (line === 'running') setTimeout(kill, delayMs);
      });
      expect(run.signal, run.stderr).toBe('SIGKILL');
    }
    // A kill leaves orphans only if it lands between a file's write and its row's commit, so a
    // round may leave none: add one of each kind it leaves, named as the store names them.
    const folder = join(directory, 'values', 'ab');
    mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, `${'c'.repeat(30)}.txt`), 'never committed');
    writeFileSync(join(folder, `${'d'.repeat(30)}.bin.4242.tmp`), 'cut short');
    writeFileSync(join(folder, 'notes.txt'), 'not named like a value file: never touched');

    // Ten minutes later (the grace period) and an hour after the last sweep (its interval):
    const tenMinutesAgo = (Date.now() - 11 * 60_000) / 1000;
    for (const file of valueFiles(directory)) {
      utimesSync(join(directory, 'values', file), tenMinutesAgo, tenMinutesAgo);
    }
    const db = new Database(join(directory, 'skycache.db'));
    db.prepare("UPDATE meta SET value = ? WHERE name = 'orphans_swept_at'").run(
      Date.now() - 2 * 60 * 60_000,
    );
    db.close();
    // A file written just now may belong to another process's uncommitted write: it stays.
    writeFileSync(join(folder, `${'e'.repeat(30)}.txt`), 'young');

    const store = fixtures.open(directory, { largeValueThreshold: 1024 });
    const referenced = store.client
      .prepare('SELECT file FROM entries WHERE file IS NOT NULL')
      .pluck()
      .all() as string[];
    expect(valueFiles(directory).sort()).toEqual(
      [...referenced, `ab/${'e'.repeat(30)}.txt`, 'ab/notes.txt'].sort(),
    );
    expect(valueFiles(directory).filter((file) => file.endsWith('.tmp'))).toEqual([]);
    expect(integrityCheck(directory)).toBe('ok');
  }, 60_000);
});
