/**
 * The database of a disk cache: its schema, and opening a connection safely while other processes
 * may be opening, writing or creating the same file.
 *
 * Schema decisions (measured on better-sqlite3 12 / SQLite 3.5x, WAL, synchronous=NORMAL):
 * - A write costs about one WAL frame per B-tree page it dirties. An index on a time column
 *   (expiry, store time) is a queue: every write removes an entry at one end and appends at the
 *   other, dirtying two more pages and doubling the cost of `set`. So those indexes exist only once
 *   the cache has reached a limit and has to evict (see `ensureEvictionIndexes`); until then,
 *   expired rows are removed by a bounded sweep over rowid windows on writes.
 * - `totals` keeps the entry count and byte size, maintained by triggers, so limits are checked
 *   with one single-row read. The size trigger fires only when an entry's size changes.
 * - `trash` receives, by trigger, the file of every row removed or replaced in a transaction, so
 *   no statement has to read a row before overwriting it to learn about its file.
 * - A trigger or an index on a column an UPDATE sets runs on every such UPDATE: `set` of an inline
 *   payload over an entry without a file does not set `file` (statements.ts), which spares it the
 *   file trigger and the file index.
 */
import type BetterSqlite3 from 'better-sqlite3';
import { BackendError } from '../../core/errors.js';
import type { DiskPlace } from './errors.js';
import type { EvictionPolicy } from './options.js';

export type Database = BetterSqlite3.Database;

/** The database file inside the cache directory (with `-wal` and `-shm` beside it). */
export const DATABASE_FILE = 'skycache.db';

/** SQLite's page cache per connection, in KiB (its default is 2,000 KiB). */
const PAGE_CACHE_KIB = 32 * 1024;
/** How much of the database file is read through a memory map (bytes). */
const MMAP_BYTES = 64 * 1024 * 1024;

/** Bumped when the layout changes; stored in `PRAGMA user_version`. */
export const SCHEMA_VERSION = 1;

/**
 * A replaced file goes to the trash BEFORE the row changes, so that a write's own `RETURNING`
 * (evaluated after the row change, before AFTER triggers) already sees it: `set` is one statement.
 * (Databases made before this was a BEFORE trigger are brought up to date on open.)
 */
const FILE_REPLACED_TRIGGER = `CREATE TRIGGER entries_file_replaced BEFORE UPDATE OF file ON entries
  WHEN old.file IS NOT NULL AND old.file IS NOT new.file BEGIN
  INSERT INTO trash (file) VALUES (old.file);
END;`;

const CREATE_SCHEMA = `
CREATE TABLE entries (
  key          TEXT    NOT NULL PRIMARY KEY,
  value        BLOB,               -- the payload: TEXT for strings, BLOB for Buffers; NULL when in a file
  file         TEXT,               -- the value file under values/, or NULL
  expires_at   INTEGER,            -- ms since the epoch; NULL = never
  stored_at    INTEGER NOT NULL,   -- ms, for least-recently-stored
  accessed_at  INTEGER NOT NULL,   -- ms, for least-recently-used (and LFU ties)
  access_count INTEGER NOT NULL DEFAULT 0,
  size         INTEGER NOT NULL    -- UTF-8 bytes of key + payload
);
CREATE INDEX entries_by_file ON entries (file) WHERE file IS NOT NULL;

CREATE TABLE totals (
  id    INTEGER PRIMARY KEY CHECK (id = 0),
  count INTEGER NOT NULL,
  size  INTEGER NOT NULL
);
INSERT INTO totals (id, count, size) VALUES (0, 0, 0);

CREATE TABLE trash (file TEXT NOT NULL);

CREATE TABLE meta (name TEXT NOT NULL PRIMARY KEY, value) WITHOUT ROWID;

CREATE TRIGGER entries_inserted AFTER INSERT ON entries BEGIN
  UPDATE totals SET count = count + 1, size = size + new.size WHERE id = 0;
END;
CREATE TRIGGER entries_deleted AFTER DELETE ON entries BEGIN
  UPDATE totals SET count = count - 1, size = size - old.size WHERE id = 0;
END;
CREATE TRIGGER entries_resized AFTER UPDATE OF size ON entries WHEN new.size <> old.size BEGIN
  UPDATE totals SET size = size + new.size - old.size WHERE id = 0;
END;
CREATE TRIGGER entries_file_deleted AFTER DELETE ON entries WHEN old.file IS NOT NULL BEGIN
  INSERT INTO trash (file) VALUES (old.file);
END;
${FILE_REPLACED_TRIGGER}
`;

