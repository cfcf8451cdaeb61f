import { defineConfig } from 'tsup';

// What the container image runs, as single ES modules: the `skycache` CLI and the reference
// service. Dependencies (package.json `dependencies` and peers: drivers, Fastify) stay external and
// come from the image's `npm ci --omit=dev` (deploy/package.json); skycache's own code is bundled.
export default defineConfig({
  entry: { 'cli/main': 'src/cli/main.ts', 'service/main': 'examples/service/main.ts' },
  outDir: 'build',
  format: ['esm'],
  target: 'node20',
  platform: 'node',
  splitting: false,
  sourcemap: true,
  clean: true,
});
