/**
 * The CLI end to end on PostgreSQL, in a table of its own. The server trusts local connections, so
 * a password in the DSN is accepted and ignored: it must still never be printed.
 */
import { afterAll, describe, it } from 'vitest';
import { scenarios, withParam } from './cli.harness.js';
import { adminPool, dropTables, POSTGRES_URL, probePostgres } from './fixtures/postgres-helpers.js';
import { describeWithService } from './support/services.js';

const TABLE = 'skycache_test_cli_e2e';
const SECRET = 'cli-pg-hunter2';
const unavailable = await probePostgres();

/** POSTGRES_URL with a password added to its user. */
function withPassword(dsn: string): string {
  const parsed = new URL(dsn);
  parsed.password = SECRET;
  return parsed.toString();
}

describeWithService('PostgreSQL', unavailable, 'skycache CLI on PostgreSQL', () => {
  afterAll(async () => {
    const admin = adminPool();
    await dropTables(admin, TABLE);
    await admin.end();
  });
  const url = (prefix: string) =>
    withParam(withParam(withPassword(POSTGRES_URL), 'table', TABLE), 'keyPrefix', prefix);
  describe('scenarios', () => {
    for (const [name, scenario] of scenarios(url, SECRET)) it.concurrent(name, scenario, 600_000);
  });
});
