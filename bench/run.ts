/**
 * `npm run bench` runs every suite; `npm run bench -- <suite> [<suite>…]` some of them.
 *
 * Each suite runs in its own child process (`node --import tsx bench/run.ts --suite <name>`), one
 * after another: a suite cannot skew the next through JIT state or garbage it leaves, a suite that
 * hangs is stopped after `SKYCACHE_BENCH_SUITE_TIMEOUT` seconds (default 900; the redis suite
 * alone takes about 8 minutes), and its output is captured for `bench/results/`. Redis and
 * PostgreSQL are asked for their versions once, here; a suite whose service does not answer is
 * skipped and says so. After the suites, the results and the README's generated section are
 * rewritten (see bench/report.ts).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  machineLine,
  packageVersion,
  probeServices,
  recorded,
  serviceVersions,
  servicesEnvironment,
  type Services,
  type SuiteRecord,
} from './harness.js';
import { saveRun, saveSuite, updateReadme, type SuiteOutcome } from './report.js';

interface Suite {
  readonly name: string;
  /** The suite's file, next to this one. */
  readonly file: string;
  /** The function it must export. */
  readonly run: string;
  /** A service it cannot run without. */
  readonly needs?: 'redis' | 'postgres';
}

const SUITES: readonly Suite[] = [
  { name: 'memory', file: 'memory.ts', run: 'benchMemory' },
  { name: 'disk', file: 'disk.ts', run: 'benchDisk' },
  { name: 'redis', file: 'redis.ts', run: 'benchRedis', needs: 'redis' },
  { name: 'postgres', file: 'postgres.ts', run: 'benchPostgres', needs: 'postgres' },
  { name: 'stampede', file: 'stampede.ts', run: 'benchStampede' },
  { name: 'scaling', file: 'scaling.ts', run: 'benchScaling' },
  { name: 'http', file: 'http.ts', run: 'benchHttp' },
  { name: 'tiers', file: 'tiers.ts', run: 'benchTiers', needs: 'redis' },
];

/** The peers the suites compare against, with the versions installed. */
const PEERS = [
  'lru-cache',
  'better-sqlite3',
  '@redis/client',
  'pg',
  'bentocache',
  'ioredis',
  'knex',
  'cache-manager',
  'keyv',
  '@keyv/redis',
  '@keyv/postgres',
  '@keyv/sqlite',
  '@fastify/caching',
  'fastify',
  'autocannon',
];

/** Python's diskcache (the disk suite's peer), as the disk suite finds it. */
function pythonDiskcache(): string {
  for (const python of ['python3', '/usr/bin/python3']) {
    try {
      const version = execFileSync(
        python,
        ['-c', 'import diskcache; print(diskcache.__version__)'],
        {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'ignore'],
        },
      ).trim();
      return `python diskcache ${version}`;
    } catch {
      // try the next one
    }
  }
  return 'python diskcache (not installed)';
}

const SUITE_TIMEOUT_MS = Number(process.env.SKYCACHE_BENCH_SUITE_TIMEOUT ?? 900) * 1000;
const SUITE_FLAG = '--suite';
const suitePath = (suite: Suite) => fileURLToPath(new URL(`./${suite.file}`, import.meta.url));
const errorText = (error: unknown) =>
  error instanceof Error ? (error.stack ?? error.message) : String(error);

/** Why a suite cannot run in this checkout yet (its file is missing or lacks its export). */
function notReady(suite: Suite): string | undefined {
  const path = suitePath(suite);
  if (!existsSync(path)) return `bench/${suite.file} does not exist yet`;
  const exported = new RegExp(
    `export\\s+(async\\s+)?function\\s+${suite.run}\\b|export\\s*\\{[^}]*\\b${suite.run}\\b`,
  );
  if (!exported.test(readFileSync(path, 'utf8')))
    return `bench/${suite.file} does not export ${suite.run} yet`;
  return undefined;
}

function unavailable(suite: Suite, services: Services): string | undefined {
  if (!suite.needs) return undefined;
  const status = services[suite.needs];
  return 'unreachable' in status
    ? `${suite.needs === 'redis' ? 'Redis' : 'PostgreSQL'} is not reachable (${status.unreachable})`
    : undefined;
}

// ---- in the child: run one suite ----------------------------------------------------------------

async function runInChild(name: string): Promise<void> {
  const suite = SUITES.find((each) => each.name === name)!;
  const module = (await import(`./${suite.file.replace(/\.ts$/, '.js')}`)) as Record<
    string,
    unknown
  >;
  const run = module[suite.run];
  if (typeof run !== 'function')
    throw new Error(`bench/${suite.file} does not export ${suite.run}`);
  await (run as () => Promise<void>)();
  // Suites may leave handles open (peers' timers, pools): exit once the record is delivered.
  process.send!(recorded(), () => process.exit(0));
}

// ---- in the parent: run the suites one by one ---------------------------------------------------

let current: ChildProcess | undefined;

/** Ends the running suite's process group (its own children included). */
function stopCurrent(signal: NodeJS.Signals): void {
  if (current?.pid !== undefined && current.exitCode === null) {
    try {
      process.kill(-current.pid, signal);
    } catch {
      // already gone
    }
  }
}

