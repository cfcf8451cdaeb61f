/**
 * Two tiers (README "Two tiers"), in one run:
 * - a hit from L1 (skycache on Redis with `l1`) against a plain memory-cache hit and a Redis `get`
 *   through skycache, and BentoCache's two-tier hit (memory + Redis + its Redis bus), at
 *   concurrency 1;
 * - invalidation latency across two processes on loopback: the writer's `set` resolved → the
 *   reader's next read returns the new value, p50/p99, on skycache's Redis and PostgreSQL buses
 *   and on BentoCache's Redis bus.
 *
 * Run: npm run bench -- tiers   (Redis at SKYCACHE_BENCH_REDIS_URL, default
 * redis://127.0.0.1:6379/11; PostgreSQL at SKYCACHE_BENCH_POSTGRES_URL, default
 * postgres://postgres@127.0.0.1:5432/test; keys under their own prefixes, removed at the end)
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { BentoCache, bentostore } from 'bentocache';
import { memoryDriver } from 'bentocache/drivers/memory';
import { redisBusDriver, redisDriver } from 'bentocache/drivers/redis';
import { createCache } from '../src/index.js';
import { machineLine, printMarkdownTable, printTable, recordData, runGroup } from './harness.js';

const REDIS_URL = process.env.SKYCACHE_BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/11';
const POSTGRES_URL =
  process.env.SKYCACHE_BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const KEYS = Array.from({ length: 1000 }, (_, i) => `perm:${i}`);
const VALUE = {
  id: 42,
  roles: ['R_HR_ADMIN'],
  apis: ['GET /api/users', 'PUT /api/users/:id/roles'],
};
/** Writes per latency run. */
const WRITES = 300;

function bentoTwoTier(url: string) {
  const { hostname, port, pathname } = new URL(url);
  const connection = { host: hostname, port: Number(port), db: Number(pathname.slice(1) || 0) };
  return new BentoCache({
    default: 'tiered',
    stores: {
      tiered: bentostore()
        .useL1Layer(memoryDriver({ maxSize: '64mb' }))
        .useL2Layer(redisDriver({ connection, prefix: 'bench-tiers-bento' }))
        .useBus(redisBusDriver({ connection })),
    },
  });
}

