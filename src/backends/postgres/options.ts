/**
 * The postgres backend's options: their specs (so that URLs, objects and the original upper-case
 * settings are validated alike), the checks across them, and their resolved form with units
 * applied. The factory resolves options itself too, because a factory passed by value
 * (`backend: postgresBackend.factory`) receives them unvalidated.
 */
import { configDurationToMs, type Duration } from '../../core/duration.js';
import { ConfigError } from '../../core/errors.js';
import type { OptionSpec } from '../definition.js';
import { parseTableName, type TableName } from './sql.js';

/** Defaults, in the units the options use. */
export const POSTGRES_DEFAULTS = {
  table: 'skycache_entries',
  unlogged: true,
  createTable: true,
  /** Django's default: a cull removes a third of the entries. */
  cullFrequency: 3,
  /** Connections in a pool skycache makes (pg's own default). */
  poolSize: 10,
  /** Seconds to get a connection (opening one included) and to check or create the table. */
  connectTimeout: 2 as Duration,
  /** Seconds the server may spend on one statement before it cancels it. */
  statementTimeout: 5 as Duration,
};

/** The option specs of the postgres backend (see docs/postgres.md). */
export const POSTGRES_OPTION_SPECS: Readonly<Record<string, OptionSpec>> = {
  table: { kind: 'string' },
  unlogged: { kind: 'boolean' },
  createTable: { kind: 'boolean' },
  maxEntries: { kind: 'integer', min: 1 },
  cullFrequency: { kind: 'integer', min: 0 },
  pool: { kind: 'object' },
  poolSize: { kind: 'integer', min: 1, max: 10_000 },
  connectTimeout: { kind: 'duration' },
  statementTimeout: { kind: 'duration' },
};

/**
 * Query parameters of PostgreSQL connection URLs that node-postgres reads itself; they stay in the
 * location. Anything else in a `postgres://` query is a skycache field or option.
 */
export const POSTGRES_DRIVER_PARAMETERS: readonly string[] = [
  'sslmode',
  'ssl',
  'sslcert',
  'sslkey',
  'sslrootcert',
  'sslnegotiation',
  'uselibpqcompat',
  'application_name',
  'fallback_application_name',
  'options',
  'client_encoding',
  'host',
  'port',
  'user',
  'password',
];

/** Options with defaults applied and units resolved. */
export interface PostgresOptions {
  readonly table: TableName;
  readonly unlogged: boolean;
  readonly createTable: boolean;
  readonly maxEntries: number | undefined;
  readonly cullFrequency: number;
  /** An existing `pg.Pool` to borrow (never ended by skycache), or `undefined` to make one. */
  readonly pool: PgPoolLike | undefined;
  readonly poolSize: number;
  /** Milliseconds. */
  readonly connectTimeoutMs: number;
  /** Milliseconds; `0` = no server-side limit. */
  readonly statementTimeoutMs: number;
}

/** What skycache needs of a borrowed pool: a `pg.Pool` (or something that behaves like one). */
export interface PgPoolLike {
  connect(): Promise<unknown>;
  query(...args: never[]): unknown;
  end(): Promise<void>;
}

function isPoolLike(value: unknown): value is PgPoolLike {
  const pool = value as Partial<PgPoolLike> | null;
  return (
    pool !== null &&
    typeof pool === 'object' &&
    typeof pool.connect === 'function' &&
    typeof pool.query === 'function'
  );
}

/** Checks across options, after each was validated on its own. @returns `field: problem` */
export function validatePostgresOptions(
  options: Readonly<Record<string, unknown>>,
): string | undefined {
  if (options.table !== undefined) {
    const problem = parseTableName(options.table).problem;
    if (problem) return `options.table: ${problem}`;
  }
  if (options.pool !== undefined) {
    if (!isPoolLike(options.pool)) {
      return 'options.pool: expected a pg.Pool (an object with connect() and query())';
    }
    for (const name of ['poolSize', 'statementTimeout']) {
      if (options[name] !== undefined) {
        return `options.${name}: cannot be applied to a pool given in options.pool; configure that pool instead`;
      }
    }
  }
  for (const name of ['connectTimeout', 'statementTimeout']) {
    if (options[name] === undefined) continue;
    let ms: number;
    try {
      ms = configDurationToMs(options[name], `options.${name}`);
    } catch (error) {
      return (error as Error).message;
    }
    // 0 means "no limit" to PostgreSQL's statement_timeout, but a connection must not wait forever.
    if (ms < 0 || (ms === 0 && name === 'connectTimeout')) {
      return `options.${name}: must be ${name === 'connectTimeout' ? 'positive' : 'zero (no limit) or positive'}, got ${String(options[name])}`;
    }
  }
  return undefined;
}

function expect<T>(
  options: Readonly<Record<string, unknown>>,
  name: string,
  check: (value: unknown) => boolean,
  what: string,
  fallback: T,
  alias: string,
): T {
  const value = options[name];
  if (value === undefined) return fallback;
  if (!check(value)) {
    throw new ConfigError(`cache "${alias}": field "options.${name}": expected ${what}`);
  }
  return value as T;
}

const isInteger = (min: number) => (value: unknown) =>
  typeof value === 'number' && Number.isInteger(value) && value >= min;

/**
 * Applies defaults and units to options that the config layer may or may not have validated.
 * @throws ConfigError naming the alias and the option
 */
export function resolvePostgresOptions(
  options: Readonly<Record<string, unknown>>,
  alias: string,
): PostgresOptions {
  for (const name of Object.keys(options)) {
    if (!(name in POSTGRES_OPTION_SPECS) && options[name] !== undefined) {
      throw new ConfigError(
        `cache "${alias}": field "options.${name}": unknown option for the postgres backend; known: ${Object.keys(POSTGRES_OPTION_SPECS).join(', ')}`,
      );
    }
  }
  const problem = validatePostgresOptions(options);
  if (problem) throw new ConfigError(`cache "${alias}": ${problem}`);
  const isBoolean = (value: unknown) => typeof value === 'boolean';
  const table = expect(
    options,
    'table',
    (value) => typeof value === 'string',
    'a string',
    POSTGRES_DEFAULTS.table,
    alias,
  );
  const duration = (name: string, fallback: Duration) =>
    configDurationToMs(options[name] ?? fallback, `cache "${alias}": field "options.${name}"`);
  return {
    table: parseTableName(table).name!,
    unlogged: expect(options, 'unlogged', isBoolean, 'true or false', true, alias),
    createTable: expect(options, 'createTable', isBoolean, 'true or false', true, alias),
    maxEntries: expect<number | undefined>(
      options,
      'maxEntries',
      isInteger(1),
      'an integer ≥ 1',
      undefined,
      alias,
    ),
    cullFrequency: expect(
      options,
      'cullFrequency',
      isInteger(0),
      'an integer ≥ 0',
      POSTGRES_DEFAULTS.cullFrequency,
      alias,
    ),
    pool: options.pool as PgPoolLike | undefined,
    poolSize: expect(
      options,
      'poolSize',
      isInteger(1),
      'an integer ≥ 1',
      POSTGRES_DEFAULTS.poolSize,
      alias,
    ),
    connectTimeoutMs: duration('connectTimeout', POSTGRES_DEFAULTS.connectTimeout),
    statementTimeoutMs: duration('statementTimeout', POSTGRES_DEFAULTS.statementTimeout),
  };
}
