/**
 * The postgres store: one named prepared statement per operation on a table it creates on first
 * use. Options, layout and guarantees: docs/postgres.md.
 */
import { InvalidValueError, KeyNotFoundError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type {
  BackendContext,
  KeyMatch,
  Payload,
  Store,
  StoreCapabilities,
} from '../../core/store.js';
import { parseIntegerPayload } from '../../serializers/codec.js';
import type { Pool, QueryArrayResult } from 'pg';
import { acquireSite, releaseSite, type PoolSite, type Rows } from './connection.js';
import { StatementRunner, type HotStatement } from './statements.js';
import { postgresError, type PostgresPlace } from './errors.js';
import { resolvePostgresOptions, type PostgresOptions } from './options.js';
import { toSqlKeyMatch } from './pattern.js';
import { tableStatements, truncateSql, type Statement, type TableStatements } from './sql.js';
import { TableChecks, type CreateTableOutcome } from './table.js';
import { Culling } from './counting.js';
import { columns, compareCodePoints, expiryParameter } from './payload.js';
import { PostgresUpkeep } from './upkeep.js';

/** Keys read per round trip by `keys()`. */
const KEYS_PAGE = 1000;
/** Rows deleted per statement by `deleteMatching()`, so that no statement holds many locks for long. */
const DELETE_BATCH = 5000;

/** The payload of a `get` result's first row, if any. */
function firstPayload(result: QueryArrayResult): Payload | undefined {
  const row = result.rows[0];
  return row === undefined ? undefined : ((row[0] ?? row[1]) as Payload);
}

export class PostgresStore implements Store {
  readonly capabilities: StoreCapabilities = { sync: false, shared: true };
  readonly #site: PoolSite;
  readonly #statements: StatementRunner;
  readonly #options: PostgresOptions;
  readonly #sql: TableStatements;
  readonly #now: () => number;
  readonly #timeoutMs: number;
  readonly #place: PostgresPlace;
  readonly #upkeep: PostgresUpkeep;
  /** With `maxEntries`: the counted writes and the cull (see counting.ts). */
  readonly #culling: Culling | undefined;
  readonly #logger: Logger;
  #closing: Promise<void> | undefined;
  readonly #onGet: HotStatement<Payload | undefined>;
  readonly #onSet: HotStatement<void>;

  constructor(context: BackendContext, options: PostgresOptions, site: PoolSite) {
    this.#site = site;
    this.#options = options;
    this.#sql = tableStatements(options.table);
    this.#now = context.now;
    this.#logger = context.logger;
    this.#timeoutMs = context.operationTimeoutMs;
    this.#place = { alias: context.alias, where: site.where, table: options.table.display };
    const upkeepTimeoutMs = Math.max(
      context.operationTimeoutMs,
      options.statementTimeoutMs || 5000,
    );
    const query = (statement: Statement, values: readonly unknown[]) =>
      this.#statements.query('upkeep', statement, values, upkeepTimeoutMs);
    const run = async (statement: Statement, values: readonly unknown[]) =>
      (await query(statement, values)).rows;
    const count = async (statement: Statement, values: readonly unknown[]) =>
      (await query(statement, values)).rowCount ?? 0;
    const logContext = { alias: context.alias, table: options.table.display };
    this.#upkeep = new PostgresUpkeep(count, this.#sql, context.now, context.logger, logContext);
    this.#culling =
      options.maxEntries === undefined
        ? undefined
        : new Culling(
            options.table,
            run,
            options.maxEntries,
            options.cullFrequency,
            context.logger,
            logContext,
          );
    this.#statements = new StatementRunner(
      site,
      options,
      this.#place,
      context.operationTimeoutMs,
      new TableChecks(site, options, this.#culling?.statements.ready),
    );
    this.#onGet = this.#statements.handlers('get', firstPayload);
    this.#onSet = this.#statements.handlers('set', () => this.#upkeep.afterWrite(1));
  }

  /** The `pg.Pool` (for `caches.connection()`). */
  get client(): Pool {
    return this.#site.pool;
  }

  // ---- plumbing ---------------------------------------------------------------------------

  #nowParameter(): number {
    return Math.floor(this.#now());
  }

  async #rows(operation: string, statement: Statement, values: readonly unknown[]): Promise<Rows> {
    return (await this.#statements.query(operation, statement, values)).rows;
  }

  /**
   * Creates the table and its expiry index if missing (what `skycache createtable` runs); the
   * `createTable` option does not apply to this explicit call.
   */
  async createTable(): Promise<CreateTableOutcome> {
    try {
      return await this.#statements.checks.createTable();
    } catch (error) {
      throw postgresError(error, 'creating the table', this.#place);
    }
  }

  // ---- reads ------------------------------------------------------------------------------

  get(key: string): Promise<Payload | undefined> {
    return this.#statements.mapped(this.#sql.get, [key, this.#nowParameter()], this.#onGet);
  }

  async getMany(keys: readonly string[]): Promise<Array<Payload | undefined>> {
    if (keys.length === 0) return [];
    const rows = await this.#rows('getMany', this.#sql.getMany, [keys, this.#nowParameter()]);
    const found = new Map<string, Payload>();
    for (const row of rows) found.set(row[0] as string, (row[1] ?? row[2]) as Payload);
    return keys.map((key) => found.get(key));
  }

  async has(key: string): Promise<boolean> {
    return (await this.#rows('has', this.#sql.has, [key, this.#nowParameter()])).length > 0;
  }

  async expiry(key: string): Promise<number | null | undefined> {
    const row = (await this.#rows('expiry', this.#sql.expiry, [key, this.#nowParameter()]))[0];
    if (row === undefined) return undefined;
    return row[0] === null ? null : Number(row[0]);
  }

  async *keys(match: KeyMatch): AsyncIterable<string> {
    const sql = toSqlKeyMatch(match);
    if (sql.matchesNothing) return;
    const bounded = sql.upper !== null;
    const statement = bounded ? this.#sql.bounded.keysPage : this.#sql.unbounded.keysPage;
    // Keyset pagination: each page is a short statement of its own, resumed after the last key.
    let after = '';
    for (;;) {
      const rest = [after, sql.like, sql.regex, this.#nowParameter(), KEYS_PAGE];
      const rows = await this.#rows(
        'keys',
        statement,
        bounded ? [sql.lower, sql.upper, ...rest] : [sql.lower, ...rest],
      );
      for (const row of rows) yield row[0] as string;
      if (rows.length < KEYS_PAGE) return;
      after = rows[rows.length - 1]![0] as string;
    }
  }

  // ---- writes -----------------------------------------------------------------------------

  set(key: string, value: Payload, expiresAt: number | null): Promise<void> {
    let values: unknown[];
    try {
      const [text, data] = columns(value);
      values = [key, text, data, expiryParameter(expiresAt)];
    } catch (error) {
      return Promise.reject(error as Error);
    }
    if (this.#culling === undefined)
      return this.#statements.mapped(this.#sql.set, values, this.#onSet);
    return this.#setCounted(this.#culling, key, values);
  }

  async #setCounted(culling: Culling, key: string, values: unknown[]): Promise<void> {
    const rows = await this.#rows('set', culling.statements.set, values);
    if (rows.length > 0) await this.#counted(1, rows[0]![0], key);
    this.#upkeep.afterWrite(1);
  }

  /** After a counted write: culls if it took the table over `maxEntries`. */
  async #counted(inserted: number, seen: unknown, key: string): Promise<void> {
    if (inserted > 0 && seen === null) {
      // No counter row: a crash emptied the (unlogged) counter. Count afresh, then let the cull
      // function decide.
      try {
        await this.#statements.checks.recount();
      } catch (error) {
        this.#logger.warn({ err: error }, 'postgres: counting the table again failed');
        return;
      }
    }
    await this.#culling!.afterInsert(inserted, seen, key, this.#now());
  }

  async setMany(
    entries: ReadonlyArray<readonly [string, Payload]>,
    expiresAt: number | null,
  ): Promise<string[]> {
    if (entries.length === 0) return [];
    // One row per key (the last value wins, as with successive sets; an upsert may not touch a
    // row twice), in primary-key order.
    const latest = new Map<string, Payload>();
    for (const [key, value] of entries) latest.set(key, value);
    const keys = [...latest.keys()].sort(compareCodePoints);
    const texts: Array<string | null> = [];
    const datas: Array<Buffer | null> = [];
    for (const key of keys) {
      const [text, data] = columns(latest.get(key)!);
      texts.push(text);
      datas.push(data);
    }
    const values = [keys, texts, datas, expiryParameter(expiresAt)];
    if (this.#culling === undefined) {
      await this.#statements.query('setMany', this.#sql.setMany, values);
    } else {
      const row = (await this.#rows('setMany', this.#culling.statements.setMany, values))[0]!;
      await this.#counted(row[0] as number, row[1], keys[keys.length - 1]!);
    }
    this.#upkeep.afterWrite(keys.length);
    return [];
  }

  async add(key: string, value: Payload, expiresAt: number | null): Promise<boolean> {
    const [text, data] = columns(value);
    const values = [key, text, data, expiryParameter(expiresAt), this.#nowParameter()];
    if (this.#culling === undefined) {
      const stored = (await this.#statements.query('add', this.#sql.add, values)).rowCount === 1;
      if (stored) this.#upkeep.afterWrite(1);
      return stored;
    }
    const row = (await this.#rows('add', this.#culling.statements.add, values))[0];
    if (row === undefined) return false;
    await this.#counted(row[0] === true ? 1 : 0, row[1], key);
    this.#upkeep.afterWrite(1);
    return true;
  }

  async touch(key: string, expiresAt: number | null): Promise<boolean> {
    const result = await this.#statements.query('touch', this.#sql.touch, [
      key,
      expiryParameter(expiresAt),
      this.#nowParameter(),
    ]);
    return result.rowCount === 1;
  }

  async incr(key: string, delta: number): Promise<number> {
    const row = (await this.#rows('incr', this.#sql.incr, [key, delta, this.#nowParameter()]))[0];
    if (row === undefined) throw new KeyNotFoundError(`key "${key}" not found`);
    const [current, next] = row as [string | null, string | null];
    if (next !== null) return Number(next);
    if (parseIntegerPayload(current ?? undefined) === undefined) {
      throw new InvalidValueError(`the value under "${key}" is not an integer`);
    }
    throw new InvalidValueError(`incr of "${key}" would leave the safe integer range`);
  }

  /** Compare-and-delete (locks): one statement. */
  async deleteIfValue(key: string, value: Payload): Promise<boolean> {
    const [text, data] = columns(value);
    const result = await this.#statements.query('deleteIfValue', this.#sql.deleteIfValue, [
      key,
      text,
      data,
      this.#nowParameter(),
    ]);
    return result.rowCount === 1;
  }

  /** Compare-and-renew (locks): one statement. */
  async touchIfValue(key: string, value: Payload, expiresAt: number | null): Promise<boolean> {
    const [text, data] = columns(value);
    const result = await this.#statements.query('touchIfValue', this.#sql.touchIfValue, [
      key,
      text,
      data,
      expiryParameter(expiresAt),
      this.#nowParameter(),
    ]);
    return result.rowCount === 1;
  }

  /** `incrVersion`'s move: one statement, atomic. */
  async move(from: string, to: string): Promise<boolean> {
    const result = await this.#statements.query('move', this.#sql.move, [
      from,
      to,
      this.#nowParameter(),
    ]);
    return result.rowCount === 1;
  }

  // ---- deletes ----------------------------------------------------------------------------

  async delete(key: string): Promise<boolean> {
    const row = (await this.#rows('delete', this.#sql.delete, [key, this.#nowParameter()]))[0];
    return row?.[0] === true;
  }

  async deleteMany(keys: readonly string[]): Promise<number> {
    if (keys.length === 0) return 0;
    const rows = await this.#rows('deleteMany', this.#sql.deleteMany, [keys, this.#nowParameter()]);
    return rows[0]![0] as number;
  }

  async deleteMatching(match: KeyMatch): Promise<number> {
    const sql = toSqlKeyMatch(match);
    if (sql.matchesNothing) return 0;
    const bounded = sql.upper !== null;
    const statement = bounded ? this.#sql.bounded.deleteBatch : this.#sql.unbounded.deleteBatch;
    let live = 0;
    // In batches, each a statement of its own: no statement holds many row locks for long.
    for (;;) {
      const rest = [sql.like, sql.regex, this.#nowParameter(), DELETE_BATCH];
      const rows = await this.#rows(
        'deletePattern',
        statement,
        bounded ? [sql.lower, sql.upper, ...rest] : [sql.lower, ...rest],
      );
      const [removed, removedLive] = rows[0] as [number, number];
      live += removedLive;
      if (removed < DELETE_BATCH) return live;
    }
  }

  async clear(): Promise<void> {
    // The server gives up waiting for the lock a little before the client gives up on the
    // statement, so the error says what happened.
    const lockTimeoutMs = Math.max(1, Math.floor(this.#timeoutMs * 0.8));
    await this.#statements.query(
      'clear',
      truncateSql(this.#options.table, lockTimeoutMs),
      undefined,
    );
  }

  // ---- lifecycle --------------------------------------------------------------------------

  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.#upkeep.stop();
      await releaseSite(this.#site);
    })();
    return this.#closing;
  }
}

/** The backend factory: synchronous (the pool connects on first use), node-postgres loaded now. */
export function openPostgresStore(context: BackendContext): PostgresStore {
  const options = resolvePostgresOptions(context.options, context.alias);
  const site = acquireSite(context.location, options, context.alias, context.logger);
  return new PostgresStore(context, options, site);
}
