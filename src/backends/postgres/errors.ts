/**
 * Turns node-postgres failures into `BackendError`s that say what happened and what to do about
 * it. Messages name the server with its password hidden; the driver's error stays as `cause`.
 */
import { BackendError, CacheError } from '../../core/errors.js';
import { redactSecrets } from '../../config/redact.js';
import { PostgresTimeoutError } from './connection.js';

/** Where the failing store lives, for messages. */
export interface PostgresPlace {
  readonly alias: string;
  /** The server, password hidden. */
  readonly where: string;
  /** The table as written in the options. */
  readonly table: string;
}

/** SQLSTATE of "relation does not exist". */
export const UNDEFINED_TABLE = '42P01';

interface DriverError {
  code?: unknown;
  message?: unknown;
  errors?: unknown;
}

/** The error's own words; Node's AggregateError (one per address tried) has an empty message. */
function reasonOf(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const { code, errors } = error as DriverError;
  if (error.message) return error.message;
  if (Array.isArray(errors) && errors.length > 0) {
    return errors
      .map((inner) => (inner instanceof Error ? inner.message : String(inner)))
      .join('; ');
  }
  return typeof code === 'string' ? code : error.name;
}

function advice(error: unknown, place: PostgresPlace): string | undefined {
  if (error instanceof PostgresTimeoutError) {
    return error.phase === 'connect'
      ? `is PostgreSQL at ${place.where} up and reachable? (raise options.connectTimeout if connecting is just slow)`
      : 'the server may be overloaded or frozen (raise operationTimeout if such statements are expected to be slow)';
  }
  const { code, message } = (error ?? {}) as DriverError;
  // pg-pool's and node-postgres' own words when connecting took longer than connectTimeout.
  if (
    typeof message === 'string' &&
    /timeout exceeded when trying to connect|connection timeout/i.test(message)
  ) {
    return `is PostgreSQL at ${place.where} up and reachable? (raise options.connectTimeout if connecting is just slow)`;
  }
  switch (code) {
    case UNDEFINED_TABLE:
      return `the table ${place.table} does not exist: create it with \`skycache createtable\`, or allow skycache to create it (options.createTable: true)`;
    case 'ECONNREFUSED':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EHOSTUNREACH':
    case 'ECONNRESET':
    case '57P01': // admin_shutdown
    case '57P03': // cannot_connect_now (starting up or shutting down)
      return `is PostgreSQL at ${place.where} up and reachable?`;
    case '28P01':
    case '28000':
      return `the server refused the credentials for ${place.where}`;
    case '3D000':
      return `the database named in ${place.where} does not exist`;
    case '42501':
      return `the user lacks a privilege on ${place.table} (or, to create it, on its schema)`;
    case '57014':
      return 'the server cancelled the statement (options.statementTimeout)';
    case '55P03':
      return 'the table was locked by another session for too long';
    default:
      return undefined;
  }
}

/**
 * The error to throw for a failure during `operation`: skycache's own errors pass through, the
 * rest become a `BackendError` with advice and the original error as `cause`.
 */
export function postgresError(error: unknown, operation: string, place: PostgresPlace): CacheError {
  if (error instanceof CacheError) return error;
  const reason = redactSecrets(reasonOf(error));
  const what = advice(error, place);
  return new BackendError(
    `cache "${place.alias}": postgres ${operation} failed: ${reason}${what ? `; ${what}` : ''}`,
    { cause: error },
  );
}
