import { defineConfig } from 'tsup';

// Drivers and the test runner stay external: they are loaded lazily or supplied by the user.
const external = ['vitest', '@redis/client', 'pg', 'better-sqlite3'];

export default defineConfig([
  {
    entry: { index: 'src/index.ts', 'testing/index': 'src/testing/index.ts' },
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'node20',
    // `import.meta.url` (used to load drivers lazily) gets a CommonJS equivalent in the .cjs build.
    shims: true,
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
