#!/usr/bin/env node
/**
 * Adds the platform-specific optional packages (esbuild, rollup, msgpackr-extract binaries for other
 * systems) that npm leaves out of package-lock.json when it is written on one platform, after which
 * `npm ci` refuses the lockfile ("Missing: … from lock file"; npm/cli#4828, #8320).
 *
 * Run after any `npm install` that changes the lockfile:  node scripts/complete-lockfile.mjs
 * It only adds entries (version, integrity, os, cpu, libc, engines, license, optional), taken from
 * the registry's metadata for the exact versions the lockfile already names.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { execSync } from 'node:child_process';

const lockPath = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(lockPath, 'utf8'));
const packages = lock.packages;
const registry = execSync('npm config get registry', { encoding: 'utf8' })
  .trim()
  .replace(/\/?$/, '/');

/** Where Node would find `name` from the package at `path` (walking up node_modules folders). */
function resolveFrom(path, name) {
  let base = path;
  for (;;) {
    const candidate = `${base ? `${base}/` : ''}node_modules/${name}`;
    if (packages[candidate]) return candidate;
    if (!base) return undefined;
    const index = base.lastIndexOf('/node_modules/');
    base = index === -1 ? '' : base.slice(0, index);
  }
}

const missing = [];
for (const [path, entry] of Object.entries(packages)) {
  const optional = entry.optionalDependencies ?? {};
  const present = Object.keys(optional)
    .map((name) => resolveFrom(path, name))
    .find(Boolean);
  for (const [name, range] of Object.entries(optional)) {
    if (resolveFrom(path, name)) continue;
    if (!/^\d+\.\d+\.\d+/.test(range)) continue; // only exact pins, which platform packages use
    // Beside the sibling that is installed, so it resolves from the same place.
    const where = present
      ? present.slice(0, present.lastIndexOf('node_modules/'))
      : `${path ? `${path}/` : ''}`;
    missing.push({ key: `${where}node_modules/${name}`, name, version: range });
  }
}

const packuments = new Map();
async function packument(name) {
  if (!packuments.has(name)) {
    packuments.set(
      name,
      fetch(`${registry}${name.replace('/', '%2f')}`, {
        headers: { accept: 'application/vnd.npm.install-v1+json' },
      }).then((response) => {
        if (!response.ok) throw new Error(`${name}: registry answered ${response.status}`);
        return response.json();
      }),
    );
  }
  return packuments.get(name);
}

let added = 0;
const unavailable = [];
await Promise.all(
  missing.map(async ({ key, name, version }) => {
    const meta = (await packument(name)).versions?.[version];
    if (!meta) {
      unavailable.push(`${name}@${version}`);
      return;
    }
    if (packages[key]) return;
    const entry = { version, integrity: meta.dist.integrity };
    for (const field of ['cpu', 'os', 'libc', 'engines', 'license'])
      if (meta[field]) entry[field] = meta[field];
    entry.optional = true;
    packages[key] = entry;
    added++;
  }),
);

lock.packages = Object.fromEntries(
  Object.entries(packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b))),
);
writeFileSync(lockPath, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`added ${added} platform package entries to package-lock.json`);
if (unavailable.length) console.log(`not in the registry (left out): ${unavailable.join(', ')}`);
