/**
 * The stampede scenario: many concurrent `getOrSet` calls for one cold key, from 1 process and from
 * 4 processes sharing a store, and how many times each library calls the loader. The ideal is 1:
 * every other caller waits for that one load and is served its value.
 *
 * Run: npm run bench -- stampede     (or: npx tsx bench/stampede.ts)
 *
 * Method: the runner starts 4 worker processes (`node --import tsx bench/stampede.ts` with a role
 * variable) and keeps them for the whole suite. For each contender, every worker opens it on the
 * shared store, then all workers are given one start time; at that time each fires
 * `CALLS_PER_PROCESS` calls for the same fresh key at once. The loader sleeps `LOADER_MS` (a slow
 * query) and returns a value unique to that load, so the table can also say how many different
 * values the callers were served. Each contender runs `TRIALS` times with a new key.
 *
 * Contenders whose store is not reachable, or whose backend this version of skycache does not
 * register, are listed as skipped.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { builtinBackends } from '../src/backends/index.js';
import { createCache, type Logger } from '../src/index.js';
import {
  knownServices,
  machineLine,
  printMarkdownTable,
  probeServices,
  recordData,
  SERVICE_URLS,
  type Services,
} from './harness.js';

const CALLS_PER_PROCESS = 100;
const LOADER_MS = 50;
const TRIALS = 3;
const WORKERS = 4;
/** Entries written here expire on their own, so an interrupted run leaves nothing for long. */
const TTL_SECONDS = 60;
/** A call still pending after this counts as hung (BentoCache's file driver can hang across processes). */
const CALL_TIMEOUT_MS = 3000;
/** Time between telling the workers the start time and that time. */
const START_MARGIN_MS = 150;
const WORKER_ROLE = 'SKYCACHE_BENCH_STAMPEDE_WORKER';
const POSTGRES_TABLE = 'skycache_bench_stampede';

/** What every worker needs to open a contender on the same store. */
interface StampedeContext {
  readonly directory: string;
  readonly redisUrl: string;
  readonly postgresUrl: string;
  /** Unique per run: key prefixes and namespaces, so runs never share entries. */
  readonly runId: string;
}

interface OpenedContender {
  getOrSet(key: string, loader: () => Promise<unknown>): Promise<unknown>;
  close(): Promise<unknown>;
}

interface StampedeContender {
  readonly library: string;
  readonly store: string;
  /** How the contender was asked to protect the load: its option, or what it does by default. */
  readonly protection: string;
  readonly processes: readonly number[];
  /** Why it cannot run here, if it cannot. */
  unavailable?(services: Services): string | undefined;
  open(context: StampedeContext): Promise<OpenedContender>;
}

/**
 * What skycache reported during a trial. getOrSet never fails on a backend error (it returns the
 * loader's value and reports the failure), so the reports are how such a fallback shows.
 */
const reported: string[] = [];
const report = (object: Record<string, unknown>, message?: string) => {
  const error = object.err instanceof Error ? `: ${object.err.message}` : '';
  reported.push(`${message ?? 'warning'}${error}`);
};
const reportingLogger: Logger = { warn: report, error: report, debug: () => {} };

const needsRedis = (services: Services) =>
  'unreachable' in services.redis ? `Redis unreachable (${services.redis.unreachable})` : undefined;

const needsBackend = (name: 'redis' | 'postgres') => (services: Services) => {
  if (!(name in builtinBackends))
    return `the ${name} backend is not registered in src/backends/index.ts`;
  const status = services[name];
  return 'unreachable' in status ? `${name} unreachable (${status.unreachable})` : undefined;
};

function skycache(config: Parameters<typeof createCache>[0], lock: boolean): OpenedContender {
  const cache = createCache(config);
  return {
    getOrSet: (key, loader) => cache.getOrSet(key, loader, { timeout: TTL_SECONDS, lock }),
    close: () => cache.close(),
  };
}

