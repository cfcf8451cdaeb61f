/**
 * Every SQL text the postgres backend runs, built once per table: the table's DDL and one named
 * prepared statement per operation. The table name is validated and quoted here, and nowhere else
 * is an identifier put into SQL; values always travel as parameters.
 *
 * Layout: `key text COLLATE "C"` (byte order, so prefix ranges and `LIKE` prefixes use the primary
 * key), the payload in `value text` (text payloads: JSON and integers stay readable and `incr`
 * works on them in SQL) or `data bytea` (binary payloads), and `expires_at bigint`, absolute
 * milliseconds on the cache's clock (`NULL` = never). Every statement takes "now" as a parameter
 * instead of calling `now()`, so that a cache's own clock (and a test's) decides what has expired.
 */
import { createHash } from 'node:crypto';

/** A validated table name and the quoted forms SQL needs. */
export interface TableName {
  /** As written in the options: `skycache_entries` or `cache.skycache_entries`. */
  readonly display: string;
  /** Quoted, schema-qualified if a schema was given: `"cache"."skycache_entries"`. */
  readonly sql: string;
  /** The expiry index, quoted, unqualified (an index lives in its table's schema). */
  readonly expiryIndexSql: string;
  /** Arguments for `to_regclass()`: the table and its expiry index, quoted and qualified. */
  readonly regclass: readonly [table: string, index: string];
  /** A companion object named `<table><suffix>` in the table's schema, quoted and qualified. */
  readonly companion: (suffix: string) => string;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Leaves room for the `_expires_at` (and `_counted`) suffix within PostgreSQL's 63-byte identifiers. */
const MAX_TABLE_LENGTH = 52;
const MAX_SCHEMA_LENGTH = 63;
const EXPIRY_INDEX_SUFFIX = '_expires_at';

/**
 * Validates `table` or `schema.table` (letters, digits and `_`, not starting with a digit; the
 * table at most 52 characters). Names are quoted, so they are case-sensitive.
 */
export function parseTableName(input: unknown): { name?: TableName; problem?: string } {
  if (typeof input !== 'string') return { problem: `expected a string, got ${typeof input}` };
  const parts = input.split('.');
  const [first, second] = parts;
  const schema = parts.length === 2 ? first : undefined;
  const table = parts.length === 2 ? second : first;
  const valid = (part: string | undefined, max: number) =>
    part !== undefined && IDENTIFIER.test(part) && part.length <= max;
  if (
    parts.length > 2 ||
    !valid(table, MAX_TABLE_LENGTH) ||
    (schema !== undefined && !valid(schema, MAX_SCHEMA_LENGTH))
  ) {
    return {
      problem: `${JSON.stringify(input)} is not a valid table name: use "table" or "schema.table" with letters, digits and _ (not starting with a digit), the table at most ${MAX_TABLE_LENGTH} characters`,
    };
  }
  const quoted = (part: string) => `"${part}"`;
  const qualify = (name: string) =>
    schema === undefined ? quoted(name) : `${quoted(schema)}.${quoted(name)}`;
  const index = `${table!}${EXPIRY_INDEX_SUFFIX}`;
  return {
    name: {
      display: input,
      sql: qualify(table!),
      expiryIndexSql: quoted(index),
      regclass: [qualify(table!), qualify(index)],
      companion: (suffix) => qualify(`${table!}${suffix}`),
    },
  };
}

/** A named prepared statement. The name is derived from the text, so it can never be reused for another text. */
export interface Statement {
  readonly name: string;
  readonly text: string;
}

export function statement(text: string): Statement {
  const compact = text.replace(/\s+/g, ' ').trim();
  return {
    name: `skycache_${createHash('sha1').update(compact).digest('hex').slice(0, 24)}`,
    text: compact,
  };
}

/** `expires_at` is later than parameter `$n` (now) or absent. */
const live = (n: number) => `(expires_at IS NULL OR expires_at > $${n})`;

export const UPSERT_SET =
  'ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, data = EXCLUDED.data, expires_at = EXCLUDED.expires_at';

/** The largest safe integer, which `incr` results must stay within (as in JavaScript). */
const MAX_SAFE = '9007199254740991';

/** Statements over keys matched by prefix range, `LIKE` and an optional regular expression. */
export interface MatchStatements {
  /** `$1` lower bound, `$2` upper bound, `$3` after (cursor), `$4` LIKE, `$5` regex or NULL, `$6` now, `$7` limit. */
  readonly keysPage: Statement;
  /** `$1` lower, `$2` upper, `$3` LIKE, `$4` regex or NULL, `$5` now, `$6` batch size → `[removed, live]`. */
  readonly deleteBatch: Statement;
}

function matchStatements(t: string, bounded: boolean): MatchStatements {
  // Parameter numbers shift by one when there is no upper bound.
  const p = (n: number) => (bounded || n < 2 ? n : n - 1);
  const range = bounded ? 'key >= $1 AND key < $2' : 'key >= $1';
  return {
    keysPage: statement(
      `SELECT key FROM ${t} WHERE ${range} AND key > $${p(3)} AND key LIKE $${p(4)}
       AND ($${p(5)}::text IS NULL OR key ~ $${p(5)}) AND ${live(p(6))}
       ORDER BY key LIMIT $${p(7)}`,
    ),
    deleteBatch: statement(
      `WITH victims AS (
         SELECT key FROM ${t} WHERE ${range} AND key LIKE $${p(3)}
         AND ($${p(4)}::text IS NULL OR key ~ $${p(4)}) ORDER BY key LIMIT $${p(6)} FOR UPDATE
       ), gone AS (
         DELETE FROM ${t} AS e USING victims WHERE e.key = victims.key RETURNING e.expires_at
       )
       SELECT count(*)::int, (count(*) FILTER (WHERE ${live(p(5))}))::int FROM gone`,
    ),
  };
}

/** Every statement for one table. Parameters are listed as `$n meaning`. */
export interface TableStatements {
  /** `$1` key, `$2` now → `[value, data]`. */
  readonly get: Statement;
  /** `$1` keys, `$2` now → `[key, value, data]`. */
  readonly getMany: Statement;
  /** `$1` key, `$2` value, `$3` data, `$4` expires_at. */
  readonly set: Statement;
  /** `$1` keys, `$2` values, `$3` datas (arrays, position for position), `$4` expires_at. */
  readonly setMany: Statement;
  /** As `set`, plus `$5` now: replaces only an expired row. Row count 1 if stored. */
  readonly add: Statement;
  /** `$1` key, `$2` now → `[live]` if a row was removed. */
  readonly delete: Statement;
  /** `$1` keys, `$2` now → `[live rows removed]`. */
  readonly deleteMany: Statement;
  /** `$1` key, `$2` now → a row if live. */
  readonly has: Statement;
  /** `$1` key, `$2` expires_at, `$3` now. Row count 1 if touched. */
  readonly touch: Statement;
  /** `$1` key, `$2` value, `$3` data, `$4` now. Row count 1 if the live row held exactly that and is gone. */
  readonly deleteIfValue: Statement;
  /** `$1` key, `$2` value, `$3` data, `$4` expires_at, `$5` now. Row count 1 if renewed. */
  readonly touchIfValue: Statement;
  /** `$1` from, `$2` to, `$3` now → one row if the live row moved (replacing what `to` held). */
  readonly move: Statement;
  /**
   * `$1` key, `$2` delta, `$3` now → no row if absent or expired, else `[current, next]` with
   * `next` NULL when the value is not an integer or the result would leave the safe range.
   */
  readonly incr: Statement;
  /** `$1` key, `$2` now → `[expires_at]`. */
  readonly expiry: Statement;
  /** Key matching with a finite upper bound of the prefix range. */
  readonly bounded: MatchStatements;
  /** Key matching when the prefix has no finite upper bound (an empty prefix). */
  readonly unbounded: MatchStatements;
  /** `$1` now, `$2` limit: removes that many expired rows at most, skipping rows in use. */
  readonly purgeExpired: Statement;
}

/** Builds the statements for a table. */
export function tableStatements(table: TableName): TableStatements {
  const t = table.sql;
  return {
    get: statement(`SELECT value, data FROM ${t} WHERE key = $1 AND ${live(2)}`),
    getMany: statement(
      `SELECT key, value, data FROM ${t} WHERE key = ANY($1::text[]) AND ${live(2)}`,
    ),
    set: statement(
      `INSERT INTO ${t} (key, value, data, expires_at) VALUES ($1, $2, $3, $4) ${UPSERT_SET}`,
    ),
    setMany: statement(
      `INSERT INTO ${t} (key, value, data, expires_at)
       SELECT k, v, d, $4::bigint FROM unnest($1::text[], $2::text[], $3::bytea[]) AS u(k, v, d)
       ${UPSERT_SET}`,
    ),
    add: statement(
      `INSERT INTO ${t} AS e (key, value, data, expires_at) VALUES ($1, $2, $3, $4)
       ${UPSERT_SET} WHERE e.expires_at <= $5`,
    ),
    delete: statement(`DELETE FROM ${t} WHERE key = $1 RETURNING ${live(2)}`),
    deleteMany: statement(
      `WITH gone AS (DELETE FROM ${t} WHERE key = ANY($1::text[]) RETURNING expires_at)
       SELECT count(*)::int FROM gone WHERE ${live(2)}`,
    ),
    has: statement(`SELECT 1 FROM ${t} WHERE key = $1 AND ${live(2)}`),
    touch: statement(`UPDATE ${t} SET expires_at = $2 WHERE key = $1 AND ${live(3)}`),
    deleteIfValue: statement(
      `DELETE FROM ${t} WHERE key = $1 AND value IS NOT DISTINCT FROM $2
         AND data IS NOT DISTINCT FROM $3 AND ${live(4)}`,
    ),
    touchIfValue: statement(
      `UPDATE ${t} SET expires_at = $4 WHERE key = $1 AND value IS NOT DISTINCT FROM $2
         AND data IS NOT DISTINCT FROM $3 AND ${live(5)}`,
    ),
    move: statement(
      `WITH moved AS (DELETE FROM ${t} WHERE key = $1 AND ${live(3)} RETURNING value, data, expires_at)
       INSERT INTO ${t} (key, value, data, expires_at)
       SELECT $2, value, data, expires_at FROM moved ${UPSERT_SET} RETURNING 1`,
    ),
    // The row is locked first (FOR UPDATE waits for a concurrent incr and then sees its result),
    // and the CASE guards the casts, which SQL would otherwise be free to evaluate first.
    incr: statement(
      `WITH target AS (
         SELECT key, value FROM ${t} WHERE key = $1 AND ${live(3)} FOR UPDATE
       ), updated AS (
         UPDATE ${t} AS e SET value = (target.value::numeric + $2::numeric)::text
         FROM target
         WHERE e.key = target.key
           AND CASE WHEN target.value ~ '^-?[0-9]+$' AND length(target.value) <= 1000
           THEN abs(target.value::numeric) <= ${MAX_SAFE}
             AND abs(target.value::numeric + $2::numeric) <= ${MAX_SAFE}
           ELSE false END
         RETURNING e.value
       )
       SELECT target.value, updated.value FROM target LEFT JOIN updated ON true`,
    ),
    expiry: statement(`SELECT expires_at FROM ${t} WHERE key = $1 AND ${live(2)}`),
    bounded: matchStatements(t, true),
    unbounded: matchStatements(t, false),
    // By ctid: the rows are locked by the inner SELECT, so their ctids stay theirs, and the
    // delete is a TID scan whatever plan the prepared statement settles on.
    purgeExpired: statement(
      `DELETE FROM ${t} WHERE ctid = ANY(ARRAY(
         SELECT ctid FROM ${t} WHERE expires_at <= $1 ORDER BY expires_at LIMIT $2
         FOR UPDATE SKIP LOCKED))`,
    ),
  };
}

/**
 * `$1`, `$2`: the table and index for `to_regclass` → `[table exists, index exists, table is
 * unlogged]`.
 */
export const EXISTS_STATEMENT = statement(
  `SELECT to_regclass($1) IS NOT NULL, to_regclass($2) IS NOT NULL,
     (SELECT relpersistence = 'u' FROM pg_class WHERE oid = to_regclass($1))`,
);

/**
 * The DDL that creates the table and its expiry index, after taking an advisory lock derived from
 * the table name: several processes starting at once would otherwise race on the catalog
 * (`CREATE … IF NOT EXISTS` is not safe against itself).
 *
 * Sent as one simple query, these statements run as one implicit transaction, which holds the
 * lock to the end and rolls back cleanly on failure. (An explicit BEGIN would leave a connection
 * inside an aborted transaction when a statement fails.) `transaction: true` wraps them in
 * BEGIN/COMMIT for running by hand, as `skycache createtable --dry-run` prints them.
 */
export function createTableSql(
  table: TableName,
  unlogged: boolean,
  { transaction = false } = {},
): string {
  const lock = createHash('sha1').update(`skycache table ${table.regclass[0]}`).digest();
  const statements = [
    `SELECT pg_advisory_xact_lock(${lock.readInt32BE(0)}, ${lock.readInt32BE(4)})`,
    `CREATE ${unlogged ? 'UNLOGGED ' : ''}TABLE IF NOT EXISTS ${table.sql} (
  key text COLLATE "C" NOT NULL PRIMARY KEY,
  value text,
  data bytea,
  expires_at bigint,
  CHECK ((value IS NULL) <> (data IS NULL))
)`,
    `CREATE INDEX IF NOT EXISTS ${table.expiryIndexSql} ON ${table.sql} (expires_at)`,
  ];
  return (transaction ? ['BEGIN', ...statements, 'COMMIT'] : statements).join(';\n');
}

/**
 * Empties the table. `TRUNCATE` needs an exclusive lock: waiting for it longer than `lockTimeoutMs`
 * fails instead of queueing every other client of the table behind it. (One implicit transaction,
 * so `SET LOCAL` applies to the `TRUNCATE` only.)
 */
export function truncateSql(table: TableName, lockTimeoutMs: number): string {
  // lock_timeout is an int4 of ms: past that (an operationTimeout of weeks) the client's own
  // statement timer is the bound, so the server's stops at its maximum instead of erroring.
  const ms = Math.min(Math.max(1, Math.ceil(lockTimeoutMs)), 2_147_483_647);
  return `SET LOCAL lock_timeout = ${ms}; TRUNCATE ${table.sql}`;
}
