/**
 * What a connection knows of the totals (entry count, bytes) after a `set`, without reading them
 * when nothing but its own upserts changed the database since it last did.
 *
 * `set` is one upsert run on its own. Learning the totals from it through `RETURNING` costs an
 * ephemeral table per statement (about a fifth of the upsert at 1 KiB values); reading them after
 * it costs a read of `totals` and `trash`. Instead, two cheap reads tell whether anything else
 * happened since the last read of the totals:
 * - `PRAGMA data_version` changes when another connection (another process) committed;
 * - `total_changes()` counts the rows this connection changed, triggers included. An upsert that
 *   replaced a row of the same size and file changes 1 row (no trigger fires); one that inserted
 *   changes 2 (the count trigger), as does one that resized (the size trigger) or that replaced an
 *   entry kept in a file (the trash trigger). Any other statement on this connection (other
 *   stores share it, eviction, sweeps) adds its own changes on top.
 * So after an upsert that changed 1 row, the totals are as last read; after one that changed 2
 * rows while no entry had a file, they grew by at most one entry and its bytes (an upper bound is
 * enough: a possible excess runs the eviction transaction, which reads the real totals). Anything
 * else reads them again, with whether the trash holds files.
 */
import type BetterSqlite3 from 'better-sqlite3';
import type { Database } from './schema.js';

/** Entry count and bytes (upper bounds, exact after a read), and whether the trash holds files. */
export type TallyRow = [count: number, size: number, trashPending: number];

type Statement = BetterSqlite3.Statement;

const tallies = new WeakMap<Database, Tally>();

/** The connection's tally, shared by the stores that use it. */
export function tallyOf(db: Database): Tally {
  let tally = tallies.get(db);
  if (tally === undefined) {
    tally = new Tally(db);
    tallies.set(db, tally);
  }
  return tally;
}

export class Tally {
  readonly #totalChanges: Statement;
  readonly #dataVersion: Statement;
  readonly #read: Statement;
  /** `total_changes()` after the last upsert or read; -1 before the first read. */
  #changes = -1;
  #version = -1;
  /** Whether no entry had a file at the last read (so no upsert can have trashed one since). */
  #noFiles = false;
  readonly #row: TallyRow = [0, 0, 0];

  constructor(db: Database) {
    this.#totalChanges = db.prepare('SELECT total_changes()').pluck();
    this.#dataVersion = db.prepare('PRAGMA data_version').pluck();
    this.#read = db
      .prepare(
        `SELECT count, size, EXISTS (SELECT 1 FROM trash),
           NOT EXISTS (SELECT 1 FROM entries WHERE file IS NOT NULL), total_changes()
         FROM totals WHERE id = 0`,
      )
      .raw();
  }

  /**
   * The totals after an upsert of `size` bytes that this connection just ran on its own.
   * @param wroteFile whether the upsert stored a file (then the totals are read)
   */
  afterUpsert(size: number, wroteFile: boolean): Readonly<TallyRow> {
    const changes = this.#totalChanges.get() as number;
    const delta = changes - this.#changes;
    this.#changes = changes;
    if (
      !wroteFile &&
      (delta === 1 || (delta === 2 && this.#noFiles)) &&
      this.#dataVersion.get() === this.#version
    ) {
      if (delta === 2) {
        this.#row[0] += 1;
        this.#row[1] += size;
      }
      this.#row[2] = 0;
      return this.#row;
    }
    return this.#refresh();
  }

  /** Forgets what it knows: the next upsert reads the totals. */
  invalidate(): void {
    this.#changes = -1;
  }

  #refresh(): Readonly<TallyRow> {
    // The version first: a commit by another process between the two reads shows in the next
    // version read, and the totals are read again then.
    this.#version = this.#dataVersion.get() as number;
    const [count, size, trashPending, noFiles, changes] = this.#read.get() as [
      number,
      number,
      number,
      number,
      number,
    ];
    this.#row[0] = count;
    this.#row[1] = size;
    this.#row[2] = trashPending;
    this.#noFiles = noFiles === 1;
    this.#changes = changes;
    return this.#row;
  }
}
