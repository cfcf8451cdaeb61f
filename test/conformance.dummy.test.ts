import { createCache } from '../src/core/registry.js';
import { runConformanceSuite } from '../src/testing/index.js';

runConformanceSuite({
  name: 'dummy backend',
  backendName: 'dummy',
  dummy: true,
  supportsSync: true,
  makeCache: (overrides) => createCache({ backend: 'dummy', ...overrides }),
});
