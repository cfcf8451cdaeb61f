/**
 * The HTTP caching scenarios against the disk backend (SQLite in a directory), through the
 * Fastify plugin: entries are bytes in a store another process could share, so the envelope,
 * path namespaces and tag tokens must work without anything held in memory.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { createCache, type Cache } from '../src/index.js';
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

describeHttpCaching(fastifyHarness, { makeCache: diskCache, cacheName: 'disk' });
