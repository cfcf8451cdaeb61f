/**
 * The bookkeeping at the end of every write transaction: keep the cache within its limits
 * (expired entries first, then in policy order) and remove expired entries a bounded window at a
 * time. No timer, no background work: writers pay for it, a little each.
 */
import type { DiskOptions } from './options.js';
import { EVICTION_ORDERS, EXPIRY_INDEX, hasIndex, type Database } from './schema.js';
import type { DiskStatements, TotalsRow } from './statements.js';

/** Every how many writes a store sweeps a window of rows for expired entries. */
const SWEEP_EVERY_WRITES = 8;
/** Size eviction stops below this fraction of `sizeLimit`, so that it runs in chunks. */
const SIZE_LOW_WATER = 0.9;

/** One store's upkeep (its sweep position is its own; the limits are the store's options). */
export class Upkeep {
  readonly #db: Database;
  readonly #sql: DiskStatements;
  readonly #options: DiskOptions;
  #writesUntilSweep = SWEEP_EVERY_WRITES;
  /** The rowid after which the next expiry sweep starts; random at first, so that short-lived
   *  processes do not all sweep the same rows. */
  #sweepCursor: number;

  constructor(db: Database, sql: DiskStatements, options: DiskOptions) {
    this.#db = db;
    this.#sql = sql;
    this.#options = options;
    this.#sweepCursor = Math.floor(Math.random() * ((sql.maxRowid.get() as number | null) ?? 0));
  }

  /**
   * Runs inside the write transaction, after its statements.
   * @param protectKey the key just written, which eviction leaves alone
   * @returns whether rows were removed or replaced, so the trash may hold files
   */
  afterWrite(protectKey: string, now: number): boolean {
    const [count, size, trashPending] = this.#sql.totals.get() as TotalsRow;
    let removed = trashPending === 1;
    const { maxEntries, sizeLimit } = this.#options;
    if ((maxEntries !== undefined && count > maxEntries) || (sizeLimit > 0 && size > sizeLimit)) {
      this.#evict(protectKey, now);
      removed = true;
    }
    if (--this.#writesUntilSweep <= 0) {
      this.#writesUntilSweep = SWEEP_EVERY_WRITES;
      const start = this.#sweepCursor;
      const end = this.#sql.sweepWindowEnd.get(start) as number | undefined;
      if (this.#sql.sweepWindow.run(start, end ?? Number.MAX_SAFE_INTEGER, now).changes > 0) {
        removed = true;
      }
      this.#sweepCursor = end ?? 0;
    }
    return removed;
  }

  /**
   * Brings the cache back under its limits: expired entries first, then, in policy order,
   * Django's cull for `maxEntries` (1/cullFrequency of the entries, all with 0) and, for
   * `sizeLimit`, down to 90% of it.
   */
  #evict(protectKey: string, now: number): void {
    const evict = this.#sql.evictInOrder;
    if (evict === undefined) return;
    this.#ensureIndexes();
    this.#sql.deleteExpired.run(now);
    let [count, size] = this.#sql.totals.get() as TotalsRow;
    const { maxEntries, cullFrequency, sizeLimit } = this.#options;
    if (maxEntries !== undefined && count > maxEntries) {
      const cull =
        cullFrequency === 0
          ? count
          : Math.max(count - maxEntries, Math.floor(count / cullFrequency));
      evict.run(protectKey, cull);
      [count, size] = this.#sql.totals.get() as TotalsRow;
    }
    if (sizeLimit > 0 && size > sizeLimit) {
      const target = Math.floor(sizeLimit * SIZE_LOW_WATER);
      while (size > target && count > 1) {
        const needed = Math.max(1, Math.ceil((size - target) / (size / count)));
        if (evict.run(protectKey, needed).changes === 0) break;
        [count, size] = this.#sql.totals.get() as TotalsRow;
      }
    }
  }

  /**
   * The indexes that make eviction and expiry cheap, created when the cache first reaches a
   * limit (see schema.ts for why not before). Indexes of another policy are dropped: the last
   * store that evicted decides (the others still evict correctly, by a sort).
   */
  #ensureIndexes(): void {
    const policy = this.#options.evictionPolicy;
    if (policy === 'none') return;
    const order = EVICTION_ORDERS[policy];
    this.#db.exec(
      `CREATE INDEX IF NOT EXISTS ${EXPIRY_INDEX} ON entries (expires_at) WHERE expires_at IS NOT NULL;
       CREATE INDEX IF NOT EXISTS ${order.index} ON entries (${order.columns});`,
    );
    dropEvictionIndexes(this.#db, order.index);
  }
}

/**
 * Drops the eviction indexes (all of them, or all but `keep` and the expiry index). An emptied
 * cache goes back to cheap writes until it reaches a limit again.
 */
export function dropEvictionIndexes(db: Database, keep?: string): void {
  const names = [EXPIRY_INDEX, ...Object.values(EVICTION_ORDERS).map((order) => order.index)];
  for (const name of names) {
    if (keep !== undefined && (name === keep || name === EXPIRY_INDEX)) continue;
    if (hasIndex(db, name)) db.exec(`DROP INDEX ${name}`);
  }
}
