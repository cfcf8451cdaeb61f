/**
 * Every SQL statement the disk store runs, prepared once per store. Rows are read as arrays
 * (`raw`) or single values (`pluck`): cheaper than objects on the hot path.
 */
import type BetterSqlite3 from 'better-sqlite3';
import type { Payload } from '../../core/store.js';
import type { EvictionPolicy } from './options.js';
import { EVICTION_ORDERS, type Database } from './schema.js';
import type { SqlKeyFilter } from './glob.js';

type Statement = BetterSqlite3.Statement;

/** An entry as read: payload (NULL when in a file), file, expiry, size. */
export type EntryRow = [
  value: Payload | null,
  file: string | null,
  expiresAt: number | null,
  size: number,
];
/** A deleted entry: its expiry and file. */
export type DeletedRow = [expiresAt: number | null, file: string | null];
/**
 * What `write` and `writeInline` give: the entry count and bytes as they were before the write,
 * and whether the trash held files (for `write`, its own included).
 */
export type WriteRow = [countBefore: number, sizeBefore: number, trashPending: number];
/** `totals` as read after a write: entry count, bytes, whether the trash holds files. */
export type TotalsRow = [count: number, size: number, trashPending: number];

/**
 * The row of a writing statement with RETURNING run on its own (autocommit), read with `all()`:
 * `get()` resets the statement before SQLite reports SQLITE_DONE, and a commit that happens on
 * reset skips the WAL hook, so the WAL would never be checkpointed and would grow without bound.
 */
export function firstRow(rows: unknown[]): unknown {
  return rows[0];
}

/** Rows in one expiry sweep window: at most this many expired entries go per sweep. */
export const SWEEP_WINDOW_ROWS = 256;
/** Rows per page of `keys()` and per transaction of `deleteMatching()`. */
export const PAGE_ROWS = 1000;

const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const ENTRY_COLUMNS = 'value, file, expires_at, size';
const UPSERT = `INSERT INTO entries (key, value, file, expires_at, stored_at, accessed_at, size)
  VALUES (?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT (key) DO UPDATE SET value = excluded.value, file = excluded.file,
    expires_at = excluded.expires_at, stored_at = excluded.stored_at,
    accessed_at = excluded.accessed_at, size = excluded.size`;
// `upsert` for a payload kept inline over an entry that has no file: `file` is not among the
// columns it sets, so neither the file trigger nor the file index has anything to do (together
// about a twentieth of a 1 KiB set). Over an entry with a file it changes nothing (0 changes),
// and `upsert` runs instead.
const UPSERT_INLINE = `INSERT INTO entries (key, value, file, expires_at, stored_at, accessed_at, size)
  VALUES (?, ?, NULL, ?, ?, ?, ?)
  ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at,
    stored_at = excluded.stored_at, accessed_at = excluded.accessed_at, size = excluded.size
  WHERE entries.file IS NULL`;
// The totals before the write, read inside the upsert's own statement by a function that hands
// them to {@link writtenRow} and returns NULL: about a twentieth of a 1 KiB set, where RETURNING
// them (an ephemeral table per statement) took a sixth. It cannot see the trash trigger's insert,
// which an inline upsert never fires.
const TOTALS_BEFORE = 'skycache_totals_before';
const WRITE_INLINE = UPSERT_INLINE.replace(
  'VALUES (?, ?, NULL, ?, ?, ?, ?)',
  `VALUES (?, ?, NULL, ?, ?, ?, coalesce((SELECT ${TOTALS_BEFORE}(count, size,
     EXISTS (SELECT 1 FROM trash)) FROM totals WHERE id = 0), ?))`,
);
const writtenRows = new WeakMap<Database, WriteRow>();

/** The row the last `writeInline` on this connection filled in (one per connection). */
export function writtenRow(db: Database): WriteRow {
  let row = writtenRows.get(db);
  if (row === undefined) {
    const filled: WriteRow = [0, 0, 0];
    db.function(
      TOTALS_BEFORE,
      { deterministic: false, directOnly: true },
      (count: unknown, size: unknown, trash: unknown) => {
        filled[0] = count as number;
        filled[1] = size as number;
        filled[2] = trash as number;
        return null;
      },
    );
    writtenRows.set(db, filled);
    row = filled;
  }
  return row;
}
// Integer text: an optional '-' and digits only, within the safe integer range before and after.
// (better-sqlite3 binds every JS number as REAL, hence the CAST of @delta.)
const INCR = `UPDATE entries
  SET value = CAST(CAST(value AS INTEGER) + CAST(@delta AS INTEGER) AS TEXT),
      size = size - length(value)
        + length(CAST(CAST(value AS INTEGER) + CAST(@delta AS INTEGER) AS TEXT)),
      stored_at = @now, accessed_at = @now, access_count = access_count + 1
  WHERE key = @key AND (expires_at IS NULL OR expires_at > @now)
    AND typeof(value) = 'text'
    AND (value GLOB '[0-9]*' OR value GLOB '-[0-9]*') AND substr(value, 2) NOT GLOB '*[^0-9]*'
    AND CAST(value AS INTEGER) BETWEEN -${MAX_SAFE} AND ${MAX_SAFE}
    AND CAST(value AS INTEGER) + CAST(@delta AS INTEGER) BETWEEN -${MAX_SAFE} AND ${MAX_SAFE}
  RETURNING value`;

