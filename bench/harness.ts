/**
 * A thin benchmark runner on `process.hrtime.bigint()`, and what every suite shares: the machine
 * line, the services' versions, and the record of printed tables that `bench/run.ts` saves.
 *
 * Method: every task of a group is warmed up, then the group runs `samples` rounds; in each round
 * every task runs for `sampleMs` in turn (round-robin, so machine drift hits all tasks alike), in
 * an order shuffled per round from a fixed seed ({@link roundOrder}): what one task leaves behind
 * (garbage, timers — node-redis's default per-command timeout leaves a 5 s timer per command) then
 * slows a different task each round instead of always the one after it.
 * Throughput is the median of the rounds' ops/s; the ratio to the baseline is the median of the
 * rounds' own ratios (each round's task against the same round's baseline, measured seconds
 * apart), so a slow drift of the machine's load cancels out of it. Latency percentiles come from a separate pass that
 * times `latencyOps` operations one by one (for sync operations this includes the ~30 ns cost of
 * reading the clock). Results are printed as a table with the ratio to a baseline task.
 */
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';

/** One thing to measure. `fn` may return a Promise; it is then awaited. */
export interface Task {
  readonly name: string;
  readonly fn: () => unknown;
}

export interface GroupOptions {
  /** Task name that ratios are computed against. */
  readonly baseline: string;
  /** Operations in flight at once (async tasks only). Default 1. */
  readonly concurrency?: number;
  /** Rounds. Default 5. */
  readonly samples?: number;
  /** Length of one task's turn in a round, in ms. Default 200. */
  readonly sampleMs?: number;
  /** Warm-up per task, in ms. Default 150. */
  readonly warmupMs?: number;
  /** Operations timed one by one for p50/p99. Default 20000. */
  readonly latencyOps?: number;
  /** Upper bound on the latency pass per task, in ms (slow operations time fewer). Default none. */
  readonly latencyMs?: number;
}

export interface TaskResult {
  readonly name: string;
  readonly opsPerSecond: number;
  /** Median latency in microseconds. */
  readonly p50us: number;
  /** 99th percentile latency in microseconds. */
  readonly p99us: number;
  /** Median over the rounds of this task's ops/s ÷ the baseline's ops/s in the same round. */
  readonly ratio: number;
}

const now = () => process.hrtime.bigint();

function isPromise(value: unknown): value is Promise<unknown> {
  return typeof (value as Promise<unknown> | null)?.then === 'function';
}

