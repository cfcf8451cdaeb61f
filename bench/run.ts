/**
 * `npm run bench` runs every suite; `npm run bench -- <suite>` one of them.
 */
import { benchDisk } from './disk.js';
import { benchMemory } from './memory.js';

const suites: Record<string, () => Promise<void>> = {
  memory: benchMemory,
  disk: benchDisk,
};

const wanted = process.argv.slice(2);
const unknown = wanted.filter((name) => !suites[name]);
if (unknown.length > 0) {
  console.error(
    `unknown suite(s): ${unknown.join(', ')}; available: ${Object.keys(suites).join(', ')}`,
  );
  process.exit(2);
}
for (const name of wanted.length > 0 ? wanted : Object.keys(suites)) await suites[name]!();
