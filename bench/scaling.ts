/**
 * Scaling curves: how the memory and disk backends' cost grows with the work, against their raw
 * baselines, as the number of keys grows (10³ → 10⁶ entries of 100 B) and as the value size grows
 * (100 B → 1 MiB). Each point has get and set ops/s and the bytes one entry costs: heap for memory,
 * disk for disk. The curves are drawn into `bench/results/scaling-*.svg`.
 *
 * Run: npm run bench -- scaling     (or: npx tsx bench/scaling.ts)
 *
 * Method:
 * - memory is measured in a child process started with `--expose-gc`: `heapUsed` after two full
 *   GCs before filling a store and after, divided by the entries. Keys are made while filling, so
 *   their strings count; the store is cleared before the next point.
 * - disk counts the allocated size of every file in the cache's directory (database, WAL after a
 *   checkpoint, value files), divided by the entries. The key-count curve grows one store
 *   10³ → 10⁴ → … and measures it at each step.
 * - ops/s: the harness (warm-up, 3 rounds of 100 ms, median) on keys visited in a scattered order,
 *   `get` hits and `set` overwrites, through the synchronous API on both sides.
 * - as values grow, fewer entries are stored (64 MiB in all, from 64 to 1,000 entries).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { LRUCache } from 'lru-cache';
import { silentLogger } from '../src/core/logger.js';
import { createCache } from '../src/index.js';
import { formatRate, renderChart, type Panel, type Series } from './charts.js';
import { formatOps, machineLine, printMarkdownTable, recordData, runGroup } from './harness.js';
import { formatBytes } from './scenarios.js';

const KEY_COUNTS = [1e3, 1e4, 1e5, 1e6];
const KEYS_VALUE_BYTES = 100;
const VALUE_SIZES = [100, 1024, 10 * 1024, 100 * 1024, 1024 * 1024];
const VALUES_TOTAL_BYTES = 64 * 1024 * 1024;
/** Visiting keys 7,919 apart (a prime) spreads the accesses over the whole store. */
const STRIDE = 7919;
const MEMORY_ROLE = 'SKYCACHE_BENCH_SCALING_MEMORY';
export const RESULTS_DIRECTORY = fileURLToPath(new URL('./results/', import.meta.url));

type Dimension = 'keys' | 'valueBytes';

/** One measured point of one curve. */
interface Point {
  backend: 'memory' | 'disk';
  library: string;
  dimension: Dimension;
  entries: number;
  valueBytes: number;
  getOps: number;
  setOps: number;
  bytesPerEntry: number;
}

/** A store as the curves drive it: synchronous get and set of JSON-able values. */
interface SyncStore {
  get(key: string): unknown;
  set(key: string, value: unknown): void;
  close(): void;
}

const entriesForValue = (valueBytes: number) =>
  Math.max(64, Math.min(1000, Math.floor(VALUES_TOTAL_BYTES / valueBytes)));

/** A string whose JSON is `bytes` long. */
const valueOf = (bytes: number) => 'x'.repeat(bytes - 2);

const keyOf = (i: number) => `key:${i}`;

/** get and set ops/s over `entries` keys. */
async function throughput(store: SyncStore, entries: number, value: unknown) {
  const keys = Array.from({ length: entries }, (_, i) => keyOf(i));
  let g = 0;
  let s = 0;
  const results = await runGroup(
    [
      { name: 'get', fn: () => store.get(keys[(g = (g + STRIDE) % entries)]!) },
      { name: 'set', fn: () => store.set(keys[(s = (s + STRIDE) % entries)]!, value) },
    ],
    { baseline: 'get', samples: 3, sampleMs: 100, warmupMs: 50, latencyOps: 0 },
  );
  return { getOps: results[0]!.opsPerSecond, setOps: results[1]!.opsPerSecond };
}

// ---- memory (in a child process with --expose-gc) ----------------------------------------------

const MEMORY_LIBRARIES: Record<string, (entries: number, id: string) => SyncStore> = {
  skycache: (entries, id) => {
    const cache = createCache({
      backend: 'memory',
      location: `bench-scaling-${id}`,
      options: { maxEntries: entries },
      timeout: null,
    });
    return {
      get: (key) => cache.getSync(key),
      set: (key, value) => cache.setSync(key, value),
      close: () => {
        // Memory stores outlive their caches (shared by location): empty it for the next point.
        cache.clearSync();
        void cache.close();
      },
    };
  },
  'raw lru-cache + JSON': (entries) => {
    const lru = new LRUCache<string, string>({ max: entries });
    return {
      get: (key) => {
        const text = lru.get(key);
        return text === undefined ? undefined : (JSON.parse(text) as unknown);
      },
      set: (key, value) => void lru.set(key, JSON.stringify(value)),
      close: () => lru.clear(),
    };
  },
};