/** The prepared statements of one store (see each for its parameters). */
export interface DiskStatements {
  /** (key) → EntryRow */
  readonly selectEntry: Statement;
  /** The read of `get`: `selectEntry`, or under LRU/LFU (now, key, now) → live EntryRow, updating use. */
  readonly readEntry: Statement;
  /** (key) → expiry */
  readonly selectExpiry: Statement;
  /** (key, value, file, expiresAt, now, now, size) */
  readonly upsert: Statement;
  /** (key, inline value, expiresAt, now, now, size): 0 changes if the entry has a file */
  readonly upsertInline: Statement;
  /** `upsertInline` for `set`, filling in {@link writtenRow}: (same parameters) */
  readonly writeInline: Statement;
  /** `upsert` on its own, for `set` of a file or over one: (same as upsert) → WriteRow */
  readonly write: Statement;
  /** The read of `get` under least-recently-stored: (key, now) → the inline payload of a live
   *  entry, `null` if its payload is in a file, `undefined` if absent or expired */
  readonly readValue: Statement;
  /** `upsert` that only replaces an expired entry: (…upsert parameters, now) */
  readonly insertIfAbsent: Statement;
  /** (key) → DeletedRow */
  readonly deleteEntry: Statement;
  /** (key, inline value, now): deletes a live entry holding exactly that value */
  readonly deleteIfValue: Statement;
  /** (expiresAt, key, inline value, now): sets the expiry of a live entry holding that value */
  readonly touchIfValue: Statement;
  /** (key, file) */
  readonly deleteDangling: Statement;
  /** (expiresAt, key, now) */
  readonly touch: Statement;
  /** (to, size change, from, now): renames a live entry; its file, if any, goes along */
  readonly rename: Statement;
  /** ({ key, delta, now }) → the new integer text, if the entry is a live integer */
  readonly incr: Statement;
  /** () → TotalsRow */
  readonly totals: Statement;
  /** (now, after rowid) → the next sweep window: [its last rowid, its rows, how many expired] */
  readonly sweepWindowScan: Statement;
  /** (after rowid, last rowid, now) */
  readonly sweepWindow: Statement;
  /** (now) */
  readonly deleteExpired: Statement;
  /** (key to keep, how many), in policy order; none under the 'none' policy */
  readonly evictInOrder: Statement | undefined;
  /** () → the files in the trash, emptying it */
  readonly drain: Statement;
  /** (file) → 1 if a row refers to it */
  readonly isReferenced: Statement;
  /** (name) → value */
  readonly readMeta: Statement;
  /** (name, value) */
  readonly writeMeta: Statement;
  /** () → the largest rowid */
  readonly maxRowid: Statement;
  /** () → removes up to PAGE_ROWS entries */
  readonly clearBatch: Statement;
  /** () → 1 if there is any entry */
  readonly anyEntry: Statement;
  /** () */
  readonly resetTotals: Statement;
}

