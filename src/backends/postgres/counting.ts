/**
 * Django's `maxEntries` cull on PostgreSQL, exact and without a `COUNT(*)` per write.
 *
 * Design: the table's row count is kept in a one-row companion table `<table>_count`, maintained by
 * triggers on the cache table (statement-level, with transition tables: one counter update per
 * statement that really inserted or deleted rows, none for a `set` that overwrote a key; `TRUNCATE`
 * resets it). Writers of a store with `maxEntries` use statements that report whether they
 * inserted and the count they saw; when the count after their insert exceeds `maxEntries`, they
 * call `<table>_cull(...)` before returning, so a sequence of awaited sets gives Django's counts
 * exactly. The function locks the counter row (`FOR UPDATE`), so concurrent culls run one after the
 * other and each re-reads the count first: writers never cull twice for one excess, and the table
 * never grows more than the writes in flight past `maxEntries`. Its deletes skip rows other
 * sessions hold locked, so a cull never waits on (or deadlocks with) a writer.
 *
 * The counter and its triggers are made the first time a store with `maxEntries` uses the table
 * (under an advisory lock, with the table locked against writes while the initial count is
 * taken); tables without `maxEntries` never pay for them.
 */
import { createHash } from 'node:crypto';
import type { Logger } from '../../core/logger.js';
import type { Rows } from './connection.js';
import { statement, UPSERT_SET, type Statement, type TableName } from './sql.js';

/** The companion objects of one table. */
const COUNTER_SUFFIX = '_count';
const TRIGGER_FUNCTION_SUFFIX = '_counted';
const CULL_FUNCTION_SUFFIX = '_cull';
/** Trigger names live per table, so they need no table prefix. */
const INSERT_TRIGGER = 'skycache_count_inserted';

/** The statements of a store that counts. Parameters are listed as `$n meaning`. */
export interface CountingStatements {
  /** `$1` the table for `to_regclass` → `[counting triggers exist, table is unlogged]`. */
  readonly ready: Statement;
  /** As the plain `set` → a row `[count seen]` if the key was inserted (none if overwritten). */
  readonly set: Statement;
  /** As the plain `setMany` → `[rows inserted, count seen]`. */
  readonly setMany: Statement;
  /** As the plain `add` → a row `[inserted, count seen]` if stored. */
  readonly add: Statement;
  /** `$1` maxEntries, `$2` cullFrequency, `$3` now, `$4` key to spare → `[rows culled]`. */
  readonly cull: Statement;
}

export function countingStatements(table: TableName): CountingStatements {
  const t = table.sql;
  const counter = table.companion(COUNTER_SUFFIX);
  const seen = `(SELECT n FROM ${counter} WHERE id = 0)`;
  return {
    ready: statement(
      `SELECT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = to_regclass($1) AND tgname = '${INSERT_TRIGGER}'),
         (SELECT relpersistence = 'u' FROM pg_class WHERE oid = to_regclass($1))`,
    ),
    set: statement(
      `WITH up AS (
         INSERT INTO ${t} (key, value, data, expires_at) VALUES ($1, $2, $3, $4) ${UPSERT_SET}
         RETURNING xmax = 0 AS inserted
       )
       SELECT ${seen} FROM up WHERE inserted`,
    ),
    setMany: statement(
      `WITH up AS (
         INSERT INTO ${t} (key, value, data, expires_at)
         SELECT k, v, d, $4::bigint FROM unnest($1::text[], $2::text[], $3::bytea[]) AS u(k, v, d)
         ${UPSERT_SET}
         RETURNING xmax = 0 AS inserted
       )
       SELECT (count(*) FILTER (WHERE inserted))::int, ${seen} FROM up`,
    ),
    add: statement(
      `WITH up AS (
         INSERT INTO ${t} AS e (key, value, data, expires_at) VALUES ($1, $2, $3, $4)
         ${UPSERT_SET} WHERE e.expires_at <= $5
         RETURNING xmax = 0 AS inserted
       )
       SELECT inserted, ${seen} FROM up`,
    ),
    cull: statement(
      `SELECT ${table.companion(CULL_FUNCTION_SUFFIX)}($1::bigint, $2::integer, $3::bigint, $4::text)`,
    ),
  };
}

/**
 * The DDL that adds the counter, its triggers and the cull function to an existing table, sent as
 * one simple query (one implicit transaction). The table is locked against writes (not reads)
 * while the initial count is taken, so the count and the triggers start together. Safe to run
 * again: it replaces what it made and counts afresh.
 */
