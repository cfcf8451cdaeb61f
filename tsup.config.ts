import { defineConfig } from 'tsup';

export default defineConfig({
  entry: {
    index: 'src/index.ts',
    'testing/index': 'src/testing/index.ts',
    'cli/main': 'src/cli/main.ts',
  },
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  splitting: false,
  // Drivers and the test runner stay external: they are loaded lazily or supplied by the user.
  external: ['vitest', '@redis/client', 'pg', 'better-sqlite3'],
});
