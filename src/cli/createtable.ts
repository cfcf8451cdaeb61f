/**
 * `skycache createtable`: creates the table of every PostgreSQL cache alias ahead of time, like
 * Django's `createcachetable`, so that the application itself can run with
 * `options.createTable: false` and without the CREATE privilege. Aliases on other backends are
 * listed and skipped. Exit code 1 if any alias failed.
 */
import { PostgresStore } from '../backends/postgres.js';
import { resolvePostgresOptions } from '../backends/postgres/options.js';
import { createTableSql } from '../backends/postgres/sql.js';
import { redactSecrets } from '../config/redact.js';
import { resolveConfig } from '../config/resolve.js';
import type { CacheConfigInput } from '../config/types.js';
import { silentLogger } from '../core/logger.js';

/** What `createtable` did for one alias. */
export interface CreateTableReport {
  alias: string;
  backend: string;
  /** The server, password hidden. */
  location: string;
  /** The table as configured (postgres aliases only). */
  table?: string;
  outcome: 'created' | 'existed' | 'skipped' | 'planned' | 'failed';
  unlogged?: boolean;
  /** `--dry-run`: the SQL that would run. */
  sql?: string;
  error?: string;
}

/** Creates (or with `dryRun`, prints the SQL of) the table of each postgres alias of `config`. */
export async function createTables(
  config: Record<string, CacheConfigInput>,
  { dryRun = false } = {},
): Promise<CreateTableReport[]> {
  const reports: CreateTableReport[] = [];
  for (const [alias, entry] of Object.entries(config)) {
    const given = typeof entry === 'string' ? entry : undefined;
    const report: CreateTableReport = {
      alias,
      backend: given?.split(':')[0] ?? '?',
      location: given ? redactSecrets(given) : '?',
      outcome: 'failed',
    };
    reports.push(report);
    let store: PostgresStore | undefined;
    try {
      const resolved = resolveConfig(entry, alias);
      report.backend = resolved.backendName;
      report.location = resolved.redactedLocation;
      if (resolved.backendName !== 'postgres' || typeof resolved.backend !== 'function') {
        report.outcome = 'skipped';
        continue;
      }
      const options = resolvePostgresOptions(resolved.options, alias);
      report.table = options.table.display;
      report.unlogged = options.unlogged;
      if (dryRun) {
        report.sql = `${createTableSql(options.table, options.unlogged, { transaction: true })};`;
        report.outcome = 'planned';
        continue;
      }
      const made = await resolved.backend({
        alias,
        location: resolved.location,
        options: resolved.options,
        now: Date.now,
        logger: silentLogger,
        operationTimeoutMs: resolved.operationTimeoutMs,
      });
      if (!(made instanceof PostgresStore))
        throw new Error('the postgres backend made no PostgresStore');
      store = made;
      const done = await store.createTable();
      report.outcome = done.outcome;
      report.unlogged = done.unlogged;
    } catch (error) {
      report.outcome = 'failed';
      report.error = redactSecrets((error as Error).message);
    } finally {
      await store?.close().catch(() => {});
    }
  }
  return reports;
}

/** One line per alias, for people. */
export function describeReport(report: CreateTableReport): string {
  const table = `table ${report.table ?? '?'}${report.unlogged === false ? '' : ' (unlogged)'}`;
  switch (report.outcome) {
    case 'created':
      return `${report.alias}: created ${table} in ${report.location}`;
    case 'existed':
      return `${report.alias}: ${table} already exists in ${report.location}`;
    case 'planned':
      return `-- ${report.alias}: ${table} in ${report.location}\n${report.sql}`;
    case 'skipped':
      return `${report.alias}: ${report.backend} backend, no table to create`;
    case 'failed':
      return `${report.alias}: FAILED: ${report.error}`;
  }
}
