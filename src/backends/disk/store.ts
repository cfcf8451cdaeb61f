/**
 * The disk store: one SQLite database (better-sqlite3, WAL) plus value files, in one directory,
 * shared safely by every connection and process that opens it.
 *
 * Concurrency: every write that runs more than one statement is an IMMEDIATE transaction (it
 * takes the write lock up front, so SQLite's busy handler makes it wait for other writers instead
 * of failing with SQLITE_BUSY halfway); single statements run on their own. `set`, `add` and
 * `incr` are single SQL statements, atomic across processes (`set` over an entry kept in a file
 * is a second upsert after one that changed nothing). Reads never wait for writers (WAL).
 * Opening: open.ts. Payloads in and out: entries.ts. Multi-statement writes: transactions.ts.
 */
import { InvalidValueError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { KeyMatch, Payload, Store, StoreCapabilities } from '../../core/store.js';
import { releaseConnection, type SharedConnection } from './connection.js';
import { diskError, type DiskPlace } from './errors.js';
import { ValueFiles } from './files.js';
import { toSqlKeyFilter } from './glob.js';
import { deleteMatchingKeys, matchingKeys } from './matching.js';
import type { DiskOptions } from './options.js';
import type { Database } from './schema.js';
import {
  firstRow,
  PAGE_ROWS,
  prepareStatements,
  type DeletedRow,
  type DiskStatements,
  type TotalsRow,
  type WriteRow,
  writtenRow,
} from './statements.js';
import { Entries } from './entries.js';
import { Housekeeping, ORPHAN_GRACE_MS } from './housekeeping.js';
import { prepareTransactions, type DiskTransactions, type PreparedEntry } from './transactions.js';
import { Upkeep } from './upkeep.js';

/** The disk backend's store. See docs/disk.md. */
export class DiskStore implements Store {
  readonly capabilities: StoreCapabilities = { sync: true, shared: true };
  /** The absolute directory holding the database and the value files. */
  readonly directory: string;
  readonly #connection: SharedConnection;
  readonly #db: Database;
  readonly #files: ValueFiles;
  readonly #entries: Entries;
  readonly #place: DiskPlace;
  readonly #now: () => number;
  readonly #logger: Logger;

  readonly #sql: DiskStatements;
  readonly #upkeep: Upkeep;
  /** Where `writeInline` leaves the totals it saw (shared by the stores on the connection). */
  readonly #written: WriteRow;

  readonly #tx: DiskTransactions;
  readonly #housekeeping: Housekeeping;

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
    this.#place = place;
    this.directory = place.directory;
    this.#now = now;
    this.#logger = logger;
    this.#files = new ValueFiles(place.directory);
    const policy = options.evictionPolicy;

    const sql = prepareStatements(db, policy);
    this.#sql = sql;

    this.#tx = prepareTransactions(db, sql, {
      afterWrite: (protectKey, now) => {
        if (this.#upkeep.afterWrite(protectKey, now)) this.#trashPending = true;
      },
      trashed: () => {
        this.#trashPending = true;
      },
    });
    this.#housekeeping = new Housekeeping(sql, this.#files, logger);
    this.#written = writtenRow(db);
    this.#entries = new Entries(sql, this.#files, options, now, this.#housekeeping);

    this.#upkeep = new Upkeep(db, sql, options);
    this.#housekeeping.onOpen();
  }

  /** The better-sqlite3 `Database`, shared by the stores on this directory in this process. */
  get client(): Database {
    return this.#db;
  }

  // ---- reads ------------------------------------------------------------------------------

  get(key: string): Payload | undefined {
    try {
      return this.#entries.read(key);
    } catch (error) {
      throw this.#fail(error, 'get');
    }
  }

  getMany(keys: readonly string[]): Array<Payload | undefined> {
    try {
      // One statement per key: SQLite runs in-process, so there is no round trip to save, and a
      // transaction around them would pin one snapshot while another process swaps a value file.
      return keys.map((key) => this.#entries.read(key));
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
    try {
      yield* matchingKeys(this.#db, filter, this.#now, (error: unknown) =>
        this.#fail(error, 'keys'),
      );
    } catch (error) {
      throw this.#fail(error, 'keys');
    }
  }

  // ---- writes -----------------------------------------------------------------------------

  set(key: string, value: Payload, expiresAt: number | null): void {
    let entry: PreparedEntry | undefined;
    let before: WriteRow;
    const now = this.#now();
    try {
      entry = this.#entries.prepare(key, value);
      if (entry === undefined) {
        // Larger than the whole cache may hold: like an immediate eviction, the old value goes too.
        this.#removeOne(key);
        return;
      }
      // One statement, atomic on its own: the write is done when it returns, and it saw the
      // totals as they were before it. (Over an entry that has a file, the inline upsert changes
      // nothing and the full one replaces it, file and all.) The limits, the trash and the expiry
      // sweep follow (see Upkeep.afterStatement).
      const { inline, file, size } = entry;
      if (
        file === null &&
        this.#sql.writeInline.run(key, inline, expiresAt, now, now, size).changes > 0
      ) {
        before = this.#written;
      } else {
        before = firstRow(
          this.#sql.write.all(key, inline, file, expiresAt, now, now, size),
        ) as WriteRow;
      }
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
        const entry = this.#entries.prepare(key, value);
        if (entry) prepared.push(entry);
        else dropped.push(key);
      }
      this.#tx.setMany.immediate(prepared, dropped, expiresAt, this.#now());
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
      entry = this.#entries.prepare(key, value);
      if (entry === undefined) return false;
      added = this.#tx.add.immediate(entry, expiresAt, this.#now());
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
      removed = this.#tx.deleteMany.immediate(keys, this.#now());
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
      return value !== undefined ? Number(value) : this.#tx.incr.immediate(key, delta, now);
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
      moved = this.#tx.move.immediate(from, to, this.#now());
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
    try {
      return deleteMatchingKeys(this.#db, filter, this.#now(), () => (this.#trashPending = true));
    } catch (error) {
      throw this.#fail(error, 'deleteMatching');
    } finally {
      if (this.#trashPending) this.#drainTrash();
    }
  }

  clear(): void {
    try {
      // In batches of PAGE_ROWS rows, each its own transaction: one DELETE of a large cache
      // could hold other writers up for longer than their busyTimeout.
      let removed: number;
      do {
        removed = this.#sql.clearBatch.run().changes;
      } while (removed === PAGE_ROWS);
      this.#tx.resetIfEmpty.immediate();
      this.#drainTrash();
      this.#housekeeping.sweepOrphans();
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
      return this.#housekeeping.sweepOrphans(graceMs);
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

  /** Unlinks the files of removed rows. Never fails the operation that removed them. */
  #drainTrash(): void {
    this.#trashPending = false;
    this.#housekeeping.drainTrash();
  }

  #discardFile(file: string): void {
    this.#housekeeping.discard(file);
  }

  #fail(error: unknown, operation: string) {
    return diskError(error, operation, this.#place);
  }
}