/** Runs `fn` for about `ms`, returning ops/s. Sync functions run in a tight loop. */
async function runFor(fn: () => unknown, ms: number, concurrency: number): Promise<number> {
  const deadline = now() + BigInt(Math.round(ms * 1e6));
  const start = now();
  let ops = 0;
  const first = fn();
  ops++;
  if (!isPromise(first)) {
    for (;;) {
      for (let i = 0; i < 256; i++) fn();
      ops += 256;
      if (now() >= deadline) break;
    }
  } else {
    await first;
    const worker = async () => {
      while (now() < deadline) {
        for (let i = 0; i < 16; i++) await fn();
        ops += 16;
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
  }
  return ops / (Number(now() - start) / 1e9);
}

async function latencies(
  fn: () => unknown,
  count: number,
  concurrency: number,
  limitMs: number,
): Promise<number[]> {
  const samples: number[] = [];
  const perWorker = Math.ceil(count / concurrency);
  const deadline = now() + BigInt(Math.round(Math.min(limitMs, 1e9) * 1e6));
  const worker = async () => {
    for (let i = 0; i < perWorker && (i < 2 || now() < deadline); i++) {
      const start = now();
      const result = fn();
      if (isPromise(result)) await result;
      samples.push(Number(now() - start) / 1000);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return samples.sort((a, b) => a - b);
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? NaN;
}

/** The middle value (the upper one of an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

/**
 * The order of `count` tasks in round `round`: a Fisher–Yates shuffle seeded by the round, the same
 * in every run (mulberry32).
 */
export function roundOrder(count: number, round: number): number[] {
  let seed = (round + 1) * 0x9e3779b9;
  const random = (): number => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const order = Array.from({ length: count }, (_, index) => index);
  for (let i = count - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}

/** Measures a group of tasks and returns their results (ratios against `options.baseline`). */
export async function runGroup(
  tasks: readonly Task[],
  options: GroupOptions,
): Promise<TaskResult[]> {
  const concurrency = options.concurrency ?? 1;
  const samples = options.samples ?? 5;
  const sampleMs = options.sampleMs ?? 200;
  for (const task of tasks) await runFor(task.fn, options.warmupMs ?? 150, concurrency);
  const rounds = new Map<string, number[]>(tasks.map((task) => [task.name, []]));
  for (let round = 0; round < samples; round++) {
    for (const index of roundOrder(tasks.length, round)) {
      const task = tasks[index]!;
      rounds.get(task.name)!.push(await runFor(task.fn, sampleMs, concurrency));
    }
  }
  const measured = [];
  for (const task of tasks) {
    const sorted = await latencies(
      task.fn,
      options.latencyOps ?? 20_000,
      concurrency,
      options.latencyMs ?? Infinity,
    );
    measured.push({
      name: task.name,
      opsPerSecond: median(rounds.get(task.name)!),
      p50us: percentile(sorted, 50),
      p99us: percentile(sorted, 99),
    });
  }
  const base = rounds.get(options.baseline);
  return measured.map((result) => ({
    ...result,
    ratio: base ? median(rounds.get(result.name)!.map((ops, round) => ops / base[round]!)) : NaN,
  }));
}

/** `12.3k`, `4.56M`: ops/s as the tables print them. */
export function formatOps(value: number): string {
  if (value >= 1e6) return `${(value / 1e6).toFixed(2)}M`;
  if (value >= 1e3) return `${(value / 1e3).toFixed(1)}k`;
  return value.toFixed(0);
}

/** Prints a Markdown table: task, ops/s, p50, p99, ratio to the baseline. */
export function printTable(title: string, results: readonly TaskResult[], baseline: string): void {
  record.tables.push({ title, baseline, results: results.map((result) => ({ ...result })) });
  console.log(`\n### ${title}\n`);
  console.log(`| task | ops/s | p50 µs | p99 µs | × ${baseline} |`);
  console.log('|---|---:|---:|---:|---:|');
  for (const result of results) {
    console.log(
      `| ${result.name} | ${formatOps(result.opsPerSecond)} | ${result.p50us.toFixed(2)} | ${result.p99us.toFixed(2)} | ${result.ratio.toFixed(2)} |`,
    );
  }
}

/** Prints any Markdown table (cells are printed as given); it is recorded like `printTable`'s. */
export function printMarkdownTable(
  title: string,
  header: readonly string[],
  rows: ReadonlyArray<readonly string[]>,
  align: ReadonlyArray<'left' | 'right'> = header.map((_, index) =>
    index === 0 ? 'left' : 'right',
  ),
): void {
  record.markdown.push({ title, header: [...header], rows: rows.map((row) => [...row]) });
  console.log(`\n### ${title}\n`);
  console.log(`| ${header.join(' | ')} |`);
  console.log(`|${align.map((side) => (side === 'left' ? '---' : '---:')).join('|')}|`);
  for (const row of rows) console.log(`| ${row.join(' | ')} |`);
}

// ---- what run.ts saves ------------------------------------------------------------------------

/** A table printed by `printTable`, with its numbers. */
export interface RecordedTable {
  readonly title: string;
  readonly baseline: string;
  readonly results: TaskResult[];
}

/** What a suite printed through the harness, and the raw data it chose to keep. */
export interface SuiteRecord {
  tables: RecordedTable[];
  markdown: Array<{ title: string; header: string[]; rows: string[][] }>;
  data: Record<string, unknown>;
}

const record: SuiteRecord = { tables: [], markdown: [], data: {} };

/** Keeps raw data (scaling points, loader counts…) for `bench/results/<suite>.json`. */
export function recordData(name: string, value: unknown): void {
  record.data[name] = value;
}

/** Everything recorded so far in this process. */
export function recorded(): SuiteRecord {
  return record;
}

// ---- the machine and its services ---------------------------------------------------------------

/** Where the suites find Redis and PostgreSQL (the same variables the suites read). */
export const SERVICE_URLS = {
  redis: process.env.SKYCACHE_BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/11',
  postgres: process.env.SKYCACHE_BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
};

/** A service's version when it answered, or why it did not. */
export type ServiceStatus = { version: string } | { unreachable: string };

export interface Services {
  readonly redis: ServiceStatus;
  readonly postgres: ServiceStatus;
  readonly sqlite: ServiceStatus;
}

/** Set by run.ts for its child processes, so every suite's machine line names the services. */
const SERVICES_ENV = 'SKYCACHE_BENCH_SERVICES';

const errorText = (error: unknown) => (error instanceof Error ? error.message : String(error));

async function probeRedis(url: string): Promise<ServiceStatus> {
  const { createClient } = await import('@redis/client');
  const client = createClient({
    url,
    socket: { connectTimeout: 2000, reconnectStrategy: false },
  });
  client.on('error', () => {});
  try {
    await client.connect();
    const info = await client.info('server');
    return { version: /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown' };
  } catch (error) {
    return { unreachable: errorText(error) || 'connection refused' };
  } finally {
    if (client.isOpen) client.destroy();
  }
}

async function probePostgres(url: string): Promise<ServiceStatus> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  client.on('error', () => {});
  try {
    await client.connect();
    const { rows } = await client.query<{ server_version: string }>('SHOW server_version');
    return { version: rows[0]?.server_version ?? 'unknown' };
  } catch (error) {
    return { unreachable: errorText(error) || 'connection refused' };
  } finally {
    await client.end().catch(() => {});
  }
}

async function probeSqlite(): Promise<ServiceStatus> {
  try {
    const { default: Database } = await import('better-sqlite3');
    const db = new Database(':memory:');
    const version = db.prepare('SELECT sqlite_version()').pluck().get() as string;
    db.close();
    return { version };
  } catch (error) {
    return { unreachable: errorText(error) };
  }
}

/** Asks each service for its version (2 s connect timeout each). */
export async function probeServices(): Promise<Services> {
  const [redis, postgres, sqlite] = await Promise.all([
    probeRedis(SERVICE_URLS.redis),
    probePostgres(SERVICE_URLS.postgres),
    probeSqlite(),
  ]);
  return { redis, postgres, sqlite };
}

/** Passes the probed services to child processes (read by `machineLine` and `knownServices`). */
export function servicesEnvironment(services: Services): Record<string, string> {
  return { [SERVICES_ENV]: JSON.stringify(services) };
}

/** The services run.ts probed, if this process was started by it. */
export function knownServices(): Services | undefined {
  const text = process.env[SERVICES_ENV];
  return text ? (JSON.parse(text) as Services) : undefined;
}

const SERVICE_NAMES: Record<keyof Services, string> = {
  redis: 'Redis',
  postgres: 'PostgreSQL',
  sqlite: 'SQLite',
};

/** `Redis 7.0.15`, … for each service that answered. */
export function serviceVersions(services: Services | undefined = knownServices()): string[] {
  if (!services) return [];
  return (Object.keys(SERVICE_NAMES) as Array<keyof Services>).flatMap((name) => {
    const status = services[name];
    return 'version' in status ? [`${SERVICE_NAMES[name]} ${status.version}`] : [];
  });
}

/** One line describing the machine, printed at the top of every report. */
export function machineLine(extra: string[] = []): string {
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  // A suite that names a service itself (with its address) keeps its own wording.
  const services = serviceVersions().filter(
    (service) => !extra.some((item) => item.startsWith(service.split(' ')[0]!)),
  );
  return [
    `${cpu}`,
    `${cpus().length} cores`,
    `Node ${process.version}`,
    ...services,
    ...extra,
  ].join(' · ');
}

/**
 * The installed version of a package, or `undefined`: bench/node_modules (the benchmark peers,
 * bench/package.json) first, then the project's own node_modules, as module resolution finds them.
 * `projectFirst` reverses the order, for a package a suite loads from the project on purpose.
 */
export function packageVersion(name: string, projectFirst = false): string | undefined {
  const roots = ['./node_modules/', '../node_modules/'];
  if (projectFirst) roots.reverse();
  for (const root of roots) {
    try {
      // Read directly: not every package exports its package.json.
      const file = new URL(`${root}${name}/package.json`, import.meta.url);
      return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
    } catch {
      // not installed there
    }
  }
  return undefined;
}
