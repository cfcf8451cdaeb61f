/**
 * The redis backend against the raw node-redis client and two peers, in one run:
 * - skycache `get`/`set` vs the same commands on a raw `@redis/client` at concurrency 1 and 100,
 *   and on the raw client bounded as skycache bounds each command (what that guarantee costs) and
 *   wrapped in a bare promise (what the least such bound costs);
 * - `getMany` of 100 keys vs 100 sequential `get` (and the raw `MGET`);
 * - BentoCache (Redis driver on ioredis, L2 only) and cache-manager 7 + Keyv + `@keyv/redis`.
 * The comparison with the raw client runs first, in head-to-head groups of its own (135 rounds);
 * the peers follow in groups of their own (tables titled "…, peers", 9 rounds).
 *
 * Run: npm run bench -- redis   (Redis at SKYCACHE_BENCH_REDIS_URL, default redis://127.0.0.1:6379/11;
 * the suite writes keys under its own prefixes there and removes them at the end)
 */
import { createRequire } from 'node:module';
import KeyvRedis from '@keyv/redis';
import { BentoCache, bentostore } from 'bentocache';
import { redisDriver } from 'bentocache/drivers/redis';
import { createCache as createCacheManager } from 'cache-manager';
import { Keyv } from 'keyv';
import { builtinBackends } from '../src/backends/index.js';
import { redisBackend } from '../src/backends/redis.js';
import { PendingCommand } from '../src/backends/redis/pending.js';
import { Watchdog } from '../src/core/watchdog.js';
import { createCache } from '../src/index.js';
import { machineLine, median, printTable, roundOrder, runGroup, type Task } from './harness.js';

// The raw baseline runs on the node-redis that skycache runs on (the project's own dependency),
// not on the copy @keyv/redis brings into bench/node_modules, which may be another major version.
const projectRequire = createRequire(new globalThis.URL('../package.json', import.meta.url));
const { createClient } = projectRequire('@redis/client') as typeof import('@redis/client');
const NODE_REDIS_VERSION = (projectRequire('@redis/client/package.json') as { version: string })
  .version;

const URL = process.env.SKYCACHE_BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/11';
/**
 * Rounds of the head-to-head groups (100 ms each). With 15 rounds the A/A control alone read
 * 0.94-1.15 from run to run, with 45 still 0.94-1.04 (bench/README.md, "Seventh pass"): as wide
 * as the 5% the backend is held to. The spread of a median shrinks with the square root of the
 * rounds, so 135 rounds (about 5 of the suite's 8 minutes) narrow it by another 1.7.
 */
const HEAD_TO_HEAD_ROUNDS = 135;
const KEYS = Array.from({ length: 1000 }, (_, i) => `user:${i}`);
const VALUE = { id: 42, name: 'Ada Lovelace', roles: ['admin', 'editor'], active: true };
const VALUE_JSON = JSON.stringify(VALUE);
const TTL_MS = 300_000;