function heapAfterGc(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('the memory curves need node --expose-gc');
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

async function measureMemoryPoint(
  library: string,
  dimension: Dimension,
  entries: number,
  valueBytes: number,
): Promise<Point> {
  const value = valueOf(valueBytes);
  const before = heapAfterGc();
  const store = MEMORY_LIBRARIES[library]!(entries, `${dimension}-${entries}-${valueBytes}`);
  for (let i = 0; i < entries; i++) store.set(keyOf(i), value);
  const bytesPerEntry = (heapAfterGc() - before) / entries;
  const { getOps, setOps } = await throughput(store, entries, value);
  store.close();
  return {
    backend: 'memory',
    library,
    dimension,
    entries,
    valueBytes,
    getOps,
    setOps,
    bytesPerEntry,
  };
}

/** The memory curves, in this process (which must have been started with --expose-gc). */
async function memoryCurves(): Promise<Point[]> {
  const points: Point[] = [];
  // A first, discarded point per library: one-time allocations (compiled code, module state)
  // would otherwise be charged to the first point's entries.
  for (const library of Object.keys(MEMORY_LIBRARIES))
    await measureMemoryPoint(library, 'keys', KEY_COUNTS[0]!, KEYS_VALUE_BYTES);
  // Libraries alternate at each point, so drift of the machine hits both alike.
  for (const entries of KEY_COUNTS)
    for (const library of Object.keys(MEMORY_LIBRARIES))
      points.push(await measureMemoryPoint(library, 'keys', entries, KEYS_VALUE_BYTES));
  for (const valueBytes of VALUE_SIZES)
    for (const library of Object.keys(MEMORY_LIBRARIES))
      points.push(
        await measureMemoryPoint(library, 'valueBytes', entriesForValue(valueBytes), valueBytes),
      );
  return points;
}

/** Runs `memoryCurves` in a child process started with `--expose-gc`. */
function memoryCurvesInChild(): Promise<Point[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--expose-gc', '--import', 'tsx', fileURLToPath(import.meta.url)],
      {
        env: { ...process.env, [MEMORY_ROLE]: '1' },
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      },
    );
    let points: Point[] | undefined;
    child.on('message', (message: Point[]) => (points = message));
    child.on('error', reject);
    child.on('exit', (code) =>
      points ? resolve(points) : reject(new Error(`memory curves child exited with ${code}`)),
    );
  });
}

// ---- disk ---------------------------------------------------------------------------------------

/** Allocated bytes of every file under `directory`. */
function diskUsage(directory: string): number {
  let total = 0;
  for (const entry of readdirSync(directory, { withFileTypes: true })) {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) total += diskUsage(path);
    else if (entry.isFile()) total += statSync(path).blocks * 512;
  }
  return total;
}

/** Folds the WAL back into the database, so the directory's size is the data's. */
function checkpoint(databaseFile: string): void {
  const db = new Database(databaseFile);
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
}

interface DiskStore extends SyncStore {
  readonly databaseFile: string;
  setMany(entries: ReadonlyArray<readonly [string, unknown]>): void;
}

const DISK_LIBRARIES: Record<string, (directory: string) => DiskStore> = {
  skycache: (directory) => {
    const cache = createCache({
      backend: 'disk',
      location: directory,
      timeout: null,
      logger: silentLogger,
    });
    return {
      databaseFile: join(directory, 'skycache.db'),
      get: (key) => cache.getSync(key),
      set: (key, value) => cache.setSync(key, value),
      setMany: (entries) => void cache.setManySync(entries),
      close: () => void cache.close(),
    };
  },
  'raw better-sqlite3, minimal kv table': (directory) => {
    const databaseFile = join(directory, 'kv.db');
    const db = new Database(databaseFile);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    // The same table as bench/disk.ts's minimal one (a rowid table: WITHOUT ROWID would push
    // values of a few KiB into overflow pages).
    db.exec('CREATE TABLE kv (key TEXT PRIMARY KEY, value BLOB)');
    const select = db.prepare('SELECT value FROM kv WHERE key = ?').pluck();
    // An upsert updates the row in place; INSERT OR REPLACE would delete and reinsert it (~6×
    // slower here).
    const replace = db.prepare(
      'INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
    );
    const many = db.transaction((entries: ReadonlyArray<readonly [string, unknown]>) => {
      for (const [key, value] of entries) replace.run(key, JSON.stringify(value));
    });
    return {
      databaseFile,
      get: (key) => {
        const text = select.get(key) as string | undefined;
        return text === undefined ? undefined : (JSON.parse(text) as unknown);
      },
      set: (key, value) => void replace.run(key, JSON.stringify(value)),
      setMany: (entries) => many(entries),
      close: () => db.close(),
    };
  },
};

