import { afterAll } from 'vitest';
import { createCache } from '../src/core/registry.js';
import { runConformanceSuite } from '../src/testing/index.js';
import {
  adminPool,
  backend,
  backendName,
  dropTables,
  POSTGRES_URL,
  probePostgres,
} from './fixtures/postgres-helpers.js';
import { describeWithService } from './support/services.js';

const TABLE = 'skycache_test_conformance';
const unavailable = await probePostgres();

describeWithService('PostgreSQL', unavailable, 'postgres backend', () => {
  afterAll(async () => {
    const pool = adminPool();
    await dropTables(pool, TABLE);
    await pool.end();
  });

  // Every test of the suite uses a random keyPrefix in one shared table, as applications would.
  runConformanceSuite({
    name: 'conformance',
    backendName,
    supportsSync: false,
    // A TTL is read a few round trips after it was set; on a loaded machine that takes a while.
    ttlPrecisionMs: 150,
    makeCache: (overrides) =>
      createCache({ backend, location: POSTGRES_URL, options: { table: TABLE }, ...overrides }),
  });
});