export async function benchTiers(): Promise<void> {
  console.log(`\n## two tiers\n\n${machineLine(['Redis and PostgreSQL on loopback TCP'])}`);
  const memory = createCache({ backend: 'memory', location: 'bench-tiers' });
  const tiered = createCache({
    backend: 'redis',
    location: REDIS_URL,
    keyPrefix: 'bench-tiers',
    operationTimeout: '5s',
    l1: { maxEntries: 10_000, timeout: '5m' },
  });
  const plain = createCache({
    backend: 'redis',
    location: REDIS_URL,
    keyPrefix: 'bench-tiers-plain',
    operationTimeout: '5s',
  });
  const bento = bentoTwoTier(REDIS_URL);
  for (const key of KEYS) {
    await memory.set(key, VALUE);
    await tiered.set(key, VALUE);
    await plain.set(key, VALUE);
    await bento.set({ key, value: VALUE, ttl: 300_000 });
  }
  // Fill every L1.
  for (let round = 0; round < 3; round++) {
    for (const key of KEYS) {
      await tiered.get(key);
      await bento.get({ key });
    }
  }
  let i = 0;
  const nextKey = () => KEYS[(i = (i + 1) % KEYS.length)]!;
  const baseline = 'skycache memory get';
  const results = await runGroup(
    [
      { name: baseline, fn: () => memory.get(nextKey()) },
      { name: 'skycache L1 hit (redis + l1)', fn: () => tiered.get(nextKey()) },
      { name: 'skycache redis get (no l1)', fn: () => plain.get(nextKey()) },
      { name: 'BentoCache L1 hit (memory + redis + bus)', fn: () => bento.get({ key: nextKey() }) },
    ],
    { baseline, concurrency: 1, samples: 7 },
  );
  printTable('get hit, concurrency 1', results, baseline);
  const ops = (name: string) => results.find((r) => r.name.startsWith(name))!.opsPerSecond;
  const l1 = ops('skycache L1 hit');
  const ratios = {
    l1VsMemory: l1 / ops(baseline),
    l1VsRedis: l1 / ops('skycache redis get'),
  };
  recordData('hitRatios', ratios);
  console.log(
    `\nL1 hit = ${ratios.l1VsMemory.toFixed(2)}× a memory hit (goal ≥ 0.8), ${ratios.l1VsRedis.toFixed(1)}× a Redis get (goal ≥ 30)`,
  );

  const rows: string[][] = [];
  for (const [label, kind, url] of [
    ['skycache, Redis bus', 'sky-redis', REDIS_URL],
    ['skycache, PostgreSQL bus', 'sky-pg', POSTGRES_URL],
    ['BentoCache, Redis bus', 'bento', REDIS_URL],
  ] as const) {
    const writer =
      kind === 'bento'
        ? bento
        : createCache({
            backend: kind === 'sky-pg' ? 'postgres' : 'redis',
            location: url,
            keyPrefix: 'bench-tiers',
            operationTimeout: '5s',
            l1: { maxEntries: 1000, timeout: '5m' },
            ...(kind === 'sky-pg' ? { options: { table: 'skycache_bench_tiers' } } : {}),
          });
    const write = (value: number) =>
      kind === 'bento'
        ? (writer as BentoCache<never>).set({ key: 'latency', value, ttl: 300_000 })
        : (writer as typeof tiered).set('latency', value);
    const latencies = await invalidationLatency(kind, url, write);
    const sorted = [...latencies].sort((a, b) => a - b);
    const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
    recordData(`invalidation-${kind}`, { p50: at(0.5), p99: at(0.99), n: sorted.length });
    rows.push([
      label,
      String(sorted.length),
      at(0.5).toFixed(2),
      at(0.99).toFixed(2),
      at(1).toFixed(2),
    ]);
    if (kind !== 'bento') {
      await (writer as typeof tiered).clear();
      await (writer as typeof tiered).close();
    }
  }
  printMarkdownTable(
    `invalidation latency across two processes (${WRITES} writes; write resolved in A → B reads the new value)`,
    ['bus', 'writes seen', 'p50 ms', 'p99 ms', 'max ms'],
    rows,
  );

  await tiered.clear();
  await plain.clear();
  await bento.clear();
  await Promise.all([memory.close(), tiered.close(), plain.close(), bento.disconnectAll()]);
}

/** Writes 1…WRITES in this process while a reader process reads; ms from write to sight. */
async function invalidationLatency(
  kind: string,
  url: string,
  write: (value: number) => Promise<unknown>,
): Promise<number[]> {
  await write(0);
  const reader = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      fileURLToPath(new URL('./tiers-reader.ts', import.meta.url)),
      kind,
      url,
      'latency',
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const seen = new Map<number, number>();
  const waiters = new Map<number, () => void>();
  let ready!: () => void;
  const started = new Promise<void>((resolve) => (ready = resolve));
  createInterface({ input: reader.stdout }).on('line', (line) => {
    if (line === 'ready') return ready();
    const [, value, at] = line.split(' ');
    const number = Number(JSON.parse(value!));
    seen.set(number, Number(at));
    waiters.get(number)?.();
  });
  await started;
  // Let the reader connect its bus and fill its L1 with the current value.
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const latencies: number[] = [];
  for (let value = 1; value <= WRITES; value++) {
    const sight = new Promise<void>((resolve) => {
      waiters.set(value, resolve);
      setTimeout(resolve, 2000);
    });
    await write(value);
    const resolvedAt = performance.timeOrigin + performance.now();
    await sight;
    waiters.delete(value);
    const at = seen.get(value);
    if (at !== undefined) latencies.push(Math.max(0, at - resolvedAt));
    // Let the reader copy the new value into its L1 before the next write.
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  reader.kill('SIGKILL');
  return latencies;
}