async function runSuite(suite: Suite, services: Services): Promise<SuiteOutcome> {
  const startedAt = new Date().toISOString();
  const started = performance.now();
  const skipped = notReady(suite) ?? unavailable(suite, services);
  if (skipped) {
    console.log(`\n## ${suite.name}\n\n> skipped: ${skipped}`);
    return {
      suite: suite.name,
      status: 'skipped',
      reason: skipped,
      startedAt,
      durationMs: 0,
      output: '',
    };
  }
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(import.meta.url), SUITE_FLAG, suite.name],
    {
      env: { ...process.env, ...servicesEnvironment(services) },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      // Its own process group, so a timeout ends the suite's workers and servers too.
      detached: true,
    },
  );
  current = child;
  let output = '';
  let errors = '';
  let record: SuiteRecord | undefined;
  child.stdout!.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    process.stdout.write(chunk);
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    errors += chunk.toString();
    process.stderr.write(chunk);
  });
  child.on('message', (message: SuiteRecord) => (record = message));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    stopCurrent('SIGTERM');
    setTimeout(() => stopCurrent('SIGKILL'), 5000).unref();
  }, SUITE_TIMEOUT_MS);
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  clearTimeout(timer);
  current = undefined;
  const durationMs = performance.now() - started;
  const base = { suite: suite.name, startedAt, durationMs, output };
  if (timedOut) {
    const reason = `stopped after ${SUITE_TIMEOUT_MS / 1000} s (SKYCACHE_BENCH_SUITE_TIMEOUT)`;
    console.log(`\n> ${suite.name} ${reason}`);
    return { ...base, status: 'failed', reason, ...(record ? { record } : {}) };
  }
  if (code !== 0 || !record) {
    const last = errors.trim().split('\n').filter(Boolean).slice(-1)[0] ?? `exit code ${code}`;
    return { ...base, status: 'failed', reason: last.slice(0, 300) };
  }
  return { ...base, status: 'ok', record };
}

async function runAll(wanted: readonly Suite[], command: string): Promise<number> {
  const startedAt = new Date().toISOString();
  const started = performance.now();
  const services = await probeServices();
  const machineText = machineLine(serviceVersions(services));
  const peers = [
    ...PEERS.map((name) =>
      // The redis suite's raw baseline runs on the project's node-redis, as skycache does, not
      // on the copy @keyv/redis brings into bench/node_modules.
      name === '@redis/client'
        ? `${name} ${packageVersion(name, true) ?? '(not installed)'} (skycache and the raw baseline; @keyv/redis brings ${packageVersion(name) ?? '?'})`
        : `${name} ${packageVersion(name) ?? '(not installed)'}`,
    ),
    pythonDiskcache(),
  ].join(', ');
  console.log(`# skycache benchmarks\n\n${machineText}\n\nPeers: ${peers}`);
  for (const [name, status] of Object.entries(services)) {
    if ('unreachable' in status) console.log(`\n> ${name}: unreachable (${status.unreachable})`);
  }

  const outcomes: SuiteOutcome[] = [];
  for (const suite of wanted) {
    const outcome = await runSuite(suite, services);
    outcomes.push(outcome);
    saveSuite(outcome, machineText);
  }
  const durationMs = performance.now() - started;
  saveRun({
    command,
    startedAt,
    durationMs: Math.round(durationMs),
    machine: machineText,
    peers,
    suites: outcomes.map(({ suite, status, reason, durationMs: ms }) => ({
      suite,
      status,
      ...(reason ? { reason } : {}),
      durationMs: Math.round(ms),
    })),
  });
  await updateReadme();

  console.log(`\n## summary\n\n| suite | status | time |\n|---|---|---:|`);
  for (const outcome of outcomes) {
    const status = outcome.status === 'ok' ? 'ok' : `${outcome.status}: ${outcome.reason}`;
    console.log(`| ${outcome.suite} | ${status} | ${(outcome.durationMs / 1000).toFixed(0)} s |`);
  }
  console.log(
    `\nTotal ${(durationMs / 1000).toFixed(0)} s. Results: bench/results/, bench/README.md`,
  );
  return outcomes.some((outcome) => outcome.status === 'failed') ? 1 : 0;
}

const args = process.argv.slice(2);
if (args[0] === SUITE_FLAG) {
  try {
    await runInChild(args[1]!);
  } catch (error) {
    console.error(errorText(error));
    process.exit(1);
  }
} else {
  const unknown = args.filter((name) => !SUITES.some((suite) => suite.name === name));
  if (unknown.length > 0) {
    console.error(
      `unknown suite(s): ${unknown.join(', ')}; available: ${SUITES.map((suite) => suite.name).join(', ')}`,
    );
    process.exit(2);
  }
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      stopCurrent('SIGKILL');
      process.exit(130);
    });
  }
  const wanted = args.length > 0 ? SUITES.filter((suite) => args.includes(suite.name)) : SUITES;
  const command = `npm run bench${args.length > 0 ? ` -- ${args.join(' ')}` : ''}`;
  process.exitCode = await runAll(wanted, command);
}
