import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '..');
const child = join(root, 'test/fixtures/loaded-drivers.ts');

/** Paths of the heavy drivers, in file paths and file URLs alike. */
const DRIVERS: Record<string, RegExp> = {
  'better-sqlite3': /\/node_modules\/better-sqlite3\//,
  pg: /\/node_modules\/pg\//,
  '@redis/client': /\/node_modules\/@redis\//,
  redis: /\/node_modules\/redis\//,
};

interface Loaded {
  /** URLs resolved by the ES module loader. */
  resolved: string[];
  /** Paths in require.cache. */
  required: string[];
}

async function loadedModules(mode: string, ...args: string[]): Promise<Loaded> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', child, mode, ...args], {
    cwd: root,
    timeout: 15_000,
  });
  return JSON.parse(stdout.trim().split('\n').pop()!) as Loaded;
}

function driversIn(loaded: Loaded): string[] {
  const all = [...loaded.resolved, ...loaded.required];
  return Object.keys(DRIVERS).filter((name) => all.some((path) => DRIVERS[name]!.test(path)));
}

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('heavy drivers are loaded lazily', () => {
  it.concurrent(
    'importing skycache and using memory and dummy caches loads no driver',
    async () => {
      const loaded = await loadedModules('core');
      // The detection saw the modules that were loaded: skycache's own and msgpackr.
      expect(loaded.resolved.some((url) => url.endsWith('/src/index.ts'))).toBe(true);
      expect(loaded.resolved.some((url) => url.includes('/node_modules/msgpackr/'))).toBe(true);
      expect(driversIn(loaded)).toEqual([]);
    },
  );

  it.concurrent('control: importing better-sqlite3 is detected', async () => {
    const loaded = await loadedModules('control');
    expect(driversIn(loaded)).toEqual(['better-sqlite3']);
  });

  it.concurrent('control: making and using a disk cache loads better-sqlite3', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'skycache-lazy-'));
    dirs.push(dir);
    const loaded = await loadedModules('disk', dir);
    expect(driversIn(loaded)).toEqual(['better-sqlite3']);
  });
});
