/**
 * Expired rows removed without cron or timers: writers trigger the work, a little at a time, and
 * it runs beside them (never on the caller's path, at most one run at a time per store). Its
 * failures are logged; the next writes try again.
 *
 * Every {@link PURGE_EVERY_WRITES}th write (counted per store, from a random start so that
 * short-lived processes also take their turn), but at most once per {@link PURGE_INTERVAL_MS} of
 * the store's clock, deletes up to {@link PURGE_BATCH} expired rows, soonest-expired first,
 * skipping rows other sessions hold locked: a bounded statement that never waits on a writer. A
 * run that deletes a full batch found a backlog: the next run starts as soon as it ends, until a
 * run deletes less. (Django's `maxEntries` cull is not background work: see counting.ts.)
 *
 * Why the interval: a busy store reached its 32nd write hundreds of times a second, and a purge
 * that way cost a write at concurrency 1 several per cent of its speed (bench/README.md, "Eighth
 * pass") while removing nothing most of the time.
 */
import type { Logger } from '../../core/logger.js';
import type { Statement, TableStatements } from './sql.js';

/** Every how many writes a store purges expired rows. */
export const PURGE_EVERY_WRITES = 32;
/** The least time between the starts of two purges (ms of the store's clock), backlogs aside. */
export const PURGE_INTERVAL_MS = 1000;
/** The most expired rows one purge deletes. */
export const PURGE_BATCH = 500;

/**
 * Runs a statement for the upkeep (with the upkeep's own time limit), resolving to the number of
 * rows it changed.
 */
export type UpkeepCounter = (statement: Statement, values: readonly unknown[]) => Promise<number>;

export class PostgresUpkeep {
  readonly #run: UpkeepCounter;
  readonly #sql: TableStatements;
  readonly #now: () => number;
  readonly #logger: Logger;
  readonly #context: Record<string, unknown>;
  #writesUntilPurge: number;
  /** When the last purge started (the store's clock); `-Infinity` before the first. */
  #lastStart = -Infinity;
  /** The last purge deleted a full batch: more expired rows are likely waiting. */
  #backlog = false;
  #running: Promise<void> | undefined;
  #stopped = false;

  constructor(
    run: UpkeepCounter,
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
    if (this.#backlog) return true;
    if (this.#writesUntilPurge > 0) return false;
    const sinceMs = this.#now() - this.#lastStart;
    // A clock set back (sinceMs < 0) does not hold purges off until it catches up.
    if (sinceMs >= PURGE_INTERVAL_MS || sinceMs < 0) return true;
    // Too soon: look again PURGE_EVERY_WRITES writes later, so a busy store reads the clock once
    // per that many writes rather than on every write.
    this.#writesUntilPurge = PURGE_EVERY_WRITES;
    return false;
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
    const now = this.#now();
    this.#lastStart = now;
    this.#backlog = false;
    try {
      const deleted = await this.#run(this.#sql.purgeExpired, [Math.floor(now), PURGE_BATCH]);
      this.#backlog = deleted >= PURGE_BATCH;
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
