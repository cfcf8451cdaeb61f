import { defineConfig } from 'tsup';

// Drivers and the test runner stay external: they are loaded lazily or supplied by the user.
const external = [
  'vitest',
  '@redis/client',
  'pg',
  'better-sqlite3',
  'fastify',
  'express',
  'hono',
  'keyv',
  '@opentelemetry/api',
  'prom-client',
];

export default defineConfig([
  {
    entry: {
      index: 'src/index.ts',
      // Built in both formats to share chunks with the core, but exported for `import` only: the
      // conformance suite runs inside vitest, which is ESM-only.
      'testing/index': 'src/testing/index.ts',
      'http/index': 'src/integrations/http/index.ts',
      'fastify/index': 'src/integrations/fastify/index.ts',
      'express/index': 'src/integrations/express/index.ts',
      'hono/index': 'src/integrations/hono/index.ts',
      'keyv/index': 'src/integrations/keyv/index.ts',
      'otel/index': 'src/integrations/otel/index.ts',
      'prometheus/index': 'src/integrations/prometheus/index.ts',
      'dashboard/index': 'src/integrations/dashboard/index.ts',
      'dashboard/fastify': 'src/integrations/dashboard/fastify.ts',
      'dashboard/express': 'src/integrations/dashboard/express.ts',
      'dashboard/hono': 'src/integrations/dashboard/hono.ts',
    },
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'node20',
    // `import.meta.url` (used to load drivers lazily) gets a CommonJS equivalent in the .cjs build.
    shims: true,
    // Shared chunks in both formats, so every subpath (skycache/testing, skycache/fastify, …)
    // uses the one core: one registry, one set of error classes for `instanceof`.
    splitting: true,
    external,
  },
  {
    entry: { 'cli/main': 'src/cli/main.ts' },
    format: ['esm'],
    sourcemap: true,
    target: 'node20',
    external,
  },
]);