function skycacheContenders(
  store: 'disk' | 'redis' | 'postgres',
  config: (context: StampedeContext) => Parameters<typeof createCache>[0],
  unavailable?: (services: Services) => string | undefined,
): StampedeContender[] {
  return [false, true].map((lock) => ({
    library: 'skycache',
    store,
    protection: lock ? '`lock: true`' : 'in-process single flight (default)',
    processes: [1, WORKERS],
    ...(unavailable ? { unavailable } : {}),
    open: async (context) => skycache(config(context), lock),
  }));
}

async function bentoCache(stores: 'memory' | 'file' | 'redis', context: StampedeContext) {
  const { BentoCache, bentostore } = await import('bentocache');
  let store;
  if (stores === 'memory') {
    const { memoryDriver } = await import('bentocache/drivers/memory');
    store = bentostore().useL1Layer(memoryDriver({ maxItems: 10_000 }));
  } else if (stores === 'file') {
    const { fileDriver } = await import('bentocache/drivers/file');
    store = bentostore().useL2Layer(fileDriver({ directory: join(context.directory, 'bento') }));
  } else {
    const { memoryDriver } = await import('bentocache/drivers/memory');
    const { redisDriver, redisBusDriver } = await import('bentocache/drivers/redis');
    const { hostname, port, pathname } = new URL(context.redisUrl);
    const connection = {
      host: hostname,
      port: Number(port || 6379),
      db: Number(pathname.slice(1) || 0),
    };
    store = bentostore()
      .useL1Layer(memoryDriver({ maxItems: 10_000 }))
      .useL2Layer(redisDriver({ connection, prefix: `bench-stampede-bento-${context.runId}` }))
      .useBus(redisBusDriver({ connection }));
  }
  const bento = new BentoCache({ default: 'store', stores: { store } });
  return {
    getOrSet: (key: string, loader: () => Promise<unknown>) =>
      bento.getOrSet({ key, factory: loader, ttl: TTL_SECONDS * 1000 }),
    close: () => bento.disconnectAll(),
  };
}

async function cacheManager(store: 'memory' | 'redis', context: StampedeContext) {
  const { createCache: createCacheManager } = await import('cache-manager');
  const { Keyv } = await import('keyv');
  let keyv;
  if (store === 'memory') keyv = new Keyv();
  else {
    const { default: KeyvRedis } = await import('@keyv/redis');
    keyv = new Keyv({
      store: new KeyvRedis(context.redisUrl),
      namespace: `bench-stampede-cm-${context.runId}`,
    });
  }
  const manager = createCacheManager({ stores: [keyv] });
  return {
    getOrSet: (key: string, loader: () => Promise<unknown>) =>
      manager.wrap(key, loader, TTL_SECONDS * 1000),
    close: () => manager.disconnect(),
  };
}

const CONTENDERS: readonly StampedeContender[] = [
  {
    library: 'skycache',
    store: 'memory',
    protection: 'in-process single flight (default)',
    processes: [1],
    open: async () =>
      skycache({ backend: 'memory', location: 'bench-stampede', logger: reportingLogger }, false),
  },
  ...skycacheContenders('disk', (context) => ({
    backend: 'disk',
    location: join(context.directory, 'skycache'),
    logger: reportingLogger,
  })),
  ...skycacheContenders(
    'redis',
    (context) => ({
      backend: 'redis',
      location: context.redisUrl,
      keyPrefix: `bench-stampede-${context.runId}`,
      logger: reportingLogger,
    }),
    needsBackend('redis'),
  ),
  ...skycacheContenders(
    'postgres',
    (context) => ({
      backend: 'postgres',
      location: context.postgresUrl,
      keyPrefix: `bench-stampede-${context.runId}`,
      options: { table: POSTGRES_TABLE },
      logger: reportingLogger,
    }),
    needsBackend('postgres'),
  ),
  {
    library: 'BentoCache',
    store: 'memory (L1)',
    protection: 'in-process lock (default)',
    processes: [1],
    open: (context) => bentoCache('memory', context),
  },
  {
    library: 'BentoCache',
    store: 'file (L2)',
    protection: 'in-process lock (default)',
    processes: [1, WORKERS],
    open: (context) => bentoCache('file', context),
  },
  {
    library: 'BentoCache',
    store: 'memory L1 + Redis L2 + Redis bus',
    protection: 'in-process lock (default)',
    processes: [1, WORKERS],
    unavailable: needsRedis,
    open: (context) => bentoCache('redis', context),
  },
  {
    library: 'cache-manager 7 `wrap`',
    store: 'Keyv memory',
    protection: 'in-process coalescing (default)',
    processes: [1],
    open: (context) => cacheManager('memory', context),
  },
  {
    library: 'cache-manager 7 `wrap`',
    store: '@keyv/redis',
    protection: 'in-process coalescing (default)',
    processes: [1, WORKERS],
    unavailable: needsRedis,
    open: (context) => cacheManager('redis', context),
  },
];

