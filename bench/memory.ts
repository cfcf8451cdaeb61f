/**
 * The memory backend against a plain Map and raw lru-cache, then the scenario matrix against the
 * raw client and the in-memory peers (BentoCache's memory driver, cache-manager 7 + Keyv), in one
 * run.
 * Run: npm run bench -- memory
 */
import { BentoCache, bentostore } from 'bentocache';
import { memoryDriver } from 'bentocache/drivers/memory';
import { createCache as createCacheManager } from 'cache-manager';
import { Keyv } from 'keyv';
import { LRUCache } from 'lru-cache';
import { createCache } from '../src/index.js';
import {
  formatOps,
  machineLine,
  printMarkdownTable,
  printTable,
  runGroup,
  type Task,
} from './harness.js';
import { ALL_SCENARIOS, grid, runMatrix, type ContenderSpec } from './scenarios.js';

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

  await benchHotPathTargets();
  await benchMemoryMatrix();
}

/** A JSON-able value whose JSON text is about `bytes` long. */
function valueOfSize(bytes: number): { id: number; name: string; tags: string[]; pad: string } {
  const base = { id: 42, name: 'Ada Lovelace', tags: ['admin', 'editor'], pad: '' };
  base.pad = 'x'.repeat(Math.max(0, bytes - JSON.stringify(base).length));
  return base;
}

/**
 * Issue 11's hot-path targets: memory `get` hit ≥ 0.8× raw lru-cache + JSON.parse and `getOrSet`
 * hit ≥ 0.7× at 100 B and 1 KiB with 1,000 and 10,000 distinct keys; `serialize: false` get ≥ 0.8×
 * raw lru-cache get. Every contender is awaited (the async API), tasks interleave round by round.
 */
async function benchHotPathTargets(): Promise<void> {
  const rows: string[][] = [];
  for (const keyCount of [1000, 10_000]) {
    const keys = Array.from({ length: keyCount }, (_, n) => `user:${n}`);
    let i = 0;
    const next = () => keys[(i = (i + 1) % keyCount)]!;
    for (const bytes of [100, 1024]) {
      const value = valueOfSize(bytes);
      const lruJson = new LRUCache<string, string>({ max: 10_000 });
      const cache = createCache({
        backend: 'memory',
        location: `bench-target-${keyCount}-${bytes}`,
      });
      for (const key of keys) {
        lruJson.set(key, JSON.stringify(value));
        cache.setSync(key, value, null);
      }
      const raw = 'await lru-cache get + JSON.parse';
      const results = await runGroup(
        [
          { name: raw, fn: async () => JSON.parse(lruJson.get(next())!) as unknown },
          { name: 'get', fn: () => cache.get(next()) },
          { name: 'getOrSet', fn: () => cache.getOrSet(next(), () => value) },
        ],
        // More, shorter rounds than the other tables: the ratios are the point, and on a busy
        // machine many interleaved rounds give a steadier median.
        { baseline: raw, samples: 15, sampleMs: 100 },
      );
      const ratio = (name: string) => results.find((r) => r.name === name)!.ratio.toFixed(2);
      const rawOps = formatOps(results.find((r) => r.name === raw)!.opsPerSecond);
      rows.push([
        keyCount.toLocaleString('en'),
        bytes === 100 ? '100 B' : '1 KiB',
        rawOps,
        ratio('get'),
        ratio('getOrSet'),
      ]);
      await cache.close();
    }
  }
  printMarkdownTable(
    'hot-path targets: get ≥ 0.8×, getOrSet hit ≥ 0.7× raw lru-cache + JSON.parse (async)',
    ['keys', 'values', 'raw ops/s', 'get ÷ raw', 'getOrSet hit ÷ raw'],
    rows,
  );

  const keys = Array.from({ length: 10_000 }, (_, n) => `user:${n}`);
  let i = 0;
  const next = () => keys[(i = (i + 1) % keys.length)]!;
  const lru = new LRUCache<string, object>({ max: 10_000 });
  const references = createCache({
    backend: 'memory',
    location: 'bench-target-references',
    options: { serialize: false },
  });
  const value = valueOfSize(100);
  for (const key of keys) {
    lru.set(key, value);
    references.setSync(key, value, null);
  }
  printTable(
    'hot-path target: serialize: false get ≥ 0.8× raw lru-cache get (10,000 keys)',
    await runGroup(
      [
        { name: 'await lru-cache get', fn: async () => lru.get(next()) },
        { name: 'await skycache get (serialize: false)', fn: () => references.get(next()) },
        { name: 'lru-cache get (sync)', fn: () => lru.get(next()) },
        { name: 'skycache getSync (serialize: false)', fn: () => references.getSync(next()) },
      ],
      { baseline: 'await lru-cache get', samples: 15, sampleMs: 100 },
    ),
    'await lru-cache get',
  );
  await references.close();
}