export async function benchRedis(): Promise<void> {
  const { hostname, port, pathname } = new globalThis.URL(URL);
  const db = Number(pathname.slice(1) || 0);
  // The raw baseline is configured as skycache configures its own clients: RESP2 and no per-command
  // timeout inside node-redis (skycache bounds each operation itself; node-redis 6's default
  // 5 s timeout costs an AbortSignal per command). A second raw client keeps node-redis defaults.
  const raw = createClient({ url: URL, RESP: 2, commandOptions: { timeout: undefined } });
  // The same baseline on a second client of its own: its ratio (an A/A control) shows how far the
  // machine's noise alone moves a ratio in this run.
  const rawAgain = createClient({ url: URL, RESP: 2, commandOptions: { timeout: undefined } });
  const rawDefaults = createClient({ url: URL });
  for (const client of [raw, rawAgain, rawDefaults]) {
    client.on('error', () => {});
    await client.connect();
  }
  const serverVersion = /redis_version:(\S+)/.exec(await raw.info('server'))?.[1] ?? '?';
  console.log(
    `\n## redis backend\n\n${machineLine([
      `Redis ${serverVersion} on ${hostname}:${port} (loopback TCP)`,
      `@redis/client ${NODE_REDIS_VERSION} for skycache and the raw baseline`,
    ])}`,
  );

  const sky = createCache({
    backend: 'redis' in builtinBackends ? 'redis' : redisBackend.factory,
    location: URL,
    keyPrefix: 'bench-sky',
    // Like node-redis's own default: at concurrency 100 on a busy machine the tail latency can
    // pass the 250 ms default, which would fail the run instead of measuring it.
    operationTimeout: '5s',
  });
  const bento = new BentoCache({
    default: 'redis',
    stores: {
      redis: bentostore().useL2Layer(
        redisDriver({
          connection: { host: hostname, port: Number(port), db },
          prefix: 'bench-bento',
        }),
      ),
    },
  });
  const keyvRedis = new KeyvRedis(URL);
  const keyv = new Keyv({ store: keyvRedis, namespace: 'bench-cm' });
  const manager = createCacheManager({ stores: [keyv] });

  const rawKey = (key: string) => `bench-raw:${key}`;
  await sky.setMany(Object.fromEntries(KEYS.map((key) => [key, VALUE])), TTL_MS / 1000);
  await Promise.all(KEYS.map((key) => raw.set(rawKey(key), VALUE_JSON, { PX: TTL_MS })));
  await Promise.all(KEYS.map((key) => bento.set({ key, value: VALUE, ttl: TTL_MS })));
  await Promise.all(KEYS.map((key) => manager.set(key, VALUE, TTL_MS)));

  let i = 0;
  const nextKey = () => KEYS[(i = (i + 1) % KEYS.length)]!;

  // The comparison the backend is held to (skycache against the raw client it runs on) is
  // measured first, in groups of its own: no peer's leftovers (node-redis defaults' 5 s timer per
  // command, BentoCache's garbage) fall into its rounds, and it gets many more rounds (see
  // HEAD_TO_HEAD_ROUNDS), so the median of its per-round ratios moves less from run to run.
  const getRaw: Task = {
    name: 'raw @redis/client get + JSON.parse',
    fn: async () => JSON.parse((await raw.get(rawKey(nextKey())))!),
  };
  const getSky: Task = { name: 'skycache get', fn: () => sky.get(nextKey()) };
  const gets: Task[] = [
    getRaw,
    {
      name: 'raw again (A/A control)',
      fn: async () => JSON.parse((await rawAgain.get(rawKey(nextKey())))!),
    },
    {
      name: 'raw get + JSON.parse, bounded like skycache',
      fn: async () => JSON.parse((await bounded(raw.get(rawKey(nextKey()))))!),
    },
    {
      name: 'raw get + JSON.parse, in a bare promise (no deadline)',
      fn: async () => JSON.parse((await wrapped(raw.get(rawKey(nextKey()))))!),
    },
    getSky,
  ];
  const getPeers: Task[] = [
    getRaw,
    {
      name: 'raw, node-redis defaults',
      fn: async () => JSON.parse((await rawDefaults.get(rawKey(nextKey())))!),
    },
    getSky,
    { name: 'BentoCache get (Redis L2)', fn: () => bento.get({ key: nextKey() }) },
    { name: 'cache-manager 7 + @keyv/redis get', fn: () => manager.get(nextKey()) },
  ];
  const setRaw: Task = {
    name: 'raw @redis/client set PX + JSON.stringify',
    fn: () => raw.set(rawKey(nextKey()), JSON.stringify(VALUE), { PX: TTL_MS }),
  };
  const setSky: Task = { name: 'skycache set', fn: () => sky.set(nextKey(), VALUE) };
  const sets: Task[] = [
    setRaw,
    {
      name: 'raw again (A/A control)',
      fn: () => rawAgain.set(rawKey(nextKey()), JSON.stringify(VALUE), { PX: TTL_MS }),
    },
    {
      name: 'raw set PX + JSON.stringify, bounded like skycache',
      fn: () => bounded(raw.set(rawKey(nextKey()), JSON.stringify(VALUE), { PX: TTL_MS })),
    },
    {
      name: 'raw set PX + JSON.stringify, in a bare promise (no deadline)',
      fn: () => wrapped(raw.set(rawKey(nextKey()), JSON.stringify(VALUE), { PX: TTL_MS })),
    },
    setSky,
  ];
  const setPeers: Task[] = [
    setRaw,
    {
      name: 'raw, node-redis defaults',
      fn: () => rawDefaults.set(rawKey(nextKey()), JSON.stringify(VALUE), { PX: TTL_MS }),
    },
    setSky,
    {
      name: 'BentoCache set (Redis L2)',
      fn: () => bento.set({ key: nextKey(), value: VALUE, ttl: TTL_MS }),
    },
    { name: 'cache-manager 7 + @keyv/redis set', fn: () => manager.set(nextKey(), VALUE, TTL_MS) },
  ];
  // Throughput on a shared machine moves with its load; the client's CPU time per operation much
  // less. Both are printed, each group's CPU table right after its throughput tables.
  await measure('', gets, sets, { samples: HEAD_TO_HEAD_ROUNDS, sampleMs: 100, cpuRounds: 15 });
  await measure(', peers', getPeers, setPeers, { samples: 9, sampleMs: 200, cpuRounds: 5 });

  let batch = 0;
  const nextBatch = () => {
    batch = (batch + 100) % KEYS.length;
    return KEYS.slice(batch, batch + 100);
  };
  const batches: Task[] = [
    {
      name: 'skycache 100 sequential get',
      fn: async () => {
        for (const key of nextBatch()) await sky.get(key);
      },
    },
    { name: 'skycache getMany(100)', fn: () => sky.getMany(nextBatch()) },
    {
      name: 'raw @redis/client mGet(100) + JSON.parse',
      fn: async () => (await raw.mGet(nextBatch().map(rawKey))).map((v) => JSON.parse(v!)),
    },
    {
      name: 'BentoCache 100 sequential get',
      fn: async () => {
        for (const key of nextBatch()) await bento.get({ key });
      },
    },
    { name: 'cache-manager 7 mget(100)', fn: () => manager.mget(nextBatch()) },
  ];
  printTable(
    'getMany of 100 keys, concurrency 1',
    await runGroup(batches, { baseline: batches[0]!.name, latencyOps: 300 }),
    batches[0]!.name,
  );

  await sky.clear();
  await bento.clear();
  await manager.clear();
  for await (const keys of raw.scanIterator({ MATCH: 'bench-raw:*', COUNT: 1000 })) {
    if (keys.length > 0) await raw.unlink(keys);
  }
  await sky.close();
  await bento.disconnectAll();
  await manager.disconnect();
  raw.destroy();
  rawAgain.destroy();
  rawDefaults.destroy();
}