/** Fills keys [from, to) in batches of 1,000. */
function fill(store: DiskStore, from: number, to: number, value: unknown): void {
  for (let start = from; start < to; start += 1000) {
    const batch = [];
    for (let i = start; i < Math.min(to, start + 1000); i++) batch.push([keyOf(i), value] as const);
    store.setMany(batch);
  }
}

async function diskPoint(
  store: DiskStore,
  directory: string,
  library: string,
  dimension: Dimension,
  entries: number,
  valueBytes: number,
  value: unknown,
): Promise<Point> {
  checkpoint(store.databaseFile);
  const bytesPerEntry = diskUsage(directory) / entries;
  const { getOps, setOps } = await throughput(store, entries, value);
  return {
    backend: 'disk',
    library,
    dimension,
    entries,
    valueBytes,
    getOps,
    setOps,
    bytesPerEntry,
  };
}

async function diskCurves(): Promise<Point[]> {
  const root = mkdtempSync(join(tmpdir(), 'skycache-bench-scaling-'));
  const points: Point[] = [];
  let count = 0;
  const fresh = () => {
    const directory = join(root, String(count++));
    mkdirSync(directory);
    return directory;
  };
  try {
    // The key-count curve: one store per library, grown step by step.
    const value = valueOf(KEYS_VALUE_BYTES);
    const grown = Object.entries(DISK_LIBRARIES).map(([library, open]) => {
      const directory = fresh();
      return { library, directory, store: open(directory), filled: 0 };
    });
    for (const entries of KEY_COUNTS) {
      for (const item of grown) {
        fill(item.store, item.filled, entries, value);
        item.filled = entries;
        points.push(
          await diskPoint(
            item.store,
            item.directory,
            item.library,
            'keys',
            entries,
            KEYS_VALUE_BYTES,
            value,
          ),
        );
      }
    }
    for (const item of grown) {
      item.store.close();
      rmSync(item.directory, { recursive: true, force: true });
    }
    // The value-size curve: a fresh store per size.
    for (const valueBytes of VALUE_SIZES) {
      const entries = entriesForValue(valueBytes);
      const sized = valueOf(valueBytes);
      for (const [library, open] of Object.entries(DISK_LIBRARIES)) {
        const directory = fresh();
        const store = open(directory);
        fill(store, 0, entries, sized);
        points.push(
          await diskPoint(store, directory, library, 'valueBytes', entries, valueBytes, sized),
        );
        store.close();
        rmSync(directory, { recursive: true, force: true });
      }
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  return points;
}

// ---- tables and charts --------------------------------------------------------------------------

const COLORS: Record<string, string> = {
  skycache: '#2563eb',
  'raw lru-cache + JSON': '#6b7280',
  'raw better-sqlite3, minimal kv table': '#6b7280',
};

const formatCount = (value: number) =>
  value >= 1e6 ? `${value / 1e6}M` : value >= 1e3 ? `${value / 1e3}k` : `${value}`;

const formatSize = (bytes: number) => {
  if (bytes >= 1024 ** 2) return `${+(bytes / 1024 ** 2).toFixed(1)} MiB`;
  if (bytes >= 1024) return `${+(bytes / 1024).toFixed(1)} KiB`;
  return `${+bytes.toFixed(0)} B`;
};

function printCurve(backend: Point['backend'], dimension: Dimension, points: Point[]): void {
  const libraries = [...new Set(points.map((point) => point.library))];
  const xs = [
    ...new Set(points.map((point) => (dimension === 'keys' ? point.entries : point.valueBytes))),
  ];
  const at = (library: string, x: number) =>
    points.find(
      (point) =>
        point.library === library &&
        (dimension === 'keys' ? point.entries : point.valueBytes) === x,
    );
  const unit = backend === 'memory' ? 'heap B/entry' : 'disk B/entry';
  printMarkdownTable(
    dimension === 'keys'
      ? `${backend}: as keys grow (${KEYS_VALUE_BYTES} B values)`
      : `${backend}: as values grow (64 MiB of values in all, 64–1,000 entries)`,
    [
      dimension === 'keys' ? 'keys' : 'value size',
      ...(dimension === 'keys' ? [] : ['entries']),
      ...libraries.flatMap((library) => [
        `${library} get/s`,
        `${library} set/s`,
        `${library} ${unit}`,
      ]),
    ],
    xs.map((x) => [
      dimension === 'keys' ? formatCount(x) : formatBytes(x),
      ...(dimension === 'keys' ? [] : [`${at(libraries[0]!, x)?.entries ?? ''}`]),
      ...libraries.flatMap((library) => {
        const point = at(library, x);
        return point
          ? [formatOps(point.getOps), formatOps(point.setOps), point.bytesPerEntry.toFixed(0)]
          : ['', '', ''];
      }),
    ]),
  );
}

function chartFor(backend: Point['backend'], dimension: Dimension, points: Point[]): string {
  const libraries = [...new Set(points.map((point) => point.library))];
  const x = (point: Point) => (dimension === 'keys' ? point.entries : point.valueBytes);
  const line = (
    library: string,
    name: string,
    y: (point: Point) => number,
    dashed = false,
  ): Series => ({
    name,
    color: COLORS[library] ?? '#dc2626',
    dashed,
    points: points
      .filter((point) => point.library === library)
      .map((point) => [x(point), y(point)] as const)
      .sort((a, b) => a[0] - b[0]),
  });
  const xLabel =
    dimension === 'keys' ? `entries (${KEYS_VALUE_BYTES} B values)` : 'value size (JSON bytes)';
  const formatX = dimension === 'keys' ? formatCount : formatSize;
  const panels: Panel[] = [
    {
      title: 'throughput (higher is better)',
      xLabel,
      yLabel: 'ops/s',
      xLog: true,
      yLog: dimension === 'valueBytes',
      formatX,
      formatY: formatRate,
      series: libraries.flatMap((library) => [
        line(library, `${library} get`, (point) => point.getOps),
        line(library, `${library} set`, (point) => point.setOps, true),
      ]),
    },
    {
      title: `${backend === 'memory' ? 'heap' : 'disk'} per entry (lower is better)`,
      xLabel,
      yLabel: 'bytes per entry',
      // Decimal steps (100, 1k, 10k…) on a log axis read better than 97.7 KiB, 976.6 KiB.
      xLog: true,
      yLog: dimension === 'valueBytes',
      formatX,
      formatY: dimension === 'keys' ? formatSize : formatRate,
      series: libraries.map((library) => line(library, library, (point) => point.bytesPerEntry)),
    },
  ];
  return renderChart(
    `${backend} backend: ${dimension === 'keys' ? 'as the number of keys grows' : 'as the value size grows'}`,
    panels,
  );
}

/** Measures both backends' curves, prints their tables and writes the charts. */
export async function benchScaling(): Promise<void> {
  console.log(`\n## scaling curves: memory and disk\n\n${machineLine()}`);
  const points = [...(await memoryCurvesInChild()), ...(await diskCurves())];
  mkdirSync(RESULTS_DIRECTORY, { recursive: true });
  const charts: string[] = [];
  for (const backend of ['memory', 'disk'] as const) {
    for (const dimension of ['keys', 'valueBytes'] as const) {
      const curve = points.filter(
        (point) => point.backend === backend && point.dimension === dimension,
      );
      printCurve(backend, dimension, curve);
      const file = `scaling-${backend}-${dimension === 'keys' ? 'keys' : 'values'}.svg`;
      writeFileSync(join(RESULTS_DIRECTORY, file), chartFor(backend, dimension, curve));
      charts.push(file);
    }
  }
  console.log(`\nCharts: ${charts.map((file) => `bench/results/${file}`).join(', ')}`);
  recordData('scaling', { points, charts });
}

if (process.env[MEMORY_ROLE] === '1') {
  process.send!(await memoryCurves());
  process.disconnect();
} else if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await benchScaling();
}
