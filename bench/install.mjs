#!/usr/bin/env node
/**
 * Installs the benchmark peers (bench/package.json) into bench/node_modules on first use, and again
 * whenever bench/package-lock.json changed since the last install. `npm run bench` calls it first;
 * the library's own `npm ci` stays free of them (they compile native code: sqlite3 builds from source).
 * Modules under bench/ resolve their imports from bench/node_modules first, then from the root.
 */
import { existsSync, statSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('.', import.meta.url));
const lock = new URL('package-lock.json', import.meta.url);
const installed = new URL('node_modules/.package-lock.json', import.meta.url);

const fresh =
  existsSync(installed) &&
  (!existsSync(lock) || statSync(installed).mtimeMs >= statSync(lock).mtimeMs);
if (!fresh) {
  console.error('bench: installing the benchmark peers into bench/node_modules (first run only) …');
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  execFileSync(npm, [existsSync(lock) ? 'ci' : 'install', '--no-audit', '--no-fund'], {
    cwd: dir,
    stdio: 'inherit',
  });
}