/**
 * Throughput tables of `gets` and `sets` at concurrency 1 and 100 (titles end in `suffix`), then
 * their client CPU per operation at concurrency 100.
 */
async function measure(
  suffix: string,
  gets: readonly Task[],
  sets: readonly Task[],
  rounds: { samples: number; sampleMs: number; cpuRounds: number },
): Promise<void> {
  const { samples, sampleMs, cpuRounds } = rounds;
  for (const concurrency of [1, 100]) {
    for (const [operation, group] of [
      ['get hit', gets],
      ['set', sets],
    ] as const) {
      const baseline = group[0]!.name;
      printTable(
        `${operation}, concurrency ${concurrency}${suffix}`,
        await runGroup(group, { baseline, concurrency, samples, sampleMs, latencyMs: 1500 }),
        baseline,
      );
    }
  }
  console.log(
    `\n### client CPU per operation, concurrency 100${suffix} (median of ${cpuRounds} rounds of 20,000)\n`,
  );
  console.log('| task | CPU µs/op | × raw (lower is leaner) |');
  console.log('|---|---:|---:|');
  for (const group of [gets, sets]) {
    const perRound = await cpuPerOperation(group, 100, cpuRounds);
    for (const [index, task] of group.entries()) {
      // Like the throughput ratios: the median of each round's ratio to the same round's raw.
      const ratio = median(perRound[index]!.map((cpu, round) => cpu / perRound[0]![round]!));
      console.log(
        `| ${task.name} | ${median(perRound[index]!).toFixed(2)} | ${ratio.toFixed(2)} |`,
      );
    }
  }
}

/**
 * The bound skycache keeps on every Redis command, on the raw client: skycache's own
 * `PendingCommand` (a promise per command, whose deadline one shared watchdog checks), so that a
 * call fails at its timeout even when its command was already written to a server that stopped
 * answering (node-redis's own `timeout` only covers commands not yet written). The "bounded like
 * skycache" rows measure what that guarantee costs with nothing else of skycache's around it.
 */
const watchdog = new Watchdog(5_000);

function bounded<T>(sent: Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const pending = new PendingCommand(
      resolve as (value: unknown) => void,
      reject,
      'the bounded baseline',
      watchdog.timeoutMs,
      undefined,
      undefined,
      watchdog,
    );
    pending.follow(sent);
  });
}

/**
 * The least a bound that can settle a call before its command does needs: a promise of its own,
 * settled by the driver's (no deadline, no watchdog). Beside "bounded like skycache" it shows how
 * much of the bound's cost is that promise alone.
 */
function wrapped<T>(sent: Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    sent.then(resolve, reject);
  });
}

/**
 * Client CPU time (user + system) per operation of each task in each of `count` rounds, tasks run
 * round-robin (shuffled per round).
 */
async function cpuPerOperation(
  tasks: readonly Task[],
  concurrency: number,
  count: number,
): Promise<number[][]> {
  const ops = 20_000;
  const rounds = tasks.map(() => [] as number[]);
  for (let round = 0; round < count; round++) {
    for (const index of roundOrder(tasks.length, round)) {
      const task = tasks[index]!;
      let left = ops;
      const start = process.cpuUsage();
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (left-- > 0) await task.fn();
        }),
      );
      const used = process.cpuUsage(start);
      rounds[index]!.push((used.user + used.system) / ops);
    }
  }
  return rounds;
}

// `npx tsx bench/redis.ts` runs this suite alone.
if (import.meta.url === `file://${process.argv[1]}`) await benchRedis();
