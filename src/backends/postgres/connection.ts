/**
 * Connections: node-postgres loaded on first use, pools shared by the stores of one process that
 * use the same server, table and pool settings, and every query bounded in time.
 *
 * Sharing makes the pool the store's identity (`client`, returned by `caches.connection()`), so
 * caches on one table share in-process work such as `getOrSet` single-flight, and connections.
 * The table is part of the sharing key for that reason: caches on different tables must not
 * share single-flight. A pool given in `options.pool` is borrowed: used, never ended.
 *
 * Time limits: getting a connection (from the pool, or opening one) is bounded by
 * `connectTimeout`; each statement then by the operation's own limit, after which the connection
 * is destroyed (a frozen server would otherwise keep it forever) and the operation fails. The
 * server cancels what it was still running after `statementTimeout`.
 */
import { createRequire } from 'node:module';
import type { Pool, PoolClient, PoolConfig, QueryArrayResult } from 'pg';
import { ConfigError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { MAX_TIMER_MS, setLongTimeout, type LongTimer } from '../../core/timers.js';
import { Watchdog, type Watched } from '../../core/watchdog.js';
import { redactSecrets } from '../../config/redact.js';
import type { PgPoolLike, PostgresOptions } from './options.js';
import type { Statement } from './sql.js';

type PgModule = typeof import('pg');

let driver: PgModule | undefined;

/** Loads node-postgres on first use: importing skycache never does. */
export function loadPg(alias: string): PgModule {
  if (driver) return driver;
  try {
    driver = createRequire(import.meta.url)('pg') as PgModule;
  } catch (error) {
    throw new ConfigError(
      `cache "${alias}": the postgres backend needs the pg package (^8); install it with npm install pg`,
      { cause: error },
    );
  }
  return driver;
}

/** A failure to answer in time; `phase` says whether a connection or a statement was awaited. */
export class PostgresTimeoutError extends Error {
  constructor(
    readonly phase: 'connect' | 'query',
    readonly ms: number,
    readonly setting: string,
  ) {
    super(
      phase === 'connect'
        ? `no connection within ${ms} ms (${setting})`
        : `no answer within ${ms} ms (${setting})`,
    );
    this.name = 'PostgresTimeoutError';
  }
}

/**
 * A pool and the state its users share: whether each table is known to exist (checked once per
 * pool, not once per store).
 */
export interface PoolSite {
  readonly pool: Pool;
  /** skycache made the pool (and ends it with its last store). */
  readonly owned: boolean;
  /** The location with any password hidden, for messages. */
  readonly where: string;
  readonly connectTimeoutMs: number;
  users: number;
  /** Per table (quoted name): the check, or creation, of the table, once it has succeeded or while it runs. */
  readonly tables: Map<string, Promise<void>>;
  /** Per statement timeout (ms): the deadlines of the statements running with it. */
  readonly watchdogs: Map<number, Watchdog>;
}

const ownedSites = new Map<string, PoolSite & { readonly key: string }>();
const borrowedSites = new WeakMap<object, PoolSite>();

const ACCEPTED_LOCATION = /^(postgres|postgresql|socket):\/\//i;

/** A URL parse the way node-postgres does it (which also accepts a missing host). */
function parseLocation(location: string): URL {
  return new URL(location.replace(/@\//, '@localhost/'));
}

/**
 * The location for messages, password hidden: {@link redactSecrets}, and then the password as a
 * URL parser reads it, which also covers passwords that were not percent-encoded (`a b`).
 */
export function redactLocation(location: string): string {
  let text = redactSecrets(location);
  try {
    const { password } = parseLocation(location);
    const forms = new Set([password, decodeURIComponent(password)]);
    for (const form of forms) if (form) text = text.split(`:${form}@`).join(':***@');
  } catch {
    // not a URL: nothing more to find
  }
  return text;
}

/** Checks the location early, so that a malformed DSN is a `ConfigError` that hides the password. */
function checkLocation(location: string, alias: string): void {
  const problem = (text: string) =>
    new ConfigError(
      `cache "${alias}": field "location": ${JSON.stringify(redactLocation(location))} ${text}`,
    );
  if (location === '') return;
  if (!ACCEPTED_LOCATION.test(location)) {
    throw problem(
      'is not a PostgreSQL URL; use postgres://user:password@host:5432/database (choose the table with options.table)',
    );
  }
  try {
    parseLocation(location);
  } catch {
    // No cause: the URL parser's error carries the whole input, password included.
    throw problem('is not a valid URL');
  }
}

function poolConfig(location: string, options: PostgresOptions): PoolConfig {
  return {
    // Without a location, node-postgres reads PGHOST, PGUSER, PGDATABASE… like libpq.
    ...(location === '' ? {} : { connectionString: location }),
    max: options.poolSize,
    // Past Node's timer range node-postgres's own timer would fire at once: connect() times it.
    connectionTimeoutMillis: options.connectTimeoutMs > MAX_TIMER_MS ? 0 : options.connectTimeoutMs,
    // The server takes at most 2^31−1 ms; a longer limit is no server limit (never an early one).
    ...(options.statementTimeoutMs > 0 && options.statementTimeoutMs <= MAX_TIMER_MS
      ? { statement_timeout: options.statementTimeoutMs }
      : {}),
    // TCP keepalive finds connections to a vanished host while they are idle.
    keepAlive: true,
    keepAliveInitialDelayMillis: 30_000,
    // Idle connections do not keep the process alive: a script that forgets close() still exits.
    allowExitOnIdle: true,
    application_name: process.env.PGAPPNAME ?? 'skycache',
  };
}

/**
 * The pool for a store: a shared one skycache made, or the borrowed `options.pool`.
 * Call {@link releaseSite} once per successful call.
 */
export function acquireSite(
  location: string,
  options: PostgresOptions,
  alias: string,
  logger: Logger,
): PoolSite {
  if (options.pool) {
    if (location !== '') {
      throw new ConfigError(
        `cache "${alias}": field "location": options.pool brings its own connection settings; remove the location`,
      );
    }
    const pool = options.pool as PgPoolLike as unknown as Pool;
    let site = borrowedSites.get(pool);
    if (!site) {
      site = {
        pool,
        owned: false,
        where: 'the pool in options.pool',
        connectTimeoutMs: options.connectTimeoutMs,
        users: 0,
        tables: new Map(),
        watchdogs: new Map(),
      };
      borrowedSites.set(pool, site);
    }
    site.users++;
    return site;
  }
  checkLocation(location, alias);
  const key = JSON.stringify([
    location,
    options.table.sql,
    options.poolSize,
    options.connectTimeoutMs,
    options.statementTimeoutMs,
  ]);
  const existing = ownedSites.get(key);
  if (existing) {
    existing.users++;
    return existing;
  }
  const pg = loadPg(alias);
  const where =
    location === '' ? 'the server named by PG* environment variables' : redactLocation(location);
  const pool = new pg.Pool(poolConfig(location, options));
  // An idle connection whose server went away emits 'error' on the pool; without a listener that
  // would crash the process. The pool drops the connection and opens a new one when needed.
  pool.on('error', (error) => {
    logger.warn(
      { err: new Error(redactSecrets(error.message)), alias, location: where },
      'postgres: an idle connection failed; it was dropped and will be replaced',
    );
  });
  const site = {
    key,
    pool,
    owned: true,
    where,
    connectTimeoutMs: options.connectTimeoutMs,
    users: 1,
    tables: new Map<string, Promise<void>>(),
    watchdogs: new Map<number, Watchdog>(),
  };
  ownedSites.set(key, site);
  return site;
}

/** Gives back a store's use of a site; the last user of a pool skycache made ends it. */
export async function releaseSite(site: PoolSite): Promise<void> {
  site.users--;
  if (site.users > 0 || !site.owned) return;
  const owned = site as PoolSite & { key: string };
  if (ownedSites.get(owned.key) === site) ownedSites.delete(owned.key);
  await site.pool.end();
}

function noop(): void {}

type ClientCallback = (error: Error | undefined, client?: PoolClient) => void;

/** A connection from the pool, within `connectTimeout`. */
function connect(site: PoolSite, callback: ClientCallback): void {
  // A pool skycache made enforces connectionTimeoutMillis itself (and leaves its queue cleanly).
  if (site.owned && site.connectTimeoutMs <= MAX_TIMER_MS) {
    site.pool.connect((error, client) => callback(error ?? undefined, client));
    return;
  }
  let waiting = true;
  const timer = setLongTimeout(() => {
    waiting = false;
    callback(new PostgresTimeoutError('connect', site.connectTimeoutMs, 'connectTimeout'));
  }, site.connectTimeoutMs);
  site.pool.connect((error, client, release) => {
    timer.clear();
    if (waiting) callback(error ?? undefined, client);
    // Too late: the borrowed pool gets its connection straight back.
    else if (!error) release();
  });
}

/** What a statement returns, rows as arrays. */
export type Rows = QueryArrayResult['rows'];

/** The watchdog for statements of `timeoutMs` on `site` (`undefined`: a long timer each). */
function watchdogFor(site: PoolSite, timeoutMs: number): Watchdog | undefined {
  let watchdog = site.watchdogs.get(timeoutMs);
  if (watchdog === undefined && timeoutMs <= MAX_TIMER_MS) {
    watchdog = new Watchdog(timeoutMs);
    site.watchdogs.set(timeoutMs, watchdog);
  }
  return watchdog;
}

/** One statement on a checked-out connection, bounded by its timeout. */
class RunningStatement<T> implements Watched {
  settled = false;
  deadline = 0;
  next: Watched | undefined;
  prev: Watched | undefined;
  #timer: LongTimer | undefined;

  constructor(
    private readonly client: PoolClient,
    private readonly query: Statement | string,
    private readonly values: readonly unknown[] | undefined,
    private readonly timeoutMs: number,
    private readonly setting: string,
    private readonly resolve: (result: T | Promise<T>) => void,
    private readonly reject: (error: unknown) => void,
    private readonly watchdog: Watchdog | undefined,
    private readonly handlers: StatementHandlers<T> | undefined,
  ) {
    // A connection that fails while checked out emits 'error'; the query fails with it, so the
    // event needs a listener but nothing else.
    client.on('error', noop);
    // setLongTimeout: `operationTimeout: '30d'` must wait 30 days, not fire after 1 ms.
    if (watchdog) watchdog.watch(this);
    else this.#timer = setLongTimeout(() => this.expire(), timeoutMs);
  }

  expire(): void {
    if (this.settled) return;
    this.settled = true;
    // It may be stuck behind a frozen server: destroy it rather than reuse it. (Its query then
    // fails too; nobody listens any more.)
    this.client.release(new Error('skycache: statement timed out'));
    this.#fail(new PostgresTimeoutError('query', this.timeoutMs, this.setting));
  }

  #fail(error: unknown): void {
    const handlers = this.handlers;
    if (handlers?.recover) this.resolve(handlers.recover(error, this.query, this.values));
    else this.reject(error);
  }

  done(error: Error | null, result: QueryArrayResult): void {
    if (this.settled) return;
    this.settled = true;
    this.#timer?.clear();
    this.watchdog?.unwatch(this);
    const client = this.client;
    client.off('error', noop);
    // Other failures leave it usable (the pool itself drops connections that broke), but not
    // knowing what a failed multi-statement string left behind, its connection goes.
    client.release(error && typeof this.query === 'string' ? error : undefined);
    if (error) {
      this.#fail(error);
      return;
    }
    const map = this.handlers?.map;
    if (!map) {
      this.resolve(result as T);
      return;
    }
    try {
      this.resolve(map(result));
    } catch (mapError) {
      this.reject(mapError);
    }
  }
}

/** What a statement's caller makes of its outcome, without a `then` of its own. */
export interface StatementHandlers<T> {
  /** The result from the statement's rows. */
  readonly map?: (result: QueryArrayResult) => T;
  /**
   * The outcome of a failed statement (a retry, or a rejection with a better error). Given the
   * statement and values, so that one handler object serves every call of an operation.
   */
  readonly recover?: (
    error: unknown,
    query: Statement | string,
    values: readonly unknown[] | undefined,
  ) => Promise<T>;
}

/**
 * Runs a named prepared statement (or, given a string, a simple multi-statement query without
 * parameters) and returns its result, within `timeoutMs` once a connection is in hand.
 *
 * Written with callbacks rather than `await`: node-postgres and pg-pool make two promises per call
 * in their promise forms, and this is the path every operation takes. The deadlines of statements
 * with one timeout share a watchdog (one timer, not one per statement); `handlers` map the result
 * and recover from failures inside the one promise.
 * @param setting the option that set `timeoutMs`, for the message
 */
export function runQuery<T = QueryArrayResult>(
  site: PoolSite,
  query: Statement | string,
  values: readonly unknown[] | undefined,
  timeoutMs: number,
  setting = 'operationTimeout',
  handlers?: StatementHandlers<T>,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    connect(site, (connectError, client) => {
      if (connectError || !client) {
        if (handlers?.recover) resolve(handlers.recover(connectError, query, values));
        else reject(connectError);
        return;
      }
      const watchdog = watchdogFor(site, timeoutMs);
      const running = new RunningStatement(
        client,
        query,
        values,
        timeoutMs,
        setting,
        resolve,
        reject,
        watchdog,
        handlers,
      );
      try {
        if (typeof query === 'string') {
          client.query(query, (error: Error, result: unknown) =>
            running.done(error, result as QueryArrayResult),
          );
        } else {
          client.query(
            { name: query.name, text: query.text, values: values as unknown[], rowMode: 'array' },
            (error: Error | null, result: QueryArrayResult) => running.done(error, result),
          );
        }
      } catch (error) {
        running.done(error as Error, undefined as unknown as QueryArrayResult);
      }
    });
  });
}
