/**
 * The bookkeeping at the end of every write transaction: keep the cache within its limits
 * (expired entries first, then in policy order) and remove expired entries a bounded window at a
 * time. No timer, no background work: writers pay for it, a little each.
 */
import type { DiskOptions } from './options.js';
import { EVICTION_ORDERS, EXPIRY_INDEX, hasIndex, type Database } from './schema.js';
import { SWEEP_WINDOW_ROWS, type DiskStatements, type TotalsRow } from './statements.js';

/**
 * Every how many writes a store sweeps a window of SWEEP_WINDOW_ROWS rows for expired entries: one
 * row looked at per write, so a store walks a table of N entries every N writes. Eight rows per
 * write (a window every 32 writes) was a large share of a 1 KiB `set`; what one row per write buys
 * is in bench/README.md ("Third pass", `npm run bench -- disk`). (Expired rows are never returned
 * meanwhile, and a write that reaches a limit removes them all: the sweep only gives their space
 * back sooner.)
 */
export const SWEEP_EVERY_WRITES = 256;
/** Size eviction stops below this fraction of `sizeLimit`, so that it runs in chunks. */
const SIZE_LOW_WATER = 0.9;

/** One store's upkeep (its sweep position is its own; the limits are the store's options). */
export class Upkeep {
  readonly #db: Database;
  readonly #sql: DiskStatements;
  readonly #options: DiskOptions;
  #writesUntilSweep = SWEEP_EVERY_WRITES;
  /** The eviction of {@link afterStatement}: its own IMMEDIATE transaction, which re-reads totals. */
  readonly #evictTx: (protectKey: string, now: number) => boolean;
  /** The rowid after which the next expiry sweep starts; random at first, so that short-lived
   *  processes do not all sweep the same rows. */
  #sweepCursor: number;

  constructor(db: Database, sql: DiskStatements, options: DiskOptions) {
    this.#db = db;
    this.#sql = sql;
    this.#options = options;
    this.#sweepCursor = Math.floor(Math.random() * ((sql.maxRowid.get() as number | null) ?? 0));
    const evict = db.transaction((protectKey: string, now: number) => {
      if (!this.#overLimit(this.#sql.totals.get() as TotalsRow)) return false;
      this.#evict(protectKey, now);
      return true;
    });
    this.#evictTx = (protectKey, now) => evict.immediate(protectKey, now);
  }

  #overLimit([count, size]: readonly [number, number, ...unknown[]]): boolean {
    const { maxEntries, sizeLimit } = this.#options;
    return (maxEntries !== undefined && count > maxEntries) || (sizeLimit > 0 && size > sizeLimit);
  }

  /**
   * After a write that ran as one statement on its own (`set`), which saw the totals as they were
   * before it: if it may have taken the cache over a limit (counting it as an insert of
   * `addedBytes`), the eviction runs in a transaction of its own that checks the real totals first.
   * So a cache below its limits pays nothing, and one at a limit gets Django's counts exactly.
   * @returns whether rows may have been removed (their files are in the trash)
   */
  afterStatement(
    countBefore: number,
    sizeBefore: number,
    addedBytes: number,
    protectKey: string,
    now: number,
  ): boolean {
    let removed = false;
    if (this.#overLimit([countBefore + 1, sizeBefore + addedBytes])) {
      removed = this.#evictTx(protectKey, now);
    }
    return this.#sweepIfDue(now) || removed;
  }

  /**
   * Runs inside the write transaction, after its statements.
   * @param protectKey the key just written, which eviction leaves alone
   * @returns whether rows were removed or replaced, so the trash may hold files
   */
  afterWrite(protectKey: string, now: number): boolean {
    const totals = this.#sql.totals.get() as TotalsRow;
    let removed = totals[2] === 1;
    if (this.#overLimit(totals)) {
      this.#evict(protectKey, now);
      removed = true;
    }
    return this.#sweepIfDue(now) || removed;
  }

  /** Every {@link SWEEP_EVERY_WRITES}th write: the next window of rows loses its expired ones. */
  #sweepIfDue(now: number): boolean {
    if (--this.#writesUntilSweep > 0) return false;
    this.#writesUntilSweep = SWEEP_EVERY_WRITES;
    const start = this.#sweepCursor;
    const [last, rows, expired] = this.#sql.sweepWindowScan.get(now, start) as [
      number | null,
      number,
      number,
    ];
    // A window short of SWEEP_WINDOW_ROWS reaches the end of the table: it also takes rows
    // appended meanwhile, and the next one starts over from the beginning.
    const end = rows < SWEEP_WINDOW_ROWS || last === null ? Number.MAX_SAFE_INTEGER : last;
    this.#sweepCursor = end === Number.MAX_SAFE_INTEGER ? 0 : end;
    if (expired === 0) return false;
    return this.#sql.sweepWindow.run(start, end, now).changes > 0;
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
