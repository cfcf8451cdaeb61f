/**
 * The scenario matrix issue 7 asks of every backend: `get` hit, `get` miss, `set`, `getMany` and
 * `setMany` of 100, `getOrSet` hit; concurrency 1 and 100; values of 100 B, 1 KiB and 64 KiB.
 *
 * A suite describes its contenders (the raw client first: it is the baseline) through one small
 * interface; this file fills them with the same keys and values, runs each scenario as one harness
 * group (so the contenders take turns in the same rounds), and prints two tables: every
 * contender's ops/s, and the subject's (skycache's) ratio to each of them.
 *
 * Every contender is called through its async API (its methods return Promises), so concurrency
 * means the same thing for all: that many calls awaited at once. For `getMany`/`setMany`, one
 * operation is one batch of 100 keys.
 */
import {
  formatOps,
  printMarkdownTable,
  recordData,
  runGroup,
  type GroupOptions,
  type Task,
  type TaskResult,
} from './harness.js';

/** A cache as the matrix drives it. Methods return Promises (see the file comment). */
export interface Contender {
  get(key: string): Promise<unknown>;
  set(key: string, value: unknown): Promise<unknown>;
  getMany(keys: readonly string[]): Promise<unknown>;
  setMany(entries: ReadonlyArray<readonly [string, unknown]>): Promise<unknown>;
  getOrSet(key: string, loader: () => unknown): Promise<unknown>;
  close?(): Promise<unknown> | unknown;
}

/** How to open one contender, afresh for each value size. */
export interface ContenderSpec {
  readonly name: string;
  /** Said under the tables: how the contender does what it has no call for, its settings. */
  readonly note?: string;
  open(valueBytes: number): Promise<Contender> | Contender;
}

export type Scenario =
  'get hit' | 'get miss' | 'set' | 'getMany 100' | 'setMany 100' | 'getOrSet hit';

/** One row of the matrix. */
export interface MatrixCase {
  readonly scenario: Scenario;
  readonly valueBytes: number;
  readonly concurrency: number;
}

export interface MatrixOptions {
  /** The table heading, e.g. `memory: skycache against the raw client and peers`. */
  readonly title: string;
  /** The contender the ratios are about. */
  readonly subject: string;
  readonly cases: readonly MatrixCase[];
  /** Harness settings for every group (short by default: the matrix has many groups). */
  readonly group?: Partial<Omit<GroupOptions, 'baseline' | 'concurrency'>>;
}

/** Every scenario, in the order the tables list them. */
export const ALL_SCENARIOS: readonly Scenario[] = [
  'get hit',
  'get miss',
  'set',
  'getMany 100',
  'setMany 100',
  'getOrSet hit',
];

/** The cases for each size × scenario at one concurrency. */
export function grid(
  sizes: readonly number[],
  scenarios: readonly Scenario[],
  concurrency: number,
): MatrixCase[] {
  return sizes.flatMap((valueBytes) =>
    scenarios.map((scenario) => ({ scenario, valueBytes, concurrency })),
  );
}

const KEY_COUNT = 1000;
const BATCH = 100;
const KEYS = Array.from({ length: KEY_COUNT }, (_, i) => `user:${i}`);
const MISSING = Array.from({ length: KEY_COUNT }, (_, i) => `absent:${i}`);
const BATCHES = Array.from({ length: KEY_COUNT / BATCH }, (_, i) =>
  KEYS.slice(i * BATCH, (i + 1) * BATCH),
);

/** An object whose JSON is exactly `bytes` long (at least 18). */
export function sizedValue(bytes: number): { id: number; body: string } {
  return { id: 1, body: 'x'.repeat(Math.max(0, bytes - '{"id":1,"body":""}'.length)) };
}

/** `100 B`, `1 KiB`, `64 KiB`, `1 MiB`. */
export function formatBytes(bytes: number): string {
  if (bytes >= 1024 ** 2 && bytes % 1024 ** 2 === 0) return `${bytes / 1024 ** 2} MiB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} B`;
}