export function countingSetupSql(table: TableName, unlogged: boolean): string {
  const t = table.sql;
  const counter = table.companion(COUNTER_SUFFIX);
  const counted = table.companion(TRIGGER_FUNCTION_SUFFIX);
  const cull = table.companion(CULL_FUNCTION_SUFFIX);
  const lock = createHash('sha1').update(`skycache count ${table.regclass[0]}`).digest();
  return [
    `SELECT pg_advisory_xact_lock(${lock.readInt32BE(0)}, ${lock.readInt32BE(4)})`,
    `LOCK TABLE ${t} IN SHARE ROW EXCLUSIVE MODE`,
    `CREATE ${unlogged ? 'UNLOGGED ' : ''}TABLE IF NOT EXISTS ${counter} (
  id integer PRIMARY KEY CHECK (id = 0),
  n bigint NOT NULL
)`,
    `CREATE OR REPLACE FUNCTION ${counted}() RETURNS trigger LANGUAGE plpgsql AS $counted$
BEGIN
  IF TG_OP = 'INSERT' THEN
    UPDATE ${counter} SET n = n + d.rows FROM (SELECT count(*) AS rows FROM added) AS d
    WHERE id = 0 AND d.rows > 0;
  ELSIF TG_OP = 'DELETE' THEN
    UPDATE ${counter} SET n = n - d.rows FROM (SELECT count(*) AS rows FROM removed) AS d
    WHERE id = 0 AND d.rows > 0;
  ELSE
    UPDATE ${counter} SET n = 0 WHERE id = 0;
  END IF;
  RETURN NULL;
END
$counted$`,
    // Expired rows first; then 1/frequency of the rows (all with 0) that expire soonest,
    // never-expiring ones last, sparing the key just written.
    `CREATE OR REPLACE FUNCTION ${cull}(max_entries bigint, frequency integer, now_ms bigint, spare text)
RETURNS bigint LANGUAGE plpgsql AS $cull$
DECLARE
  total bigint;
  doomed bigint;
BEGIN
  SELECT n INTO total FROM ${counter} WHERE id = 0 FOR UPDATE;
  IF total IS NULL OR total <= max_entries THEN RETURN 0; END IF;
  DELETE FROM ${t} WHERE ctid = ANY(ARRAY(
    SELECT ctid FROM ${t} WHERE expires_at <= now_ms FOR UPDATE SKIP LOCKED));
  SELECT n INTO total FROM ${counter} WHERE id = 0;
  IF total <= max_entries THEN RETURN 0; END IF;
  doomed := CASE WHEN frequency = 0 THEN total
    ELSE greatest(total - max_entries, total / frequency) END;
  DELETE FROM ${t} WHERE ctid = ANY(ARRAY(
    SELECT ctid FROM ${t} WHERE key <> spare ORDER BY expires_at LIMIT doomed
    FOR UPDATE SKIP LOCKED));
  RETURN doomed;
END
$cull$`,
    `DROP TRIGGER IF EXISTS ${INSERT_TRIGGER} ON ${t}`,
    `DROP TRIGGER IF EXISTS skycache_count_deleted ON ${t}`,
    `DROP TRIGGER IF EXISTS skycache_count_truncated ON ${t}`,
    `CREATE TRIGGER ${INSERT_TRIGGER} AFTER INSERT ON ${t} REFERENCING NEW TABLE AS added
  FOR EACH STATEMENT EXECUTE FUNCTION ${counted}()`,
    `CREATE TRIGGER skycache_count_deleted AFTER DELETE ON ${t} REFERENCING OLD TABLE AS removed
  FOR EACH STATEMENT EXECUTE FUNCTION ${counted}()`,
    `CREATE TRIGGER skycache_count_truncated AFTER TRUNCATE ON ${t}
  FOR EACH STATEMENT EXECUTE FUNCTION ${counted}()`,
    `INSERT INTO ${counter} (id, n) SELECT 0, count(*) FROM ${t}
  ON CONFLICT (id) DO UPDATE SET n = EXCLUDED.n`,
  ].join(';\n');
}

/** The companion objects, for dropping them with the table (tests, clean-up scripts). */
export function countingDropSql(table: TableName): string {
  return [
    `DROP FUNCTION IF EXISTS ${table.companion(TRIGGER_FUNCTION_SUFFIX)}() CASCADE`,
    `DROP FUNCTION IF EXISTS ${table.companion(CULL_FUNCTION_SUFFIX)}(bigint, integer, bigint, text)`,
    `DROP TABLE IF EXISTS ${table.companion(COUNTER_SUFFIX)}`,
  ].join(';\n');
}

/** Runs a statement for the cull (with its own time limit). */
export type CullRunner = (statement: Statement, values: readonly unknown[]) => Promise<Rows>;

/** The cull a store with `maxEntries` runs after its inserts (see the top of this file). */
export class Culling {
  readonly statements: CountingStatements;
  readonly #run: CullRunner;
  readonly #maxEntries: number;
  readonly #cullFrequency: number;
  readonly #logger: Logger;
  readonly #context: Record<string, unknown>;

  constructor(
    table: TableName,
    run: CullRunner,
    maxEntries: number,
    cullFrequency: number,
    logger: Logger,
    context: Record<string, unknown>,
  ) {
    this.statements = countingStatements(table);
    this.#run = run;
    this.#maxEntries = maxEntries;
    this.#cullFrequency = cullFrequency;
    this.#logger = logger;
    this.#context = context;
  }

  /**
   * Called after a write that inserted `inserted` rows, having seen `seen` rows before its own
   * (`null`: the counter row was missing, and the table has just been counted again; the cull
   * function then decides on the fresh count). Culls if the count went over `maxEntries`. A
   * failed cull is logged, never the write's failure: the write itself is done.
   */
  async afterInsert(inserted: number, seen: unknown, spareKey: string, now: number): Promise<void> {
    if (inserted === 0) return;
    if (seen !== null && Number(seen) + inserted <= this.#maxEntries) return;
    try {
      await this.#run(this.statements.cull, [
        this.#maxEntries,
        this.#cullFrequency,
        Math.floor(now),
        spareKey,
      ]);
    } catch (error) {
      this.#logger.warn(
        { err: error, ...this.#context },
        'postgres: culling entries over maxEntries failed; the next insert tries again',
      );
    }
  }
}
