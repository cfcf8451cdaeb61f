import { randomUUID } from 'node:crypto';
import { beforeEach } from 'vitest';
import { createCache } from '../src/core/registry.js';
import { runConformanceSuite } from '../src/testing/index.js';

// One memory location per test: the caches a test makes share a store (so prefix isolation is
// really tested), while tests never see each other's entries.
let location = '';
beforeEach(() => {
  location = `conformance-${randomUUID()}`;
});

runConformanceSuite({
  name: 'memory backend',
  backendName: 'memory',
  supportsSync: true,
  makeCache: (overrides) => createCache({ backend: 'memory', location, ...overrides }),
});
