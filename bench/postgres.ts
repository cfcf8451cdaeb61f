/**
 * The postgres backend against the raw driver running the same statements, @keyv/postgres behind
 * cache-manager v7, and BentoCache's knex driver, in one run, at concurrency 1 and 100.
 *
 * Run: npm run bench -- postgres     (or: npx tsx bench/postgres.ts)
 * Server: SKYCACHE_BENCH_POSTGRES_URL, default postgres://postgres@127.0.0.1:5432/test. The run
 * creates and drops tables named skycache_bench_*.
 *
 * Every contender gets a pg pool of 10 connections on its own table, filled with the same 1,000
 * keys, and stores the same small object (70 bytes as JSON):
 * - skycache: default options but `operationTimeout: '5s'` (the peers have no time limit, and one
 *   operation queued past the default 250 ms on a busy machine would end the run).
 * - raw pg (same statements): the named prepared statements the store runs for a get and a set,
 *   on an identical table, called straight on a `pg.Pool`, with `JSON.parse`/`JSON.stringify`: the
 *   ceiling. skycache adds key making, the codec, timeouts and the expiry purge (every 32nd write,
 *   at most once a second).
 *   It runs twice in the head-to-head groups (skycache, raw, raw again; 45 rounds), measured before
 *   the peers' groups: the second run's ratio (A/A control) shows how noisy the machine is.
 * - cache-manager 7 + Keyv 5 + @keyv/postgres 2 (`useUnloggedTable: true`, `max: 10`): values and
 *   expiry inside one JSON text column; expiry is checked in JavaScript, expired rows are never
 *   deleted.
 * - BentoCache 1.6 with only its L2 layer, the knex driver (knex 3, `pg`, pool 0–10): a logged
 *   table (knex's `createTable`), `timestamp` expiry, pruned by a timer (every 30 s by default).
 */
import { fileURLToPath } from 'node:url';
import KeyvPostgres from '@keyv/postgres';
import { BentoCache, bentostore } from 'bentocache';
import { knexDriver } from 'bentocache/drivers/knex';
import { createCache as createCacheManager } from 'cache-manager';
import knex from 'knex';
import Keyv from 'keyv';
import pg from 'pg';
import { builtinBackends } from '../src/backends/index.js';
import { postgresBackend } from '../src/backends/postgres.js';
import { createTableSql, parseTableName, tableStatements } from '../src/backends/postgres/sql.js';
import { createCache } from '../src/index.js';
import { machineLine, printTable, runGroup, type Task, type TaskResult } from './harness.js';

const LOCATION =
  process.env.SKYCACHE_BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const POOL_SIZE = 10;
const KEYS = Array.from({ length: 1000 }, (_, i) => `user:${i}`);
const VALUE = { id: 42, name: 'Ada Lovelace', roles: ['admin', 'editor'], active: true };
const TTL_MS = 300_000;

const TABLES = {
  skycache: 'skycache_bench_entries',
  raw: 'skycache_bench_raw',
  keyv: 'skycache_bench_keyv',
  bento: 'skycache_bench_bento',
};
const RAW = 'raw pg (same statements)';
/** The baseline again, as an A/A control: its ratio shows how noisy the machine was. */
const RAW_AGAIN = 'raw pg again (A/A control)';
const SKYCACHE = 'skycache';
const KEYV = 'cache-manager + @keyv/postgres';
const BENTO = 'BentoCache (knex L2)';

