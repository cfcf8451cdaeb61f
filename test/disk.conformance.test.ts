import { rmSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach } from 'vitest';

import { createCache } from '../src/core/registry.js';
import { runConformanceSuite } from '../src/testing/index.js';

// One directory per test: the caches a test makes share a store (so prefix isolation is really
// tested), while tests never see each other's entries.
const root = mkdtempSync(join(tmpdir(), 'skycache-disk-conformance-'));
let location = '';
let count = 0;
beforeEach(() => {
  location = join(root, String(count++));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

runConformanceSuite({
  name: 'disk backend',
  supportsSync: true,
  backendName: 'disk',
  makeCache: (overrides) => createCache({ backend: 'disk', location, ...overrides }),
});
