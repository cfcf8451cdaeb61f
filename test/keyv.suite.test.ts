/**
 * The Keyv project's own test suite (@keyv/test-suite 2.x, for Keyv 5) against KeyvSkycache on the
 * memory, disk, Redis and PostgreSQL backends. Every backend gets a random keyPrefix, so the
 * suite's `clear()` calls touch nothing else on the shared servers.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import keyvTestSuite, { keyvIteratorTests } from '@keyv/test-suite';
import Keyv, { type KeyvOptions, type KeyvStoreAdapter } from 'keyv';
import * as Vitest from 'vitest';
import { afterAll, describe } from 'vitest';
import type { Cache } from '../src/core/cache.js';
import { silentLogger } from '../src/core/logger.js';
import { createCache } from '../src/core/registry.js';
import { KeyvSkycache } from '../src/integrations/keyv/index.js';
import {
  adminPool,
  backend as postgresBackend,
  dropTables,
  POSTGRES_URL,
  probePostgres,
} from './fixtures/postgres-helpers.js';
import { makeRedisCache, probeRedis, redisUrl } from './fixtures/redis-servers.js';
import { describeWithService } from './support/services.js';

const TABLE = 'skycache_test_keyv_suite';
const prefix = () => `keyv-suite-${randomUUID()}`;

// Keyv 5 wires `keyv.iterator()` only for the dialects it lists (redis, postgres, sqlite, …);
// the memory backend is not one of them, so its users attach the adapter's iterator themselves,
// exactly as docs/keyv.md shows.
class KeyvWiringIterator extends Keyv {
  constructor(options?: KeyvOptions) {
    super(options);
    const store = this.store as KeyvStoreAdapter;
    if (this.iterator === undefined && store instanceof KeyvSkycache) {
      this.iterator = this.generateIterator(store.iterator.bind(store));
    }
  }
}

function runSuites(makeCache: () => Cache, keyvClass: typeof Keyv = Keyv): void {
  let cache: Cache;
  Vitest.beforeAll(() => {
    cache = makeCache();
  });
  afterAll(async () => {
    await cache.clear();
    await cache.close();
  });
  const store = () => new KeyvSkycache(cache);
  keyvTestSuite(Vitest, keyvClass, store);
  keyvIteratorTests(Vitest, keyvClass, store);
}

describe('KeyvSkycache on memory', () => {
  runSuites(
    () => createCache({ backend: 'memory', location: prefix(), keyPrefix: 'k' }),
    KeyvWiringIterator,
  );
});

describe('KeyvSkycache on disk', () => {
  const directory = mkdtempSync(join(tmpdir(), 'skycache-keyv-'));
  afterAll(() => rmSync(directory, { recursive: true, force: true }));
  runSuites(() => createCache({ backend: 'disk', location: directory, keyPrefix: prefix() }));
});

describeWithService('Redis', await probeRedis(), 'KeyvSkycache on Redis', () => {
  runSuites(() => makeRedisCache({ location: redisUrl(0), keyPrefix: prefix() }));
});

describeWithService('PostgreSQL', await probePostgres(), 'KeyvSkycache on PostgreSQL', () => {
  afterAll(async () => {
    const pool = adminPool();
    await dropTables(pool, TABLE);
    await pool.end();
  });
  runSuites(() =>
    createCache({
      backend: postgresBackend,
      location: POSTGRES_URL,
      keyPrefix: prefix(),
      options: { table: TABLE },
      operationTimeout: '2s',
      logger: silentLogger,
    }),
  );
});