export function prepareStatements(db: Database, policy: EvictionPolicy): DiskStatements {
  const selectEntry = db.prepare(`SELECT ${ENTRY_COLUMNS} FROM entries WHERE key = ?`).raw();
  const counts = policy === 'least-frequently-used' ? ', access_count = access_count + 1' : '';
  const readsWrite = policy === 'least-recently-used' || policy === 'least-frequently-used';
  return {
    selectEntry,
    readEntry: readsWrite
      ? db
          .prepare(
            `UPDATE entries SET accessed_at = ?${counts}
             WHERE key = ? AND (expires_at IS NULL OR expires_at > ?) RETURNING ${ENTRY_COLUMNS}`,
          )
          .raw()
      : selectEntry,
    selectExpiry: db.prepare('SELECT expires_at FROM entries WHERE key = ?').pluck(),
    upsert: db.prepare(UPSERT),
    upsertInline: db.prepare(UPSERT_INLINE),
    writeInline: (writtenRow(db), db.prepare(WRITE_INLINE)),
    write: db
      .prepare(
        `${UPSERT} RETURNING (SELECT count FROM totals WHERE id = 0),
           (SELECT size FROM totals WHERE id = 0), EXISTS (SELECT 1 FROM trash)`,
      )
      .raw(),
    readValue: db
      .prepare('SELECT value FROM entries WHERE key = ? AND (expires_at IS NULL OR expires_at > ?)')
      .pluck(),
    // An expired entry counts as absent: `add` replaces it (and its use count starts over).
    insertIfAbsent: db.prepare(
      `${UPSERT}, access_count = 0 WHERE entries.expires_at IS NOT NULL AND entries.expires_at <= ?`,
    ),
    deleteEntry: db.prepare('DELETE FROM entries WHERE key = ? RETURNING expires_at, file').raw(),
    deleteDangling: db.prepare('DELETE FROM entries WHERE key = ? AND file = ?'),
    // `value = ?` compares type and bytes: TEXT only equals TEXT, BLOB only BLOB. Values kept in
    // files (large) never match; lock tokens are small.
    deleteIfValue: db.prepare(
      'DELETE FROM entries WHERE key = ? AND value = ? AND (expires_at IS NULL OR expires_at > ?)',
    ),
    touchIfValue: db.prepare(
      `UPDATE entries SET expires_at = ?
       WHERE key = ? AND value = ? AND (expires_at IS NULL OR expires_at > ?)`,
    ),
    touch: db.prepare(
      'UPDATE entries SET expires_at = ? WHERE key = ? AND (expires_at IS NULL OR expires_at > ?)',
    ),
    // The row keeps its payload and file: UPDATE OF key fires no file trigger, and the size trigger
    // accounts for the key's new length.
    rename: db.prepare(
      `UPDATE entries SET key = ?, size = size + ?
       WHERE key = ? AND (expires_at IS NULL OR expires_at > ?)`,
    ),
    incr: db.prepare(INCR).pluck(),
    totals: db
      .prepare('SELECT count, size, EXISTS (SELECT 1 FROM trash) FROM totals WHERE id = 0')
      .raw(),
    // One pass over the window, a read: the DELETE (a write) runs only if something expired.
    sweepWindowScan: db
      .prepare(
        `SELECT max(rowid), count(*), total(+expires_at <= ?) FROM
           (SELECT rowid, expires_at FROM entries WHERE rowid > ? ORDER BY rowid LIMIT ${SWEEP_WINDOW_ROWS})`,
      )
      .raw(),
    // `+expires_at`: walk the rowid window, never the expiry index (which would be unbounded).
    sweepWindow: db.prepare(
      'DELETE FROM entries WHERE rowid > ? AND rowid <= ? AND +expires_at <= ?',
    ),
    deleteExpired: db.prepare('DELETE FROM entries WHERE expires_at <= ?'),
    evictInOrder:
      policy === 'none'
        ? undefined
        : db.prepare(
            `DELETE FROM entries WHERE rowid IN (SELECT rowid FROM entries WHERE key <> ?
             ORDER BY ${EVICTION_ORDERS[policy].columns} LIMIT ?)`,
          ),
    drain: db.prepare('DELETE FROM trash RETURNING file').pluck(),
    isReferenced: db.prepare('SELECT 1 FROM entries WHERE file = ?').pluck(),
    readMeta: db.prepare('SELECT value FROM meta WHERE name = ?').pluck(),
    writeMeta: db.prepare('INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)'),
    maxRowid: db.prepare('SELECT max(rowid) FROM entries').pluck(),
    clearBatch: db.prepare(
      `DELETE FROM entries WHERE rowid IN (SELECT rowid FROM entries LIMIT ${PAGE_ROWS})`,
    ),
    anyEntry: db.prepare('SELECT 1 FROM entries LIMIT 1').pluck(),
    resetTotals: db.prepare('UPDATE totals SET count = 0, size = 0 WHERE id = 0'),
  };
}

/**
 * A page of keys in key order: `key >= lower` on the first page, `key > ?` (the last key of the
 * previous page) on the next ones. Parameters: {@link keyPageParameters}.
 */
export function keyPageSql(filter: SqlKeyFilter, nextPage: boolean, liveOnly: boolean): string {
  const conditions = [nextPage ? 'key > ?' : 'key >= ?'];
  if (filter.upper !== undefined) conditions.push('key < ?');
  if (filter.glob !== undefined) conditions.push('key GLOB ?');
  if (liveOnly) conditions.push('(expires_at IS NULL OR expires_at > ?)');
  return `SELECT key FROM entries WHERE ${conditions.join(' AND ')} ORDER BY key LIMIT ${PAGE_ROWS}`;
}

export function keyPageParameters(
  filter: SqlKeyFilter,
  after: string | undefined,
  now?: number,
): Array<string | number> {
  const parameters: Array<string | number> = [after ?? filter.lower];
  if (filter.upper !== undefined) parameters.push(filter.upper);
  if (filter.glob !== undefined) parameters.push(filter.glob);
  if (now !== undefined) parameters.push(now);
  return parameters;
}

/** Deletes the matching keys in a key range (first, last, [glob], now) → [live, hasFile] rows. */
export function deleteRangeSql(filter: SqlKeyFilter): string {
  return `DELETE FROM entries WHERE key >= ? AND key <= ?${filter.glob === undefined ? '' : ' AND key GLOB ?'}
    RETURNING (expires_at IS NULL OR expires_at > ?), file IS NOT NULL`;
}
