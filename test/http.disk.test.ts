/**
 * The HTTP caching scenarios against the disk backend (SQLite in a directory), through the
 * Fastify plugin: entries are bytes in a store another process could share, so the envelope,
 * path namespaces and tag tokens must work without anything held in memory.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, it } from 'vitest';
import { ConfigError, createCache, type Cache } from '../src/index.js';
import { silentLogger } from '../src/core/logger.js';
import { fastifyHarness } from './http.harness.js';
import { describeHttpCaching } from './http.scenarios.js';

const root = mkdtempSync(join(tmpdir(), 'skycache-http-disk-'));
let made = 0;
afterAll(() => rmSync(root, { recursive: true, force: true }));

function diskCache(): Cache {
  return createCache({
    backend: 'disk',
    location: join(root, `cache-${made++}`),
    logger: silentLogger,
  });
}

/** Whether this build registers the disk backend (it is being integrated separately). */
function diskAvailable(): boolean {
  try {
    diskCache();
    return true;
  } catch (error) {
    if (error instanceof ConfigError) return false;
    throw error;
  }
}

if (diskAvailable()) {
  describeHttpCaching(fastifyHarness, { makeCache: diskCache, cacheName: 'disk' });
} else {
  describe('HTTP caching on the disk backend', () => {
    // Runs as soon as `backend: 'disk'` is registered.
    it.skip('needs the disk backend, which this build does not register yet', () => {});
  });
}