function scenarioTask(
  name: string,
  contender: Contender,
  scenario: Scenario,
  value: unknown,
): Task {
  let i = 0;
  const key = () => KEYS[(i = (i + 1) % KEY_COUNT)]!;
  const entriesByBatch = BATCHES.map((keys) => keys.map((k) => [k, value] as const));
  switch (scenario) {
    case 'get hit':
      return { name, fn: () => contender.get(key()) };
    case 'get miss':
      return { name, fn: () => contender.get(MISSING[(i = (i + 1) % KEY_COUNT)]!) };
    case 'set':
      return { name, fn: () => contender.set(key(), value) };
    case 'getMany 100':
      return { name, fn: () => contender.getMany(BATCHES[(i = (i + 1) % BATCHES.length)]!) };
    case 'setMany 100':
      return {
        name,
        fn: () => contender.setMany(entriesByBatch[(i = (i + 1) % BATCHES.length)]!),
      };
    case 'getOrSet hit': {
      const loader = () => value;
      return { name, fn: () => contender.getOrSet(key(), loader) };
    }
  }
}

/** The matrix's raw numbers, as kept in `bench/results/<suite>.json`. */
export interface MatrixRow extends MatrixCase {
  readonly results: TaskResult[];
}

/** Runs the cases against every contender and prints the two tables. */
export async function runMatrix(
  specs: readonly ContenderSpec[],
  options: MatrixOptions,
): Promise<MatrixRow[]> {
  const baseline = specs[0]!.name;
  const rows: MatrixRow[] = [];
  const sizes = [...new Set(options.cases.map((item) => item.valueBytes))];
  for (const valueBytes of sizes) {
    const value = sizedValue(valueBytes);
    const opened: Array<{ name: string; contender: Contender }> = [];
    try {
      for (const spec of specs) {
        const contender = await spec.open(valueBytes);
        opened.push({ name: spec.name, contender });
        for (const batch of BATCHES)
          await contender.setMany(batch.map((key) => [key, value] as const));
      }
      for (const item of options.cases.filter((each) => each.valueBytes === valueBytes)) {
        const tasks = opened.map(({ name, contender }) =>
          scenarioTask(name, contender, item.scenario, value),
        );
        const results = await runGroup(tasks, {
          // Many short rounds: a burst of load from another process then spoils one round of
          // each contender's, and the median sets it aside.
          samples: 9,
          sampleMs: 30,
          warmupMs: 30,
          latencyOps: 5000,
          latencyMs: 100,
          ...options.group,
          baseline,
          concurrency: item.concurrency,
        });
        rows.push({ ...item, results });
      }
    } finally {
      for (const { contender } of opened) await contender.close?.();
    }
  }
  printMatrix(specs, options, rows);
  recordData(options.title, rows);
  return rows;
}

function printMatrix(
  specs: readonly ContenderSpec[],
  options: MatrixOptions,
  rows: readonly MatrixRow[],
): void {
  const names = specs.map((spec) => spec.name);
  const others = names.filter((name) => name !== options.subject);
  const label = (row: MatrixRow) => [
    row.scenario,
    formatBytes(row.valueBytes),
    `${row.concurrency}`,
  ];
  const find = (row: MatrixRow, name: string) => row.results.find((result) => result.name === name);

  printMarkdownTable(
    `${options.title}: ops/s`,
    ['scenario', 'values', 'concurrency', ...names],
    rows.map((row) => [
      ...label(row),
      ...names.map((name) => formatOps(find(row, name)?.opsPerSecond ?? Number.NaN)),
    ]),
    ['left', 'left', 'right', ...names.map(() => 'right' as const)],
  );
  printMarkdownTable(
    `${options.title}: ${options.subject} ÷ each (above 1: ${options.subject} is faster)`,
    [
      'scenario',
      'values',
      'concurrency',
      `${options.subject} p50 µs`,
      `${options.subject} p99 µs`,
      ...others.map((name) => `÷ ${name}`),
    ],
    rows.map((row) => {
      const subject = find(row, options.subject);
      return [
        ...label(row),
        (subject?.p50us ?? Number.NaN).toFixed(2),
        (subject?.p99us ?? Number.NaN).toFixed(2),
        ...others.map((name) =>
          (
            (subject?.opsPerSecond ?? Number.NaN) / (find(row, name)?.opsPerSecond ?? Number.NaN)
          ).toFixed(2),
        ),
      ];
    }),
    ['left', 'left', 'right', 'right', 'right', ...others.map(() => 'right' as const)],
  );
  const notes = specs.filter((spec) => spec.note);
  if (notes.length > 0) {
    console.log('');
    for (const spec of notes) console.log(`- ${spec.name}: ${spec.note}`);
  }
}
