/**
 * The memory backend against a plain Map and raw lru-cache, in one run.
 * Run: npm run bench -- memory
 */
import { LRUCache } from 'lru-cache';
import { createCache } from '../src/index.js';
import { machineLine, printTable, runGroup, type Task } from './harness.js';

const KEYS = Array.from({ length: 1000 }, (_, i) => `user:${i}`);
const VALUE = { id: 42, name: 'Ada Lovelace', roles: ['admin', 'editor'], active: true };
const VALUE_JSON = JSON.stringify(VALUE);

export async function benchMemory(): Promise<void> {
  console.log(`\n## memory backend\n\n${machineLine()}`);
  let i = 0;
  const nextKey = () => KEYS[(i = (i + 1) % KEYS.length)]!;

  const map = new Map<string, unknown>();
  const lru = new LRUCache<string, object>({ max: 10_000 });
  const lruJson = new LRUCache<string, string>({ max: 10_000 });
  const references = createCache({
    backend: 'memory',
    location: 'bench-ref',
    options: { serialize: false },
  });
  const json = createCache({ backend: 'memory', location: 'bench-json' });
  for (const key of KEYS) {
    map.set(key, VALUE);
    lru.set(key, VALUE);
    lruJson.set(key, VALUE_JSON);
    references.setSync(key, VALUE, null);
    json.setSync(key, VALUE, null);
  }

  const syncGets: Task[] = [
    { name: 'lru-cache get', fn: () => lru.get(nextKey()) },
    { name: 'Map get', fn: () => map.get(nextKey()) },
    { name: 'skycache getSync (serialize: false)', fn: () => references.getSync(nextKey()) },
  ];
  printTable(
    'get hit, sync, references',
    await runGroup(syncGets, { baseline: 'lru-cache get' }),
    'lru-cache get',
  );

  const jsonGets: Task[] = [
    { name: 'lru-cache get + JSON.parse', fn: () => JSON.parse(lruJson.get(nextKey())!) },
    { name: 'skycache getSync (json)', fn: () => json.getSync(nextKey()) },
  ];
  printTable(
    'get hit, sync, JSON',
    await runGroup(jsonGets, { baseline: 'lru-cache get + JSON.parse' }),
    'lru-cache get + JSON.parse',
  );

  // The async API awaits a Promise per call; the fair raw baseline awaits one too.
  const asyncGets: Task[] = [
    { name: 'await lru-cache get', fn: async () => lru.get(nextKey()) },
    { name: 'await skycache get (serialize: false)', fn: () => references.get(nextKey()) },
  ];
  printTable(
    'get hit, async, references',
    await runGroup(asyncGets, { baseline: 'await lru-cache get' }),
    'await lru-cache get',
  );

  const asyncJsonGets: Task[] = [
    {
      name: 'await lru-cache get + JSON.parse',
      fn: async () => JSON.parse(lruJson.get(nextKey())!),
    },
    { name: 'await skycache get (json)', fn: () => json.get(nextKey()) },
    { name: 'await skycache getOrSet hit (json)', fn: () => json.getOrSet(nextKey(), () => VALUE) },
  ];
  printTable(
    'get hit, async, JSON',
    await runGroup(asyncJsonGets, { baseline: 'await lru-cache get + JSON.parse' }),
    'await lru-cache get + JSON.parse',
  );

  const sets: Task[] = [
    {
      name: 'lru-cache set + JSON.stringify',
      fn: () => lruJson.set(nextKey(), JSON.stringify(VALUE)),
    },
    { name: 'lru-cache set (reference)', fn: () => lru.set(nextKey(), VALUE) },
    { name: 'Map set', fn: () => map.set(nextKey(), VALUE) },
    { name: 'skycache setSync (json)', fn: () => json.setSync(nextKey(), VALUE) },
    { name: 'skycache setSync (serialize: false)', fn: () => references.setSync(nextKey(), VALUE) },
    { name: 'await skycache set (json)', fn: () => json.set(nextKey(), VALUE) },
  ];
  printTable(
    'set',
    await runGroup(sets, { baseline: 'lru-cache set + JSON.stringify' }),
    'lru-cache set + JSON.stringify',
  );
}
