/**
 * Expired rows removed without cron or timers: writers trigger the work, a little at a time, and
 * it runs beside them (never on the caller's path, at most one run at a time per store). Its
 * failures are logged; the next writes try again.
 *
 * Every {@link PURGE_EVERY_WRITES}th write (counted per store, from a random start so that
 * short-lived processes also take their turn) deletes up to {@link PURGE_BATCH} expired rows,
 * soonest-expired first, skipping rows other sessions hold locked: a bounded statement that never
 * waits on a writer. (Django's `maxEntries` cull is not background work: see counting.ts.)
 */
import type { Logger } from '../../core/logger.js';
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
  readonly #now: () => number;
  readonly #logger: Logger;
  readonly #context: Record<string, unknown>;
  #writesUntilPurge: number;
  #running: Promise<void> | undefined;
  #stopped = false;

  constructor(
    run: UpkeepRunner,
    sql: TableStatements,
    now: () => number,
    logger: Logger,
    context: Record<string, unknown>,
  ) {
    this.#run = run;
    this.#sql = sql;
    this.#now = now;
    this.#logger = logger;
    this.#context = context;
    this.#writesUntilPurge = 1 + Math.floor(Math.random() * PURGE_EVERY_WRITES);
  }

  #due(): boolean {
    return this.#writesUntilPurge <= 0;
  }

  /** Counts `written` rows stored and starts the work if it is due. */
  afterWrite(written: number): void {
    this.#writesUntilPurge -= written;
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
    this.#writesUntilPurge = PURGE_EVERY_WRITES;
    try {
      await this.#run(this.#sql.purgeExpired, [Math.floor(this.#now()), PURGE_BATCH]);
    } catch (error) {
      this.#logger.warn(
        { err: error, ...this.#context },
        'postgres: removing expired entries failed; later writes will try again',
      );
    }
  }

  /** Stops starting new work and waits for the run in progress, if any. */
  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#running;
  }
}
