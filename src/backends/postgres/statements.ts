/**
 * How the PostgreSQL store runs its statements: each within its timeout, the table checked (and
 * with `createTable` made) before the first one, a table dropped behind the store's back made
 * again once, and failures turned into `BackendError`s that say what failed and what to do.
 *
 * The hot operations (`get`, `set`) use handlers made once per operation, so that a call costs
 * one promise and no closure (`runQuery`'s `StatementHandlers`).
 */
import type { QueryArrayResult } from 'pg';
import { runQuery, type PoolSite, type StatementHandlers } from './connection.js';
import { postgresError, UNDEFINED_TABLE, type PostgresPlace } from './errors.js';
import type { PostgresOptions } from './options.js';
import type { Statement } from './sql.js';
import type { TableChecks } from './table.js';

/** A hot operation's statement handlers, and its name for messages. */
export type HotStatement<T> = StatementHandlers<T> & {
  readonly operation: string;
  readonly map: (result: QueryArrayResult) => T;
};

function codeOf(error: unknown): unknown {
  return (error as { code?: unknown } | null)?.code;
}

export class StatementRunner {
  /** The table (and with `maxEntries` its counter) is known to exist, through this pool. */
  #tableReady: boolean;

  constructor(
    private readonly site: PoolSite,
    private readonly options: PostgresOptions,
    private readonly place: PostgresPlace,
    private readonly timeoutMs: number,
    readonly checks: TableChecks,
  ) {
    // Without createTable (and maxEntries' counter) there is nothing to check ahead: a missing
    // table fails the statement, with advice.
    this.#tableReady = !options.createTable && options.maxEntries === undefined;
  }

  /**
   * Runs one statement within `timeoutMs`, the table checked first. A table dropped behind the
   * store's back is created again (once) when `createTable` allows it.
   * @throws BackendError saying what failed and what to do
   */
  query(
    operation: string,
    query: Statement | string,
    values: readonly unknown[] | undefined,
    timeoutMs = this.timeoutMs,
  ): Promise<QueryArrayResult> {
    const run = () => runQuery(this.site, query, values, timeoutMs);
    const first = this.#tableReady ? run() : this.#ensureTable().then(run);
    return first.catch((error: unknown) => this.#retryOrFail(error, operation, run));
  }

  /**
   * {@link query} for the hot paths: the handlers turn the result into the answer inside the
   * statement's one promise (no `then`, no async frame, no closure).
   */
  mapped<T>(
    statement: Statement,
    values: readonly unknown[],
    handlers: HotStatement<T>,
  ): Promise<T> {
    if (!this.#tableReady) {
      return this.query(handlers.operation, statement, values).then(handlers.map);
    }
    return runQuery(this.site, statement, values, this.timeoutMs, undefined, handlers);
  }

  /** The handlers of a hot operation (make them once, use them for every call). */
  handlers<T>(operation: string, map: (result: QueryArrayResult) => T): HotStatement<T> {
    const retry = (statement: Statement | string, values: readonly unknown[] | undefined) => () =>
      runQuery(this.site, statement, values, this.timeoutMs);
    return {
      operation,
      map,
      recover: (error, statement, values) =>
        this.#retryOrFail(error, operation, retry(statement, values)).then(map),
    };
  }

  async #retryOrFail(
    error: unknown,
    operation: string,
    run: () => Promise<QueryArrayResult>,
  ): Promise<QueryArrayResult> {
    if (!this.options.createTable || codeOf(error) !== UNDEFINED_TABLE) {
      throw postgresError(error, operation, this.place);
    }
    this.#tableReady = false;
    this.checks.forget();
    try {
      await this.#ensureTable();
      return await run();
    } catch (retryError) {
      throw postgresError(retryError, operation, this.place);
    }
  }

  #ensureTable(): Promise<void> {
    return this.checks.ensure().then(() => {
      this.#tableReady = true;
    });
  }
}
