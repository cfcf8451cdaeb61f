/**
 * The `postgres` backend: a cache in one PostgreSQL table (UNLOGGED by default), created on first
 * use, shared by every process that uses it, through node-postgres (loaded on first use). Expired
 * rows are removed by the writers themselves: no extension, no cron job, no timer. Options, table
 * layout and outage behaviour: docs/postgres.md.
 */
import type { BackendDefinition } from './definition.js';
import {
  POSTGRES_DRIVER_PARAMETERS,
  POSTGRES_OPTION_SPECS,
  validatePostgresOptions,
} from './postgres/options.js';
import { openPostgresStore } from './postgres/store.js';

export { PostgresStore } from './postgres/store.js';
export type { CreateTableOutcome } from './postgres/table.js';
export { POSTGRES_DEFAULTS } from './postgres/options.js';

/** The `postgres` backend definition. */
export const postgresBackend: BackendDefinition = {
  name: 'postgres',
  sync: false,
  options: POSTGRES_OPTION_SPECS,
  driverQueryParameters: POSTGRES_DRIVER_PARAMETERS,
  validate: validatePostgresOptions,
  factory: openPostgresStore,
};
