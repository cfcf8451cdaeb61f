/**
 * Failures of the disk backend: a damaged or foreign database file, a directory the process
 * cannot write, a full disk. Each is a BackendError whose message says what to do, and nothing
 * already stored is damaged.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, closeSync, openSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';

import { createCache } from '../src/core/registry.js';
import { silentLogger } from '../src/core/logger.js';
import { DiskFixtures, valueFiles } from './fixtures/disk-helpers.js';

const fixtures = new DiskFixtures();
afterEach(() => fixtures.cleanUp());

const backend = 'disk';

type ProbeResult = { ok: boolean; code?: string; message?: string };

/** Makes `directory` immutable (`chattr +i`); `false` where the filesystem does not support it. */
function immutable(directory: string): boolean {
  try {
    execFileSync('chattr', ['+i', directory], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Opens a store on `directory` and writes once; `restore` undoes the permission change. */
function probeInProcess(directory: string, restore: () => void): ProbeResult {
  try {
    fixtures.open(directory).set('probe', 'v', null);
    return { ok: true };
  } catch (error) {
    const { code, message } = error as { code: string; message: string };
    return { ok: false, code, message };
  } finally {
    restore();
  }
}

/** The same probe in a child process running as `nobody` (needs the checkout readable by it). */
function probeAsNobody(directory: string): ProbeResult {
  const output = execFileSync(
    process.execPath,
    ['--import', 'tsx', join(import.meta.dirname, 'fixtures', 'disk-open-probe.ts'), directory],
    { uid: 65534, gid: 65534, encoding: 'utf8' },
  );
  return JSON.parse(output.trim().split('\n').pop()!) as ProbeResult;
}

/** The error `call` throws (or `undefined`). */
function thrown(call: () => unknown): { code?: string; message: string } | undefined {
  try {
    call();
  } catch (error) {
    return error as { code?: string; message: string };
  }
  return undefined;
}

function integrityCheck(directory: string): string {
  const db = new Database(join(directory, 'skycache.db'));
  try {
    return db.pragma('integrity_check', { simple: true }) as string;
  } finally {
    db.close();
  }
}

describe('disk backend failures', () => {
  it('a file that is not a database: BackendError telling to delete it', async () => {
    const directory = fixtures.directory();
    writeFileSync(join(directory, 'skycache.db'), 'this is not an SQLite file'.repeat(200));
    const error = thrown(() => fixtures.open(directory));
    expect(error?.code).toBe('ERR_CACHE_BACKEND');
    expect(error?.message).toMatch(/skycache\.db is damaged or is not a skycache database/);
    expect(error?.message).toMatch(/delete it/);

    // Through the Cache, async and sync, the message arrives unchanged.
    const cache = createCache({ backend, location: directory, logger: silentLogger });
    await expect(cache.get('k')).rejects.toMatchObject({
      code: 'ERR_CACHE_BACKEND',
      message: expect.stringMatching(/damaged/),
    });
    expect(thrown(() => cache.getSync('k'))?.message).toMatch(/damaged/);
    await cache.close();
  });

  it('a database damaged inside: BackendError, not a crash or a wrong value', () => {
    const directory = fixtures.directory();
    const store = fixtures.open(directory);
    for (let i = 0; i < 2000; i++) store.set(`key${i}`, `value ${i} `.repeat(10), null);
    store.close();
    // Garbage over everything after the first page (the header and schema stay readable).
    const file = join(directory, 'skycache.db');
    const { size } = statSync(file);
    const fd = openSync(file, 'r+');
    writeSync(fd, Buffer.alloc(size - 4096, 0xa5), 0, size - 4096, 4096);
    closeSync(fd);

    let error: { code?: string; message: string } | undefined;
    try {
      const reopened = fixtures.open(directory);
      error = thrown(() => {
        for (let i = 0; i < 2000; i++) reopened.get(`key${i}`);
      });
    } catch (openError) {
      error = openError as { code?: string; message: string };
    }
    expect(error?.code).toBe('ERR_CACHE_BACKEND');
    expect(error?.message).toMatch(/damaged/);
  });

  it('a database from an incompatible layout version: BackendError', () => {
    const directory = fixtures.directory();
    fixtures.open(directory).close();
    const db = new Database(join(directory, 'skycache.db'));
    db.pragma('user_version = 99');
    db.close();
    const error = thrown(() => fixtures.open(directory));
    expect(error?.code).toBe('ERR_CACHE_BACKEND');
    expect(error?.message).toMatch(/layout version 99/);
  });

  it('a location that is a file: BackendError', () => {
    const file = join(fixtures.directory(), 'plain-file');
    writeFileSync(file, 'x');
    const error = thrown(() => fixtures.open(file));
    expect(error?.code).toBe('ERR_CACHE_BACKEND');
    expect(error?.message).toMatch(/plain-file cannot be used: part of that path is a file/);
  });

  it('a location where no directory can be made (/proc): BackendError at once, never a hang', async () => {
    // In a child process with a deadline: a hang blocks the event loop, so it could not be timed
    // out from inside.
    for (const location of ['/proc/skycache-test', '/proc/self/skycache/deeper']) {
      const started = Date.now();
      const output = execFileSync(
        process.execPath,
        ['--import', 'tsx', join(import.meta.dirname, 'fixtures', 'disk-open-probe.ts'), location],
        { encoding: 'utf8', timeout: 30_000 },
      );
      const result = JSON.parse(output.trim().split('\n').pop()!) as ProbeResult;
      expect(result).toMatchObject({ ok: false, code: 'ERR_CACHE_BACKEND' });
      expect(result.message).toMatch(/cannot be created \(ENOENT\).*point location at a directory/);
      expect(Date.now() - started).toBeLessThan(30_000);
    }
    // Now known not to hang: the same through the Cache API, async and sync.
    const cache = createCache({ backend, location: '/proc/skycache-test', logger: silentLogger });
    await expect(cache.get('k')).rejects.toMatchObject({ code: 'ERR_CACHE_BACKEND' });
    expect(thrown(() => cache.setSync('k', 1))?.code).toBe('ERR_CACHE_BACKEND');
    await cache.close();
  });

  it('a directory the process cannot write: BackendError about permissions', () => {
    const empty = fixtures.directory();
    const existing = fixtures.directory();
    fixtures.open(existing).close();
    for (const directory of [empty, existing]) chmodSync(directory, 0o755);
    for (const directory of [empty, existing]) {
      let result: ProbeResult;
      if (process.getuid?.() === 0) {
        // root writes anywhere: make the directory immutable (ext4 and most Linux filesystems),
        // or, where that is not supported, probe as another user.
        result = immutable(directory)
          ? probeInProcess(directory, () => execFileSync('chattr', ['-i', directory]))
          : probeAsNobody(directory);
      } else {
        chmodSync(directory, 0o555);
        result = probeInProcess(directory, () => chmodSync(directory, 0o755));
      }
      expect(result.ok, directory).toBe(false);
      expect(result.code).toBe('ERR_CACHE_BACKEND');
      expect(result.message).toMatch(/cannot write to .*fix the permissions/);
    }
  });

  it('a full disk (SQLITE_FULL): BackendError, nothing stored is lost, and it recovers', () => {
    const directory = fixtures.directory();
    const store = fixtures.open(directory, { largeValueThreshold: 1024 * 1024 });
    const before = Array.from({ length: 50 }, (_, i) => [`old${i}`, `value ${i}`] as const);
    store.setMany(before, null);
    const db = store.client;
    // The file may not grow by a single page any more.
    db.pragma(`max_page_count = ${db.pragma('page_count', { simple: true }) as number}`);

    const big = 'x'.repeat(100_000);
    const setError = thrown(() => store.set('new', big, null));
    expect(setError?.code).toBe('ERR_CACHE_BACKEND');
    expect(setError?.message).toMatch(/is full \(SQLITE_FULL\).*Free some space/);
    const batch = Array.from({ length: 20 }, (_, i) => [`batch${i}`, big] as const);
    expect(thrown(() => store.setMany(batch, null))?.message).toMatch(/full/);

    // Nothing half-written, nothing lost; reads keep working meanwhile.
    expect(store.get('new')).toBeUndefined();
    expect(store.getMany(batch.map(([key]) => key))).toEqual(batch.map(() => undefined));
    for (const [key, value] of before) expect(store.get(key)).toBe(value);
    expect(store.totals().entries).toBe(50);

    db.pragma('max_page_count = 1073741823');
    store.set('new', big, null);
    expect(store.get('new')).toBe(big);
    store.close();
    expect(integrityCheck(directory)).toBe('ok');
  });

  it('a value file that cannot be written: BackendError, and no row without its file', () => {
    const directory = fixtures.directory();
    const store = fixtures.open(directory, { largeValueThreshold: 1024 });
    store.set('small', 'v', null);
    // A file where the values folder should be.
    writeFileSync(join(directory, 'values'), 'in the way');
    const error = thrown(() => store.set('large', 'x'.repeat(5000), null));
    expect(error?.code).toBe('ERR_CACHE_BACKEND');
    expect(error?.message).toMatch(/values\/.. cannot be used: part of that path is a file/);
    expect(store.get('large')).toBeUndefined();
    expect(store.get('small')).toBe('v');
    expect(store.totals().entries).toBe(1);
  });

  it('a failed transaction leaves no new value file behind', () => {
    const directory = fixtures.directory();
    const store = fixtures.open(directory, { largeValueThreshold: 1024 });
    store.set('seed', 'v', null);
    const db = store.client;
    db.pragma(`max_page_count = ${db.pragma('page_count', { simple: true }) as number}`);
    // Enough rows that the table needs a new page, each with a value file.
    const batch = Array.from({ length: 200 }, (_, i) => [`f${i}`, 'y'.repeat(2000)] as const);
    expect(thrown(() => store.setMany(batch, null))?.message).toMatch(/full/);
    expect(valueFiles(directory)).toEqual([]);
  });
});