const contenderName = (contender: StampedeContender) =>
  `${contender.library} · ${contender.store} · ${contender.protection}`;

// ---- the worker process ---------------------------------------------------------------------

type ToWorker = { id: number } & (
  | { type: 'open'; contender: string; context: StampedeContext }
  | { type: 'run'; key: string; startAt: number }
  | { type: 'close' }
);

type FromWorker = { id: number } & (
  | { type: 'ready' }
  | { type: 'opened' }
  | {
      type: 'ran';
      loaderCalls: number;
      values: string[];
      errors: string[];
      reported: string[];
      ms: number;
    }
  | { type: 'closed' }
  | { type: 'error'; message: string }
);

/** A request without its id (the Worker numbers them). */
type Request = ToWorker extends infer T ? (T extends ToWorker ? Omit<T, 'id'> : never) : never;
type Answer = FromWorker extends infer T ? (T extends FromWorker ? Omit<T, 'id'> : never) : never;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `promise`, or a rejection once it has been pending for `ms`. */
function withTimeout<T>(promise: Promise<T> | undefined, ms: number): Promise<T | undefined> {
  if (!promise) return Promise.resolve(undefined);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`hung: still pending after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function runWorker(): Promise<void> {
  let opened: OpenedContender | undefined;
  let loads = 0;
  process.on('message', (message: ToWorker) => {
    const send = (answer: Answer) => process.send!({ ...answer, id: message.id });
    void (async () => {
      try {
        if (message.type === 'open') {
          const contender = CONTENDERS.find((each) => contenderName(each) === message.contender);
          if (!contender) throw new Error(`unknown contender ${message.contender}`);
          // A contender left open by a failed trial is closed first (best effort).
          await withTimeout(opened?.close(), CALL_TIMEOUT_MS).catch(() => {});
          opened = await contender.open(message.context);
          // One call on another key opens connections and tables before the clock starts.
          await opened.getOrSet(`warm-up:${process.pid}`, async () => 'warm');
          send({ type: 'opened' });
        } else if (message.type === 'run') {
          let calls = 0;
          reported.length = 0;
          const loader = async () => {
            calls++;
            await sleep(LOADER_MS);
            return { load: `${process.pid}:${++loads}` };
          };
          // Every worker starts at the same wall-clock time: sleep, then spin the last stretch.
          await sleep(Math.max(0, message.startAt - Date.now() - 5));
          while (Date.now() < message.startAt);
          const start = performance.now();
          const settled = await Promise.allSettled(
            Array.from({ length: CALLS_PER_PROCESS }, () =>
              withTimeout(opened!.getOrSet(message.key, loader), CALL_TIMEOUT_MS),
            ),
          );
          const ms = performance.now() - start;
          const values = new Set<string>();
          const errors: string[] = [];
          for (const result of settled) {
            if (result.status === 'fulfilled') values.add(JSON.stringify(result.value));
            else errors.push(String((result.reason as Error)?.message ?? result.reason));
          }
          send({
            type: 'ran',
            loaderCalls: calls,
            values: [...values],
            errors,
            reported: [...reported],
            ms,
          });
        } else {
          await withTimeout(opened?.close(), CALL_TIMEOUT_MS).catch(() => {});
          opened = undefined;
          send({ type: 'closed' });
        }
      } catch (error) {
        send({ type: 'error', message: error instanceof Error ? error.message : String(error) });
      }
    })();
  });
  process.on('disconnect', () => process.exit(0));
  process.send!({ type: 'ready', id: 0 });
}

// ---- the runner ---------------------------------------------------------------------------------

/** A worker process and a way to ask it something and wait for its answer. */
class Worker {
  readonly #child: ChildProcess;
  /** Waiting requests by id; answers to requests that timed out find nobody and are dropped. */
  readonly #waiting = new Map<number, (answer: FromWorker | Error) => void>();
  #nextId = 1;
  #exited: Error | undefined;

  constructor() {
    this.#child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url)], {
      env: { ...process.env, [WORKER_ROLE]: '1' },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.#child.on('message', (message: FromWorker) => {
      this.#waiting.get(message.id)?.(message);
      this.#waiting.delete(message.id);
    });
    this.#child.on('exit', (code) => {
      this.#exited = new Error(`stampede worker ${this.#child.pid} exited with ${code}`);
      for (const settle of this.#waiting.values()) settle(this.#exited);
      this.#waiting.clear();
    });
  }

  /** Its answer to `request` (or, with no request, its first message: ready). */
  ask(request: Request | undefined, timeoutMs = 30_000): Promise<FromWorker> {
    if (this.#exited) return Promise.reject(this.#exited);
    const id = request ? this.#nextId++ : 0;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(id);
        reject(new Error(`stampede worker ${this.#child.pid} did not answer in ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiting.set(id, (answer) => {
        clearTimeout(timer);
        if (answer instanceof Error) reject(answer);
        else resolve(answer);
      });
      if (request) this.#child.send({ ...request, id });
    });
  }

  stop(): void {
    if (this.#child.connected) this.#child.disconnect();
  }
}

async function expect<T extends FromWorker['type']>(
  answer: Promise<FromWorker>,
  type: T,
): Promise<Extract<FromWorker, { type: T }>> {
  const message = await answer;
  if (message.type === 'error') throw new Error(message.message);
  if (message.type !== type) throw new Error(`expected ${type} from a worker, got ${message.type}`);
  return message as Extract<FromWorker, { type: T }>;
}

/** One trial's outcome, summed over the processes. */
interface Trial {
  loaderCalls: number;
  distinctValues: number;
  errors: string[];
  /** Problems skycache reported to its logger (a backend error it fell back from). */
  reported: string[];
  /** The slowest process's time to settle all its calls, ms. */
  ms: number;
}

interface StampedeRow {
  library: string;
  store: string;
  protection: string;
  processes: number;
  calls: number;
  trials: Trial[];
  skipped?: string;
}

async function runTrials(
  workers: readonly Worker[],
  contender: StampedeContender,
  context: StampedeContext,
  index: number,
): Promise<Trial[]> {
  await Promise.all(
    workers.map((worker) =>
      expect(worker.ask({ type: 'open', contender: contenderName(contender), context }), 'opened'),
    ),
  );
  const trials: Trial[] = [];
  try {
    for (let trial = 0; trial < TRIALS; trial++) {
      const key = `stampede:${index}:${workers.length}:${trial}`;
      const startAt = Date.now() + START_MARGIN_MS;
      const answers = await Promise.all(
        workers.map((worker) => expect(worker.ask({ type: 'run', key, startAt }), 'ran')),
      );
      trials.push({
        loaderCalls: answers.reduce((sum, answer) => sum + answer.loaderCalls, 0),
        distinctValues: new Set(answers.flatMap((answer) => answer.values)).size,
        errors: answers.flatMap((answer) => answer.errors),
        reported: answers.flatMap((answer) => answer.reported),
        ms: Math.max(...answers.map((answer) => answer.ms)),
      });
    }
  } finally {
    await Promise.all(workers.map((worker) => expect(worker.ask({ type: 'close' }), 'closed')));
  }
  return trials;
}

async function dropPostgresTable(url: string): Promise<void> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query(`DROP TABLE IF EXISTS "${POSTGRES_TABLE}"`);
  } catch {
    // unreachable: nothing was created
  } finally {
    await client.end().catch(() => {});
  }
}

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;

/** Runs every contender from 1 and from 4 processes and prints the loader-call table. */
export async function benchStampede(): Promise<void> {
  const services = knownServices() ?? (await probeServices());
  console.log(
    `\n## stampede: concurrent cold getOrSet\n\n${machineLine([
      `${CALLS_PER_PROCESS} calls per process`,
      `loader ${LOADER_MS} ms`,
      `${TRIALS} trials`,
    ])}`,
  );
  const context: StampedeContext = {
    directory: mkdtempSync(join(tmpdir(), 'skycache-bench-stampede-')),
    redisUrl: SERVICE_URLS.redis,
    postgresUrl: SERVICE_URLS.postgres,
    runId: `${process.pid}-${Date.now().toString(36)}`,
  };
  const workers = Array.from({ length: WORKERS }, () => new Worker());
  const rows: StampedeRow[] = [];
  try {
    await Promise.all(workers.map((worker) => expect(worker.ask(undefined, 60_000), 'ready')));
    for (const [index, contender] of CONTENDERS.entries()) {
      const skipped = contender.unavailable?.(services);
      for (const processes of contender.processes) {
        const row: StampedeRow = {
          library: contender.library,
          store: contender.store,
          protection: contender.protection,
          processes,
          calls: processes * CALLS_PER_PROCESS,
          trials: [],
        };
        rows.push(row);
        if (skipped) {
          row.skipped = skipped;
          continue;
        }
        try {
          row.trials = await runTrials(workers.slice(0, processes), contender, context, index);
        } catch (error) {
          row.skipped = `failed: ${error instanceof Error ? error.message : String(error)}`;
        }
      }
    }
  } finally {
    for (const worker of workers) worker.stop();
    rmSync(context.directory, { recursive: true, force: true });
    if ('postgres' in builtinBackends) await dropPostgresTable(context.postgresUrl);
  }

  const list = (values: number[]) => values.join(', ');
  printMarkdownTable(
    `loader calls for one cold key (ideal: 1)`,
    [
      'library',
      'store',
      'protection',
      'processes',
      'calls',
      `loader calls (${TRIALS} trials)`,
      'distinct values served',
      'failed calls',
      'ms to serve all (median)',
    ],
    rows.map((row) => {
      const head = [row.library, row.store, row.protection, `${row.processes}`];
      if (row.skipped) return [...head, `${row.calls}`, `skipped: ${row.skipped}`, '', '', ''];
      return [
        ...head,
        `${row.processes} × ${CALLS_PER_PROCESS}`,
        list(row.trials.map((trial) => trial.loaderCalls)),
        list(row.trials.map((trial) => trial.distinctValues)),
        list(row.trials.map((trial) => trial.errors.length)),
        median(row.trials.map((trial) => trial.ms)).toFixed(0),
      ];
    }),
    ['left', 'left', 'left', 'right', 'right', 'right', 'right', 'right', 'right'],
  );
  for (const row of rows) {
    const where = `${row.library} · ${row.store} · ${row.protection} · ${row.processes} process(es)`;
    for (const [kind, messages] of [
      ['calls failed', row.trials.flatMap((trial) => trial.errors)],
      ['problems reported to the logger', row.trials.flatMap((trial) => trial.reported)],
    ] as const) {
      const counts = new Map<string, number>();
      for (const message of messages) counts.set(message, (counts.get(message) ?? 0) + 1);
      for (const [message, count] of counts)
        console.log(`\n> ${where}: ${count} ${kind}: ${message}`);
    }
  }
  const tally = (messages: string[]) => {
    const counts: Record<string, number> = {};
    for (const message of messages) counts[message] = (counts[message] ?? 0) + 1;
    return counts;
  };
  recordData('stampede', {
    callsPerProcess: CALLS_PER_PROCESS,
    loaderMs: LOADER_MS,
    callTimeoutMs: CALL_TIMEOUT_MS,
    rows: rows.map((row) => ({
      ...row,
      trials: row.trials.map((trial) => ({
        ...trial,
        errors: tally(trial.errors),
        reported: tally(trial.reported),
      })),
    })),
  });
}

if (process.env[WORKER_ROLE] === '1') {
  await runWorker();
} else if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await benchStampede();
}
