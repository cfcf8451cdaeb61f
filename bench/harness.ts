/**
 * A thin benchmark runner on `process.hrtime.bigint()`.
 *
 * Method: every task of a group is warmed up, then the group runs `samples` rounds; in each round
 * every task runs for `sampleMs` in turn (round-robin, so machine drift hits all tasks alike).
 * Throughput is the median of the rounds' ops/s. Latency percentiles come from a separate pass that
 * times `latencyOps` operations one by one (for sync operations this includes the ~30 ns cost of
 * reading the clock). Results are printed as a table with the ratio to a baseline task.
 */
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
}

export interface TaskResult {
  readonly name: string;
  readonly opsPerSecond: number;
  /** Median latency in microseconds. */
  readonly p50us: number;
  /** 99th percentile latency in microseconds. */
  readonly p99us: number;
  /** `opsPerSecond / baseline opsPerSecond`. */
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

async function latencies(fn: () => unknown, count: number, concurrency: number): Promise<number[]> {
  const samples: number[] = [];
  const perWorker = Math.ceil(count / concurrency);
  const worker = async () => {
    for (let i = 0; i < perWorker; i++) {
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

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
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
    for (const task of tasks)
      rounds.get(task.name)!.push(await runFor(task.fn, sampleMs, concurrency));
  }
  const measured = [];
  for (const task of tasks) {
    const sorted = await latencies(task.fn, options.latencyOps ?? 20_000, concurrency);
    measured.push({
      name: task.name,
      opsPerSecond: median(rounds.get(task.name)!),
      p50us: percentile(sorted, 50),
      p99us: percentile(sorted, 99),
    });
  }
  const base = measured.find((result) => result.name === options.baseline)?.opsPerSecond ?? NaN;
  return measured.map((result) => ({ ...result, ratio: result.opsPerSecond / base }));
}

function formatOps(value: number): string {
  if (value >= 1e6) return `${(value / 1e6).toFixed(2)}M`;
  if (value >= 1e3) return `${(value / 1e3).toFixed(1)}k`;
  return value.toFixed(0);
}

/** Prints a Markdown table: task, ops/s, p50, p99, ratio to the baseline. */
export function printTable(title: string, results: readonly TaskResult[], baseline: string): void {
  console.log(`\n### ${title}\n`);
  console.log(`| task | ops/s | p50 µs | p99 µs | × ${baseline} |`);
  console.log('|---|---:|---:|---:|---:|');
  for (const result of results) {
    console.log(
      `| ${result.name} | ${formatOps(result.opsPerSecond)} | ${result.p50us.toFixed(2)} | ${result.p99us.toFixed(2)} | ${result.ratio.toFixed(2)} |`,
    );
  }
}

/** One line describing the machine, printed at the top of every report. */
export function machineLine(extra: string[] = []): string {
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  return [`${cpu}`, `${cpus().length} cores`, `Node ${process.version}`, ...extra].join(' · ');
}
