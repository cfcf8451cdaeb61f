/**
 * Whether a store's table is ready: it exists with its expiry index (created when `createTable`
 * allows), and, for a store with `maxEntries`, it is counted (see counting.ts). Each check runs
 * once per pool and table; a failed one is forgotten, so the next operation tries again.
 */
import { countingSetupSql } from './counting.js';
import { runQuery, type PoolSite } from './connection.js';
import type { PostgresOptions } from './options.js';
import { createTableSql, EXISTS_STATEMENT, type Statement } from './sql.js';

/** What `createTable()` did, and what the table is now. */
export interface CreateTableOutcome {
  /** `'existed'` also when only the expiry index was missing (and was added). */
  readonly outcome: 'created' | 'existed';
  readonly unlogged: boolean;
}

const COUNTED = ' counted';

export class TableChecks {
  readonly #site: PoolSite;
  readonly #options: PostgresOptions;
  /** With `maxEntries`: the statement telling whether the table is counted. */
  readonly #countedStatement: Statement | undefined;

  constructor(site: PoolSite, options: PostgresOptions, countedStatement: Statement | undefined) {
    this.#site = site;
    this.#options = options;
    this.#countedStatement = countedStatement;
  }

  /** Makes sure of what this store needs (nothing without `createTable` and `maxEntries`). */
  async ensure(): Promise<void> {
    if (this.#options.createTable) await this.#once('', () => this.createTable());
    if (this.#countedStatement) await this.#once(COUNTED, () => this.#ensureCounted());
  }

  /** Forgets the checks (the table was dropped behind the pool's back). */
  forget(): void {
    this.#site.tables.delete(this.#options.table.sql);
    this.#site.tables.delete(`${this.#options.table.sql}${COUNTED}`);
  }

  /** Creates the table and its expiry index if missing. */
  async createTable(): Promise<CreateTableOutcome> {
    const timeoutMs = this.#site.connectTimeoutMs;
    const table = this.#options.table;
    const { rows } = await runQuery(
      this.#site,
      EXISTS_STATEMENT,
      table.regclass,
      timeoutMs,
      'connectTimeout',
    );
    const [tableExists, indexExists, unlogged] = rows[0] as [boolean, boolean, boolean | null];
    if (tableExists && indexExists) return { outcome: 'existed', unlogged: unlogged === true };
    await runQuery(
      this.#site,
      createTableSql(table, this.#options.unlogged),
      undefined,
      timeoutMs,
      'connectTimeout',
    );
    // Another process may have created it meanwhile, with its own setting: that one stands.
    return tableExists
      ? { outcome: 'existed', unlogged: unlogged === true }
      : { outcome: 'created', unlogged: this.#options.unlogged };
  }

  #once(aspect: string, check: () => Promise<unknown>): Promise<void> {
    const tables = this.#site.tables;
    const id = `${this.#options.table.sql}${aspect}`;
    let pending = tables.get(id);
    if (!pending) {
      pending = check().then(() => {});
      tables.set(id, pending);
      const settled = pending;
      settled.catch(() => {
        if (tables.get(id) === settled) tables.delete(id);
      });
    }
    return pending;
  }

  /** Adds the counter, its triggers and the cull function if the table has none yet. */
  async #ensureCounted(): Promise<void> {
    const timeoutMs = this.#site.connectTimeoutMs;
    const table = this.#options.table;
    const { rows } = await runQuery(
      this.#site,
      this.#countedStatement!,
      [table.regclass[0]],
      timeoutMs,
      'connectTimeout',
    );
    const [counted, unlogged] = rows[0] as [boolean, boolean | null];
    if (counted) return;
    await this.#setUpCounting(unlogged === true);
  }

  /** Counts the table afresh (the counter row went missing), making the counter if needed. */
  async recount(): Promise<void> {
    const { rows } = await runQuery(
      this.#site,
      this.#countedStatement!,
      [this.#options.table.regclass[0]],
      this.#site.connectTimeoutMs,
      'connectTimeout',
    );
    await this.#setUpCounting((rows[0] as [boolean, boolean | null])[1] === true);
  }

  #setUpCounting(unlogged: boolean): Promise<unknown> {
    const setup = countingSetupSql(this.#options.table, unlogged);
    return runQuery(this.#site, setup, undefined, this.#site.connectTimeoutMs, 'connectTimeout');
  }
}
