/**
 * Expired rows removed without cron or timers, and Django's `maxEntries` cull: writers trigger the
 * work, a little at a time, and it runs beside them (never on the caller's path, at most one run at
 * a time per store). Its failures are logged; the next writes try again.
 *
 * - Every {@link PURGE_EVERY_WRITES}th write (counted per store, from a random start so that
 *   short-lived processes also take their turn) deletes up to {@link PURGE_BATCH} expired rows,
 *   soonest-expired first, skipping rows other sessions hold locked: a bounded statement that
 *   never waits on a writer.
 * - With `maxEntries`, writes also trigger a count (every write up to 1,000 entries, more rarely
 *   above, so the count stays cheap next to the writes); when it exceeds `maxEntries`, every
 *   expired row goes, then, if still over, `1/cullFrequency` of the rows (all with `0`) in order of
 *   expiry, never-expiring rows last, sparing the key just written.
 */
import type { Logger } from '../../core/logger.js';
import type { PostgresOptions } from './options.js';
import type { Rows } from './connection.js';
import type { Statement, TableStatements } from './sql.js';

/** Every how many writes a store purges expired rows. */
export const PURGE_EVERY_WRITES = 32;
/** The most expired rows one purge deletes. */
export const PURGE_BATCH = 500;

/** Runs a statement for the upkeep (with the upkeep's own time limit). */
export type UpkeepRunner = (statement: Statement, values: readonly unknown[]) => Promise<Rows>;

export class PostgresUpkeep {
  readonly #run: UpkeepRunner;
  readonly #sql: TableStatements;
  readonly #maxEntries: number | undefined;
  readonly #cullFrequency: number;
  readonly #countEvery: number;
  readonly #now: () => number;
  readonly #logger: Logger;
  readonly #context: Record<string, unknown>;
  #writesUntilPurge: number;
  #writesUntilCount: number;
  #lastKey = '';
  #running: Promise<void> | undefined;
  #stopped = false;

  constructor(
    run: UpkeepRunner,
    sql: TableStatements,
    options: PostgresOptions,
    now: () => number,
    logger: Logger,
    context: Record<string, unknown>,
  ) {
    this.#run = run;
    this.#sql = sql;
    this.#maxEntries = options.maxEntries;
    this.#cullFrequency = options.cullFrequency;
    const max = options.maxEntries ?? 0;
    this.#countEvery = max <= 1000 ? 1 : Math.min(100, Math.floor(max / 1000));
    this.#now = now;
    this.#logger = logger;
    this.#context = context;
    this.#writesUntilPurge = 1 + Math.floor(Math.random() * PURGE_EVERY_WRITES);
    this.#writesUntilCount = this.#countEvery;
  }

  #due(): boolean {
    return (
      this.#writesUntilPurge <= 0 || (this.#maxEntries !== undefined && this.#writesUntilCount <= 0)
    );
  }

  /** Counts `written` rows stored (the last under `lastKey`) and starts the work if it is due. */
  afterWrite(written: number, lastKey: string): void {
    this.#writesUntilPurge -= written;
    this.#writesUntilCount -= written;
    this.#lastKey = lastKey;
    if (this.#running === undefined && !this.#stopped && this.#due()) this.#start();
  }

  #start(): void {
    this.#running = this.#work().finally(() => {
      this.#running = undefined;
      // Writes that fell due while this run was busy are served by one more run.
      if (!this.#stopped && this.#due()) this.#start();
    });
  }

  async #work(): Promise<void> {
    const purge = this.#writesUntilPurge <= 0;
    const count = this.#maxEntries !== undefined && this.#writesUntilCount <= 0;
    if (purge) this.#writesUntilPurge = PURGE_EVERY_WRITES;
    if (count) this.#writesUntilCount = this.#countEvery;
    try {
      if (purge) await this.#run(this.#sql.purgeExpired, [Math.floor(this.#now()), PURGE_BATCH]);
      if (count) await this.#cull(this.#maxEntries!);
    } catch (error) {
      this.#logger.warn(
        { err: error, ...this.#context },
        'postgres: removing expired or surplus entries failed; later writes will try again',
      );
    }
  }

  async #cull(maxEntries: number): Promise<void> {
    const count = (await this.#run(this.#sql.count, []))[0]![0] as number;
    if (count <= maxEntries) return;
    const now = Math.floor(this.#now());
    const expired = (await this.#run(this.#sql.deleteExpired, [now]))[0]![0] as number;
    const remaining = count - expired;
    if (remaining <= maxEntries) return;
    const cull =
      this.#cullFrequency === 0
        ? remaining
        : Math.max(remaining - maxEntries, Math.floor(remaining / this.#cullFrequency));
    await this.#run(this.#sql.cull, [cull, this.#lastKey]);
  }

  /** Stops starting new work and waits for the run in progress, if any. */
  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#running;
  }
}