const TTL_MS = 300_000;
const LRU_JSON = 'raw lru-cache + JSON';

/**
 * Every contender stores JSON (skycache's default): lru-cache holds the JSON string, BentoCache's
 * memory driver serializes by default, Keyv's Map store holds its serialized form.
 */
const MEMORY_CONTENDERS: ContenderSpec[] = [
  {
    name: LRU_JSON,
    note: 'lru-cache 11, `max: 10000`, `JSON.stringify`/`JSON.parse` around it, called from an `async` function; batches are loops',
    open: () => {
      const lru = new LRUCache<string, string>({ max: 10_000, ttl: TTL_MS });
      const read = (key: string) => {
        const text = lru.get(key);
        return text === undefined ? undefined : (JSON.parse(text) as unknown);
      };
      return {
        get: async (key) => read(key),
        set: async (key, value) => void lru.set(key, JSON.stringify(value)),
        getMany: async (keys) => keys.map(read),
        setMany: async (entries) => {
          for (const [key, value] of entries) lru.set(key, JSON.stringify(value));
        },
        getOrSet: async (key, loader) => {
          const found = read(key);
          if (found !== undefined) return found;
          const value = loader();
          lru.set(key, JSON.stringify(value));
          return value;
        },
      };
    },
  },
  {
    name: 'skycache',
    note: "`createCache({ backend: 'memory' })`: defaults (JSON, `maxEntries` 10,000, 300 s timeout)",
    open: (valueBytes) => {
      const cache = createCache({ backend: 'memory', location: `bench-matrix-${valueBytes}` });
      return {
        get: (key) => cache.get(key),
        set: (key, value) => cache.set(key, value),
        getMany: (keys) => cache.getMany(keys),
        setMany: (entries) => cache.setMany(entries),
        getOrSet: (key, loader) => cache.getOrSet(key, loader),
        close: () => cache.close(),
      };
    },
  },
  {
    name: 'BentoCache memory',
    note: 'BentoCache 1.6, L1 only: `memoryDriver({ maxItems: 10000 })` (serializes, its default); no batch calls, so batches are 100 calls under `Promise.all`',
    open: () => {
      const bento = new BentoCache({
        default: 'memory',
        stores: { memory: bentostore().useL1Layer(memoryDriver({ maxItems: 10_000 })) },
      });
      return {
        get: (key) => bento.get({ key }),
        set: (key, value) => bento.set({ key, value, ttl: TTL_MS }),
        getMany: (keys) => Promise.all(keys.map((key) => bento.get({ key }))),
        setMany: (entries) =>
          Promise.all(entries.map(([key, value]) => bento.set({ key, value, ttl: TTL_MS }))),
        getOrSet: (key, loader) => bento.getOrSet({ key, factory: loader, ttl: TTL_MS }),
        close: () => bento.disconnectAll(),
      };
    },
  },
  {
    name: 'cache-manager 7 + Keyv',
    note: "cache-manager 7 over Keyv 5's default in-memory `Map` store (Keyv's default serializer); `mget`/`mset` for batches, `wrap` for getOrSet",
    open: () => {
      const manager = createCacheManager({ stores: [new Keyv()] });
      return {
        get: (key) => manager.get(key),
        set: (key, value) => manager.set(key, value, TTL_MS),
        getMany: (keys) => manager.mget([...keys]),
        setMany: (entries) =>
          manager.mset(entries.map(([key, value]) => ({ key, value, ttl: TTL_MS }))),
        getOrSet: (key, loader) => manager.wrap(key, loader, TTL_MS),
        close: () => manager.disconnect(),
      };
    },
  },
];

/** The scenarios against the raw client and the in-memory peers. */
async function benchMemoryMatrix(): Promise<void> {
  await runMatrix(MEMORY_CONTENDERS, {
    title: 'memory: scenarios against the raw client and peers',
    subject: 'skycache',
    // Concurrency 100 at one size: in one process, a memory cache's cost per call does not
    // depend on how many calls wait, so one size shows it.
    cases: [
      ...grid([100, 1024, 64 * 1024], ALL_SCENARIOS, 1),
      ...grid([1024], ['get hit', 'set', 'getOrSet hit'], 100),
    ],
  });
}
