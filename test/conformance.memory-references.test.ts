import { randomUUID } from 'node:crypto';
import { beforeEach } from 'vitest';
import { createCache } from '../src/core/registry.js';
import { runConformanceSuite } from '../src/testing/index.js';

// The memory backend with `serialize: false` keeps references: the suite skips value isolation
// and serializer rules there (the documented trade-off) and checks everything else.
let location = '';
beforeEach(() => {
  location = `conformance-refs-${randomUUID()}`;
});

runConformanceSuite({
  name: 'memory backend (serialize: false)',
  backendName: 'memory',
  supportsSync: true,
  storesReferences: true,
  makeCache: (overrides) =>
    createCache({ backend: 'memory', location, ...overrides, options: { serialize: false } }),
});