/** The order in which a policy evicts, and the index that serves it. */
export interface EvictionOrder {
  readonly index: string;
  readonly columns: string;
}

export const EVICTION_ORDERS: Readonly<Record<Exclude<EvictionPolicy, 'none'>, EvictionOrder>> = {
  'least-recently-stored': { index: 'entries_by_stored_at', columns: 'stored_at' },
  'least-recently-used': { index: 'entries_by_accessed_at', columns: 'accessed_at' },
  'least-frequently-used': {
    index: 'entries_by_access_count',
    columns: 'access_count, accessed_at',
  },
};

/** The index that finds expired entries without a scan, made together with the policy's. */
export const EXPIRY_INDEX = 'entries_by_expiry';

/** Blocks the thread (the store is synchronous by contract). */
function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code === 'SQLITE_LOCKED');
}

/**
 * Runs `step`, retrying while the database is busy, up to `timeoutMs`. Needed for the few
 * statements SQLite does not retry by itself through the busy handler (changing the journal mode
 * while another process opens the same new file).
 */
function retryWhileBusy<T>(step: () => T, timeoutMs: number): T {
  const deadline = Date.now() + timeoutMs;
  for (let pause = 2; ; pause = Math.min(pause * 2, 50)) {
    try {
      return step();
    } catch (error) {
      if (!isBusy(error) || Date.now() >= deadline) throw error;
      sleepSync(pause);
    }
  }
}

/**
 * Configures a fresh connection and makes sure the schema exists (creating it in one immediate
 * transaction, so that processes opening a new directory at once do not race).
 * @throws BackendError if the file was made by an incompatible version
 */
export function prepareDatabase(db: Database, place: DiskPlace): void {
  const { busyTimeoutMs, databaseFile } = place;
  const fail = (problem: string) =>
    new BackendError(`cache "${place.alias}": disk open failed: ${problem}`);
  const mode = retryWhileBusy(
    () => db.pragma('journal_mode = WAL', { simple: true }),
    busyTimeoutMs,
  );
  if (mode !== 'wal') {
    // WAL needs shared memory beside the file, which network file systems do not provide.
    throw fail(
      `${databaseFile} cannot use SQLite's WAL journal (it stays in ${String(mode)} mode); put the cache in a directory on a local file system`,
    );
  }
  // Durable against a crash of the process (the WAL is in the OS's hands at commit); an OS crash
  // or power loss may lose the last commits, but never corrupts the file.
  db.pragma('synchronous = NORMAL');
  // The WAL is truncated back to this after a checkpoint, instead of keeping its largest size.
  db.pragma('journal_size_limit = 67108864');
  // Reads of a cache larger than SQLite's default 2 MB page cache would otherwise copy pages in
  // with a system call each; python-diskcache uses the same two settings.
  db.pragma(`cache_size = -${PAGE_CACHE_KIB}`);
  db.pragma(`mmap_size = ${MMAP_BYTES}`);
  if (db.pragma('user_version', { simple: true }) === SCHEMA_VERSION) {
    upgradeTriggers(db, busyTimeoutMs);
    return;
  }
  const create = db.transaction(() => {
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version === SCHEMA_VERSION) return;
    if (version !== 0) {
      throw fail(
        `${databaseFile} has layout version ${version}, which this version of skycache (layout ${SCHEMA_VERSION}) cannot read. It holds only cached data: delete it with its -wal and -shm files, or point location at another directory`,
      );
    }
    db.exec(CREATE_SCHEMA);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  });
  retryWhileBusy(() => create.immediate(), busyTimeoutMs);
}

/** Replaces the AFTER trigger of databases made before {@link FILE_REPLACED_TRIGGER}. */
function upgradeTriggers(db: Database, busyTimeoutMs: number): void {
  const current = db
    .prepare(
      "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'entries_file_replaced'",
    )
    .pluck();
  if (!/AFTER UPDATE/i.test(String(current.get()))) return;
  const upgrade = db.transaction(() => {
    if (!/AFTER UPDATE/i.test(String(current.get()))) return;
    db.exec(`DROP TRIGGER entries_file_replaced; ${FILE_REPLACED_TRIGGER}`);
  });
  retryWhileBusy(() => upgrade.immediate(), busyTimeoutMs);
}

/** Whether an index exists. */
export function hasIndex(db: Database, name: string): boolean {
  return (
    db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?").get(name) !==
    undefined
  );
}