export async function benchPostgres(): Promise<void> {
  const admin = new pg.Pool({ connectionString: LOCATION, max: 1 });
  const version = (
    await admin.query<{ v: string }>('SELECT current_setting($$server_version$$) AS v')
  ).rows[0]?.v;
  console.log(
    `\n## postgres backend\n\n${machineLine([`PostgreSQL ${version}`, `pool ${POOL_SIZE} each`])}`,
  );
  const dropAll = () =>
    Promise.all(
      Object.values(TABLES).map((table) => admin.query(`DROP TABLE IF EXISTS "${table}"`)),
    );
  await dropAll();

  // skycache, as an application would configure it (defaults, but the pool size stated).
  const sky = createCache({
    backend: 'postgres' in builtinBackends ? 'postgres' : postgresBackend.factory,
    location: LOCATION,
    options: { table: TABLES.skycache, poolSize: POOL_SIZE },
    // Measures throughput, not the outage guard: on a loaded machine a queued operation can pass
    // the default 250 ms, and the peers have no such limit.
    operationTimeout: '5s',
  });

  // The same statements on an identical table, straight on pg.
  const rawTable = parseTableName(TABLES.raw).name!;
  const rawSql = tableStatements(rawTable);
  await admin.query(createTableSql(rawTable, true));
  const raw = new pg.Pool({ connectionString: LOCATION, max: POOL_SIZE });
  const rawGet = async (key: string) => {
    const { rows } = await raw.query({
      ...rawSql.get,
      values: [key, Date.now()],
      rowMode: 'array',
    });
    const row = rows[0];
    return row === undefined ? undefined : (JSON.parse(row[0] as string) as unknown);
  };
  const rawSet = (key: string) =>
    raw.query({
      ...rawSql.set,
      values: [key, JSON.stringify(VALUE), null, Date.now() + TTL_MS],
      rowMode: 'array',
    });

  const keyvStore = new KeyvPostgres({
    uri: LOCATION,
    table: TABLES.keyv,
    useUnloggedTable: true,
    max: POOL_SIZE,
  });
  const manager = createCacheManager({ stores: [new Keyv({ store: keyvStore })] });

  const bento = new BentoCache({
    default: 'pg',
    stores: {
      pg: bentostore().useL2Layer(
        knexDriver({
          connection: knex({
            client: 'pg',
            connection: LOCATION,
            pool: { min: 0, max: POOL_SIZE },
          }),
          tableName: TABLES.bento,
        }),
      ),
    },
  });

  try {
    // Same keys everywhere; raw uses the made keys skycache stores (prefix '' and version 1).
    for (const key of KEYS) {
      await sky.set(key, VALUE, TTL_MS / 1000);
      await rawSet(`:1:${key}`);
      await manager.set(key, VALUE, TTL_MS);
      await bento.set({ key, value: VALUE, ttl: TTL_MS });
    }
    let i = 0;
    const nextKey = () => KEYS[(i = (i + 1) % KEYS.length)]!;
    const rawTask = (name: string) => ({
      get: { name, fn: () => rawGet(`:1:${nextKey()}`) },
      set: { name, fn: () => rawSet(`:1:${nextKey()}`) },
    });
    const contenders = {
      skycache: {
        get: { name: SKYCACHE, fn: () => sky.get(nextKey()) },
        set: { name: SKYCACHE, fn: () => sky.set(nextKey(), VALUE) },
      },
      keyv: {
        get: { name: KEYV, fn: () => manager.get(nextKey()) },
        set: { name: KEYV, fn: () => manager.set(nextKey(), VALUE, TTL_MS) },
      },
      bento: {
        get: { name: BENTO, fn: () => bento.get({ key: nextKey() }) },
        set: { name: BENTO, fn: () => bento.set({ key: nextKey(), value: VALUE, ttl: TTL_MS }) },
      },
    };
    // The comparison the backend is held to (skycache against the same statements on raw pg,
    // with the raw baseline run twice as an A/A control) runs first, in groups of its own, with
    // three times the rounds: no peer's leftovers fall into its rounds, and the median of its
    // per-round ratios moves less from run to run. The peers run afterwards, beside skycache and
    // the raw baseline again.
    const headToHead = [rawTask(RAW), rawTask(RAW_AGAIN), contenders.skycache];
    const peers = [rawTask(RAW), contenders.skycache, contenders.keyv, contenders.bento];

    const summary = new Map<string, string[]>();
    const run = async (
      title: string,
      tasks: Task[],
      concurrency: number,
      samples: number,
    ): Promise<Map<string, TaskResult>> => {
      const results = await runGroup(tasks, {
        baseline: RAW,
        concurrency,
        // Shorter rounds than the default: a round trip through a server is noisier than a
        // memory access, and finer interleaving spreads bursts of other load over every task.
        samples,
        sampleMs: 100,
        latencyOps: concurrency === 1 ? 2000 : 20_000,
        latencyMs: 1500,
      });
      printTable(title, results, RAW);
      return new Map(results.map((result) => [result.name, result]));
    };
    const scenarios = [1, 100].flatMap((concurrency) =>
      (['get hit', 'set'] as const).map((operation) => ({
        concurrency,
        operation,
        pick: operation === 'set' ? ('set' as const) : ('get' as const),
        title: `${operation}, concurrency ${concurrency}`,
      })),
    );
    for (const { concurrency, operation, pick, title } of scenarios) {
      const tasks = headToHead.map((each) => each[pick]);
      const head = await run(title, tasks, concurrency, 45);
      summary.set(title, [
        operation,
        String(concurrency),
        head.get(SKYCACHE)!.ratio.toFixed(2),
        head.get(RAW_AGAIN)!.ratio.toFixed(2),
      ]);
    }
    for (const { concurrency, pick, title } of scenarios) {
      const tasks = peers.map((each) => each[pick]);
      const byName = await run(`${title}, peers`, tasks, concurrency, 9);
      const sky = byName.get(SKYCACHE)!;
      const ratio = (other: TaskResult | undefined) =>
        other ? (sky.opsPerSecond / other.opsPerSecond).toFixed(2) : '–';
      summary.get(title)!.push(ratio(byName.get(KEYV)), ratio(byName.get(BENTO)));
    }
    // × raw and the A/A control: the median of per-round ratios (head-to-head groups); × a peer:
    // the ratio of median ops/s in the peers' groups.
    console.log('\n### skycache ops/s relative to each (target: ≥ 0.95 × raw pg)\n');
    console.log(
      `| operation | concurrency | × ${RAW} | A/A control | × ${KEYV} | × ${BENTO} |\n|---|---:|---:|---:|---:|---:|`,
    );
    for (const cells of summary.values()) console.log(`| ${cells.join(' | ')} |`);
  } finally {
    await sky.close();
    await raw.end();
    await keyvStore.disconnect();
    await bento.disconnectAll();
    await dropAll();
    await admin.end();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await benchPostgres();
