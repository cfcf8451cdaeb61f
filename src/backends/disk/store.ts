/**
 * The disk store: one SQLite database (better-sqlite3, WAL) plus value files, in one directory,
 * shared safely by every connection and process that opens it.
 *
 * Concurrency: every write that runs more than one statement is an IMMEDIATE transaction (it
 * takes the write lock up front, so SQLite's busy handler makes it wait for other writers instead
 * of failing with SQLITE_BUSY halfway); single statements run on their own. `set`, `add` and `incr` are
 * single SQL statements, atomic across processes. Reads never wait for writers (WAL).
 */
import { join, resolve } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { ConfigError, InvalidValueError, KeyNotFoundError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type {
  BackendContext,
  KeyMatch,
  Payload,
  Store,
  StoreCapabilities,
} from '../../core/store.js';
import { parseIntegerPayload } from '../../serializers/codec.js';
import {
  acquireConnection,
  loadDriver,
  releaseConnection,
  type SharedConnection,
} from './connection.js';
import { diskError, type DiskPlace } from './errors.js';
import { MissingValueFile, ValueFiles } from './files.js';
import { toSqlKeyFilter } from './glob.js';
import { resolveDiskOptions, type DiskOptions } from './options.js';
import { DATABASE_FILE, type Database } from './schema.js';
import {
  deleteRangeSql,
  keyPageParameters,
  keyPageSql,
  PAGE_ROWS,
  prepareStatements,
  type DeletedRow,
  type DiskStatements,
  type EntryRow,
  type TotalsRow,
  type WriteRow,
} from './statements.js';
import { dropEvictionIndexes, Upkeep } from './upkeep.js';

type Statement = BetterSqlite3.Statement;
type Transaction<F extends (...args: never[]) => unknown> = BetterSqlite3.Transaction<F>;

/** What a write stores: the payload inline, or the name of the file just written for it. */
interface PreparedEntry {
  readonly key: string;
  readonly inline: Payload | null;
  readonly file: string | null;
  /** UTF-8 bytes of key + payload. */
  readonly size: number;
}

/**
 * The row of a writing statement with RETURNING run on its own (autocommit), read with `all()`:
 * `get()` resets the statement before SQLite reports SQLITE_DONE, and a commit that happens on
 * reset skips the WAL hook, so the WAL would never be checkpointed and would grow without bound.
 */
function firstRow(rows: unknown[]): unknown {
  return rows[0];
}

/** A value file younger than this is never taken for an orphan (its row may not be committed). */
const ORPHAN_GRACE_MS = 10 * 60_000;
/** Orphans are looked for when a store opens at most this often (and on every `clear()`). */
const ORPHAN_SWEEP_INTERVAL_MS = 60 * 60_000;
/** Reads of a value file that vanished (replaced by another process meanwhile) before giving up. */
const FILE_READ_ATTEMPTS = 3;

/**
 * Opens (creating if needed) the disk store in `context.location`, a directory resolved against
 * the working directory.
 * @throws ConfigError without a location or without better-sqlite3; BackendError if the
 *   directory or database cannot be used (the message says why and what to do)
 */
export function openDiskStore(context: BackendContext): DiskStore {
  if (context.location === '') {
    throw new ConfigError(
      `cache "${context.alias}": field "location": the disk backend needs a directory (disk:///abs/dir or disk://./rel/dir)`,
    );
  }
  const options = resolveDiskOptions(context.options);
  const directory = resolve(context.location);
  const place: DiskPlace = {
    alias: context.alias,
    directory,
    databaseFile: join(directory, DATABASE_FILE),
    busyTimeoutMs: options.busyTimeoutMs,
  };
  const Driver = loadDriver(context.alias);
  let shared: SharedConnection | undefined;
  try {
    shared = acquireConnection(place, Driver);
    return new DiskStore(shared, options, place, context.now, context.logger);
  } catch (error) {
    if (shared) releaseConnection(shared);
    throw diskError(error, 'open', place);
  }
}

/** The disk backend's store. See docs/disk.md. */
export class DiskStore implements Store {
  readonly capabilities: StoreCapabilities = { sync: true, shared: true };
  /** The absolute directory holding the database and the value files. */
  readonly directory: string;
  readonly #connection: SharedConnection;
  readonly #db: Database;
  readonly #files: ValueFiles;
  readonly #options: DiskOptions;
  readonly #place: DiskPlace;
  readonly #now: () => number;
  readonly #logger: Logger;
  /** Whether reads update the entry (LRU, LFU): then they are writes, and wait for the lock. */
  readonly #readsWrite: boolean;

  readonly #sql: DiskStatements;
  readonly #upkeep: Upkeep;

  readonly #setManyTx: Transaction<
    (
      entries: readonly PreparedEntry[],
      dropped: readonly string[],
      expiresAt: number | null,
      now: number,
    ) => void
  >;
  readonly #addTx: Transaction<
    (entry: PreparedEntry, expiresAt: number | null, now: number) => boolean
  >;
  readonly #deleteManyTx: Transaction<(keys: readonly string[], now: number) => number>;
  readonly #incrTx: Transaction<(key: string, delta: number, now: number) => number>;
  readonly #resetIfEmptyTx: Transaction<() => void>;
  readonly #moveTx: Transaction<(from: string, to: string, now: number) => boolean>;

  #closed = false;
  /** Set inside a write transaction when removed rows may have left files in the trash. */
  #trashPending = false;

  constructor(
    connection: SharedConnection,
    options: DiskOptions,
    place: DiskPlace,
    now: () => number,
    logger: Logger,
  ) {
    const db = connection.db;
    this.#connection = connection;
    this.#db = db;
    this.#options = options;
    this.#place = place;
    this.directory = place.directory;
    this.#now = now;
    this.#logger = logger;
    this.#files = new ValueFiles(place.directory);
    const policy = options.evictionPolicy;
    this.#readsWrite = policy === 'least-recently-used' || policy === 'least-frequently-used';

    const sql = prepareStatements(db, policy);
    this.#sql = sql;

    this.#setManyTx = db.transaction(
      (
        entries: readonly PreparedEntry[],
        dropped: readonly string[],
        expiresAt: number | null,
        now: number,
      ) => {
        for (const entry of entries) {
          sql.upsert.run(entry.key, entry.inline, entry.file, expiresAt, now, now, entry.size);
        }
        for (const key of dropped) sql.deleteEntry.run(key);
        const last = entries[entries.length - 1];
        if (last) this.#afterWrite(last.key, now);
        else this.#trashPending = true;
      },
    );
    this.#addTx = db.transaction((entry: PreparedEntry, expiresAt: number | null, now: number) => {
      const { changes } = sql.insertIfAbsent.run(
        entry.key,
        entry.inline,
        entry.file,
        expiresAt,
        now,
        now,
        entry.size,
        now,
      );
      if (changes === 0) return false;
      this.#afterWrite(entry.key, now);
      return true;
    });
    this.#deleteManyTx = db.transaction((keys: readonly string[], now: number) => {
      let removed = 0;
      for (const key of keys) {
        const row = sql.deleteEntry.get(key) as DeletedRow | undefined;
        if (row === undefined) continue;
        if (row[0] === null || row[0] > now) removed++;
        if (row[1] !== null) this.#trashPending = true;
      }
      return removed;
    });
    this.#incrTx = db.transaction((key: string, delta: number, now: number) =>
      this.#incrOrExplain(key, delta, now),
    );
    this.#moveTx = db.transaction((from: string, to: string, now: number) => {
      // Inside the write lock: nobody changes `from` between this check and the rename.
      const expiresAt = sql.selectExpiry.get(from) as number | null | undefined;
      if (expiresAt === undefined || (expiresAt !== null && expiresAt <= now)) return false;
      if (from === to) return true;
      // `to` goes first (its file to the trash), then `from` takes its name, file and all.
      if (sql.deleteEntry.get(to) !== undefined) this.#trashPending = true;
      sql.rename.run(to, Buffer.byteLength(to) - Buffer.byteLength(from), from, now);
      this.#afterWrite(to, now);
      return true;
    });
    this.#resetIfEmptyTx = db.transaction(() => {
      if (sql.anyEntry.get() !== undefined) return;
      // Counted by triggers, reset anyway; and an empty cache is back to cheap writes (no
      // eviction indexes) until it reaches a limit again.
      sql.resetTotals.run();
      dropEvictionIndexes(db);
    });

    this.#upkeep = new Upkeep(db, sql, options);
    this.#maintainOnOpen();
  }

  /** The better-sqlite3 `Database`, shared by the stores on this directory in this process. */
  get client(): Database {
    return this.#db;
  }

  // ---- reads ------------------------------------------------------------------------------

  get(key: string): Payload | undefined {
    try {
      return this.#read(key);
    } catch (error) {
      throw this.#fail(error, 'get');
    }
  }

  getMany(keys: readonly string[]): Array<Payload | undefined> {
    try {
      // One statement per key: SQLite runs in-process, so there is no round trip to save, and a
      // transaction around them would pin one snapshot while another process swaps a value file.
      return keys.map((key) => this.#read(key));
    } catch (error) {
      throw this.#fail(error, 'getMany');
    }
  }

  has(key: string): boolean {
    try {
      return this.#liveExpiry(key) !== undefined;
    } catch (error) {
      throw this.#fail(error, 'has');
    }
  }

  expiry(key: string): number | null | undefined {
    try {
      return this.#liveExpiry(key);
    } catch (error) {
      throw this.#fail(error, 'expiry');
    }
  }

  *keys(match: KeyMatch): Iterable<string> {
    const filter = toSqlKeyFilter(match);
    if (filter.matchesNothing) return;
    // Keyset pagination: no statement stays open between pages, so the caller may use the
    // cache (even delete these keys) while iterating, and no read transaction pins the WAL.
    let first: Statement;
    let next: Statement;
    try {
      first = this.#db.prepare(keyPageSql(filter, false, true)).pluck();
      next = this.#db.prepare(keyPageSql(filter, true, true)).pluck();
    } catch (error) {
      throw this.#fail(error, 'keys');
    }
    let after: string | undefined;
    for (;;) {
      let page: string[];
      try {
        const parameters = keyPageParameters(filter, after, this.#now());
        page = (after === undefined ? first : next).all(...parameters) as string[];
      } catch (error) {
        throw this.#fail(error, 'keys');
      }
      yield* page;
      if (page.length < PAGE_ROWS) return;
      after = page[page.length - 1];
    }
  }

  // ---- writes -----------------------------------------------------------------------------

  set(key: string, value: Payload, expiresAt: number | null): void {
    let entry: PreparedEntry | undefined;
    let before: WriteRow;
    const now = this.#now();
    try {
      entry = this.#prepareEntry(key, value);
      if (entry === undefined) {
        // Larger than the whole cache may hold: like an immediate eviction, the old value goes too.
        this.#removeOne(key);
        return;
      }
      // One statement, atomic on its own: the write is done when it returns. The limits and the
      // expiry sweep follow (see Upkeep.afterStatement).
      const { inline, file, size } = entry;
      before = firstRow(
        this.#sql.write.all(key, inline, file, expiresAt, now, now, size),
      ) as WriteRow;
    } catch (error) {
      if (entry?.file) this.#discardFile(entry.file);
      throw this.#fail(error, 'set');
    }
    try {
      if (this.#upkeep.afterStatement(before[0], before[1], entry.size, key, now) || before[2]) {
        this.#drainTrash();
      }
    } catch (error) {
      // The value is stored; what failed is bookkeeping the next write does again.
      this.#logger.warn(
        { err: error, key },
        'disk cache: keeping the cache within its limits failed after a set',
      );
    }
  }

  setMany(entries: ReadonlyArray<readonly [string, Payload]>, expiresAt: number | null): string[] {
    const prepared: PreparedEntry[] = [];
    const dropped: string[] = [];
    try {
      for (const [key, value] of entries) {
        const entry = this.#prepareEntry(key, value);
        if (entry) prepared.push(entry);
        else dropped.push(key);
      }
      this.#setManyTx.immediate(prepared, dropped, expiresAt, this.#now());
    } catch (error) {
      for (const entry of prepared) if (entry.file) this.#discardFile(entry.file);
      throw this.#fail(error, 'setMany');
    }
    if (this.#trashPending) this.#drainTrash();
    return dropped;
  }

  add(key: string, value: Payload, expiresAt: number | null): boolean {
    let entry: PreparedEntry | undefined;
    let added = false;
    try {
      entry = this.#prepareEntry(key, value);
      if (entry === undefined) return false;
      added = this.#addTx.immediate(entry, expiresAt, this.#now());
    } catch (error) {
      if (entry?.file) this.#discardFile(entry.file);
      throw this.#fail(error, 'add');
    }
    if (!added && entry.file) this.#discardFile(entry.file);
    if (this.#trashPending) this.#drainTrash();
    return added;
  }

  delete(key: string): boolean {
    try {
      return this.#removeOne(key);
    } catch (error) {
      throw this.#fail(error, 'delete');
    }
  }

  deleteMany(keys: readonly string[]): number {
    let removed: number;
    try {
      removed = this.#deleteManyTx.immediate(keys, this.#now());
    } catch (error) {
      throw this.#fail(error, 'deleteMany');
    }
    if (this.#trashPending) this.#drainTrash();
    return removed;
  }

  touch(key: string, expiresAt: number | null): boolean {
    try {
      const now = this.#now();
      return this.#sql.touch.run(expiresAt, key, now).changes > 0;
    } catch (error) {
      throw this.#fail(error, 'touch');
    }
  }

  incr(key: string, delta: number): number {
    try {
      if (!Number.isSafeInteger(delta)) {
        throw new InvalidValueError(`incr: delta must be a safe integer, got ${delta}`);
      }
      const now = this.#now();
      // The common case is one atomic UPDATE; only a failure needs a transaction, to explain it.
      const value = firstRow(this.#sql.incr.all({ key, delta, now })) as string | undefined;
      return value !== undefined ? Number(value) : this.#incrTx.immediate(key, delta, now);
    } catch (error) {
      throw this.#fail(error, 'incr');
    }
  }

  /**
   * `incrVersion`'s move: the live entry under `from` (payload, file, expiry) takes the key `to`,
   * replacing what `to` held, in one IMMEDIATE transaction: atomic across processes.
   */
  move(from: string, to: string): boolean {
    let moved: boolean;
    try {
      moved = this.#moveTx.immediate(from, to, this.#now());
    } catch (error) {
      throw this.#fail(error, 'move');
    }
    if (this.#trashPending) this.#drainTrash();
    return moved;
  }

  /** For locks: deletes `key` only if it is live and holds exactly `value`; one statement. */
  deleteIfValue(key: string, value: Payload): boolean {
    try {
      return this.#sql.deleteIfValue.run(key, value, this.#now()).changes > 0;
    } catch (error) {
      throw this.#fail(error, 'deleteIfValue');
    }
  }

  /** For locks: sets a new expiry on `key` only if it is live and holds exactly `value`. */
  touchIfValue(key: string, value: Payload, expiresAt: number | null): boolean {
    try {
      return this.#sql.touchIfValue.run(expiresAt, key, value, this.#now()).changes > 0;
    } catch (error) {
      throw this.#fail(error, 'touchIfValue');
    }
  }

  deleteMatching(match: KeyMatch): number {
    const filter = toSqlKeyFilter(match);
    if (filter.matchesNothing) return 0;
    // In batches of PAGE_ROWS keys, one transaction each, so that other writers are never held
    // up for long: select a page of keys, then delete the matching keys in that key range.
    let removed = 0;
    try {
      const first = this.#db.prepare(keyPageSql(filter, false, false)).pluck();
      const next = this.#db.prepare(keyPageSql(filter, true, false)).pluck();
      const remove = this.#db.prepare(deleteRangeSql(filter)).raw();
      const batch = this.#db.transaction((after: string | undefined) => {
        const parameters = keyPageParameters(filter, after);
        const keys = (after === undefined ? first : next).all(...parameters) as string[];
        if (keys.length === 0) return undefined;
        const last = keys[keys.length - 1]!;
        const glob = filter.glob === undefined ? [] : [filter.glob];
        const rows = remove.all(keys[0], last, ...glob, this.#now()) as Array<[number, number]>;
        for (const [live, hasFile] of rows) {
          if (live) removed++;
          if (hasFile) this.#trashPending = true;
        }
        return keys.length < PAGE_ROWS ? undefined : last;
      });
      let after: string | undefined;
      do {
        after = batch.immediate(after);
      } while (after !== undefined);
    } catch (error) {
      throw this.#fail(error, 'deleteMatching');
    } finally {
      if (this.#trashPending) this.#drainTrash();
    }
    return removed;
  }

  clear(): void {
    try {
      // In batches of PAGE_ROWS rows, each its own transaction: one DELETE of a large cache
      // could hold other writers up for longer than their busyTimeout.
      let removed: number;
      do {
        removed = this.#sql.clearBatch.run().changes;
      } while (removed === PAGE_ROWS);
      this.#resetIfEmptyTx.immediate();
      this.#drainTrash();
      this.#sweepOrphans(ORPHAN_GRACE_MS);
    } catch (error) {
      throw this.#fail(error, 'clear');
    }
  }

  /** Releases this store's share of the connection; the last store to close closes it. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    releaseConnection(this.#connection);
  }

  // ---- maintenance (not part of the Store contract) ---------------------------------------

  /**
   * Removes value files no entry refers to (left by a crash between writing a file and committing
   * its row, or between removing a row and unlinking its file). Runs by itself when a store opens
   * (at most hourly) and on `clear()`.
   * @param graceMs files changed more recently than this are kept: a write in another process may
   *   not have committed their row yet. Default 10 minutes; pass 0 only when no other process is
   *   writing to the directory.
   * @returns how many files were removed
   */
  sweepOrphans(graceMs: number = ORPHAN_GRACE_MS): number {
    try {
      return this.#sweepOrphans(graceMs);
    } catch (error) {
      throw this.#fail(error, 'sweepOrphans');
    }
  }

  /** Entry count and bytes (keys + values, files included), as the limits see them. */
  totals(): { entries: number; bytes: number } {
    try {
      const [entries, bytes] = this.#sql.totals.get() as TotalsRow;
      return { entries, bytes };
    } catch (error) {
      throw this.#fail(error, 'totals');
    }
  }

  // ---- internals ----------------------------------------------------------------------------

  /** The live payload under `key`, reading its file if it has one. */
  #read(key: string): Payload | undefined {
    if (!this.#readsWrite) {
      // The common case in one plucked value: an inline payload, or a miss. `null` means the
      // payload is in a file: the full read below.
      const value = this.#sql.readValue.get(key, this.#now()) as Payload | null | undefined;
      if (value !== null) return value;
    }
    for (let attempt = 1; ; attempt++) {
      let row: EntryRow | undefined;
      if (this.#readsWrite) {
        const now = this.#now();
        row = firstRow(this.#sql.readEntry.all(now, key, now)) as EntryRow | undefined;
      } else {
        row = this.#sql.selectEntry.get(key) as EntryRow | undefined;
        if (row !== undefined && row[2] !== null && row[2] <= this.#now()) return undefined;
      }
      if (row === undefined) return undefined;
      const file = row[1];
      if (file === null) return row[0]!;
      try {
        return this.#files.read(file, row[3] - Buffer.byteLength(key));
      } catch (error) {
        if (!(error instanceof MissingValueFile)) throw error;
        // Another process replaced or removed the entry after our read and unlinked its file:
        // reading again finds the new state. A file that stays missing (removed by hand, or cut
        // off by a power loss) makes the entry a miss, and the row goes.
        if (attempt < FILE_READ_ATTEMPTS) continue;
        this.#dropDangling(key, file);
        return undefined;
      }
    }
  }

  #liveExpiry(key: string): number | null | undefined {
    const expiresAt = this.#sql.selectExpiry.get(key) as number | null | undefined;
    if (expiresAt === undefined || (expiresAt !== null && expiresAt <= this.#now()))
      return undefined;
    return expiresAt;
  }

  /** Deletes one entry; `true` if it was live. */
  #removeOne(key: string): boolean {
    const row = firstRow(this.#sql.deleteEntry.all(key)) as DeletedRow | undefined;
    if (row === undefined) return false;
    if (row[1] !== null) this.#drainTrash();
    return row[0] === null || row[0] > this.#now();
  }

  #dropDangling(key: string, file: string): void {
    try {
      this.#sql.deleteDangling.run(key, file);
      this.#drainTrash();
    } catch (error) {
      this.#logger.warn(
        { err: error, key },
        'disk cache: could not remove an entry whose file is gone',
      );
    }
  }

  /**
   * Decides where a payload goes, writing its file when it is large.
   * @returns `undefined` if the entry alone is larger than `sizeLimit` (it cannot be kept)
   */
  #prepareEntry(key: string, value: Payload): PreparedEntry | undefined {
    const valueBytes = typeof value === 'string' ? Buffer.byteLength(value) : value.length;
    const size = Buffer.byteLength(key) + valueBytes;
    const { sizeLimit, largeValueThreshold } = this.#options;
    if (sizeLimit > 0 && size > sizeLimit) return undefined;
    if (valueBytes < largeValueThreshold) return { key, inline: value, file: null, size };
    return { key, inline: null, file: this.#files.write(value), size };
  }

  /** The end of every write transaction: limits and expiry (see upkeep.ts). */
  #afterWrite(protectKey: string, now: number): void {
    if (this.#upkeep.afterWrite(protectKey, now)) this.#trashPending = true;
  }

  #incrOrExplain(key: string, delta: number, now: number): number {
    const value = this.#sql.incr.get({ key, delta, now }) as string | undefined;
    if (value !== undefined) return Number(value);
    const row = this.#sql.selectEntry.get(key) as EntryRow | undefined;
    if (row === undefined || (row[2] !== null && row[2] <= now)) {
      throw new KeyNotFoundError(`key "${key}" not found`);
    }
    if (row[1] !== null || parseIntegerPayload(row[0]) === undefined) {
      throw new InvalidValueError(`the value under "${key}" is not an integer`);
    }
    throw new InvalidValueError(`incr of "${key}" would leave the safe integer range`);
  }

  /** Unlinks the files of removed rows. Never fails the operation that removed them. */
  #drainTrash(): void {
    this.#trashPending = false;
    let files: string[];
    try {
      files = this.#sql.drain.all() as string[];
    } catch (error) {
      // They stay in the trash; the next write that sees it tries again.
      this.#logger.warn({ err: error }, 'disk cache: could not empty the trash of value files');
      return;
    }
    for (const file of files) this.#discardFile(file);
  }

  #discardFile(file: string): void {
    try {
      this.#files.remove(file);
    } catch (error) {
      // Left as an orphan; the next sweep removes it.
      this.#logger.warn({ err: error, file }, 'disk cache: could not remove a value file');
    }
  }

  #sweepOrphans(graceMs: number): number {
    const removed = this.#files.sweep(
      (name) => this.#sql.isReferenced.get(name) !== undefined,
      graceMs,
    );
    this.#sql.writeMeta.run('orphans_swept_at', Date.now());
    return removed;
  }

  /** Finishes what a crashed process left: files in the trash, and (hourly) orphaned files. */
  #maintainOnOpen(): void {
    try {
      // A read first: draining takes the write lock, which an open should not wait for.
      if ((this.#sql.totals.get() as TotalsRow)[2]) this.#drainTrash();
      const sweptAt = this.#sql.readMeta.get('orphans_swept_at') as number | undefined;
      if (sweptAt === undefined || Date.now() - sweptAt > ORPHAN_SWEEP_INTERVAL_MS) {
        this.#sweepOrphans(ORPHAN_GRACE_MS);
      }
    } catch (error) {
      this.#logger.warn({ err: error }, 'disk cache: could not sweep orphaned value files');
    }
  }

  #fail(error: unknown, operation: string) {
    return diskError(error, operation, this.#place);
  }
}
