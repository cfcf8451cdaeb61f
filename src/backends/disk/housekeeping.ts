/**
 * The value files' housekeeping: unlinking the files of removed rows (the `trash` table, filled by
 * triggers), and sweeping the files a crash left behind. None of it ever fails the operation that
 * asked for it: what could not be done is logged and done by a later write or sweep.
 */
import type { Logger } from '../../core/logger.js';
import type { ValueFiles } from './files.js';
import type { DiskStatements, TotalsRow } from './statements.js';

/** A value file younger than this is never taken for an orphan (its row may not be committed). */
export const ORPHAN_GRACE_MS = 10 * 60_000;
/** Orphans are looked for when a store opens at most this often (and on every `clear()`). */
const ORPHAN_SWEEP_INTERVAL_MS = 60 * 60_000;

export class Housekeeping {
  readonly #sql: DiskStatements;
  readonly #files: ValueFiles;
  readonly #logger: Logger;

  constructor(sql: DiskStatements, files: ValueFiles, logger: Logger) {
    this.#sql = sql;
    this.#files = files;
    this.#logger = logger;
  }

  /** Unlinks the files of removed rows, emptying the trash. */
  drainTrash(): void {
    let files: string[];
    try {
      files = this.#sql.drain.all() as string[];
    } catch (error) {
      // They stay in the trash; the next write that sees it tries again.
      this.#logger.warn({ err: error }, 'disk cache: could not empty the trash of value files');
      return;
    }
    for (const file of files) this.discard(file);
  }

  /** Unlinks one value file (one no row refers to). */
  discard(file: string): void {
    try {
      this.#files.remove(file);
    } catch (error) {
      // Left as an orphan; the next sweep removes it.
      this.#logger.warn({ err: error, file }, 'disk cache: could not remove a value file');
    }
  }

  /** Removes the row of an entry whose file is gone (so the entry is a miss from now on). */
  dropDangling(key: string, file: string): void {
    try {
      this.#sql.deleteDangling.run(key, file);
      this.drainTrash();
    } catch (error) {
      this.#logger.warn(
        { err: error, key },
        'disk cache: could not remove an entry whose file is gone',
      );
    }
  }

  /**
   * Removes the value files no row refers to that are older than `graceMs`, and temp files; notes
   * when it ran. Throws what the file system throws.
   * @returns how many files were removed
   */
  sweepOrphans(graceMs: number = ORPHAN_GRACE_MS): number {
    const removed = this.#files.sweep(
      (name) => this.#sql.isReferenced.get(name) !== undefined,
      graceMs,
    );
    this.#sql.writeMeta.run('orphans_swept_at', Date.now());
    return removed;
  }

  /** Finishes what a crashed process left: files in the trash, and (hourly) orphaned files. */
  onOpen(): void {
    try {
      // A read first: draining takes the write lock, which an open should not wait for.
      if ((this.#sql.totals.get() as TotalsRow)[2]) this.drainTrash();
      const sweptAt = this.#sql.readMeta.get('orphans_swept_at') as number | undefined;
      if (sweptAt === undefined || Date.now() - sweptAt > ORPHAN_SWEEP_INTERVAL_MS) {
        this.sweepOrphans(ORPHAN_GRACE_MS);
      }
    } catch (error) {
      this.#logger.warn({ err: error }, 'disk cache: could not sweep orphaned value files');
    }
  }
}
