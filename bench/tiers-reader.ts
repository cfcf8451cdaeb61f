/**
 * The reading process of the tiers benchmark's invalidation-latency test: one two-tier cache
 * (skycache on Redis or PostgreSQL with its bus, or BentoCache memory + Redis + its Redis bus)
 * reading one key in a loop. Each time the value it reads changes, it prints
 * `seen <value> <epoch ms, fractional>`. Args: <kind> <url> <key>.
 */
import { setImmediate as tick } from 'node:timers/promises';
import { BentoCache, bentostore } from 'bentocache';
import { memoryDriver } from 'bentocache/drivers/memory';
import { redisBusDriver, redisDriver } from 'bentocache/drivers/redis';
import { createCache } from '../src/index.js';

const [kind, url, key] = process.argv.slice(2) as [string, string, string];
const clock = () => performance.timeOrigin + performance.now();

let read: () => Promise<unknown>;
if (kind === 'bento') {
  const { hostname, port, pathname } = new URL(url);
  const connection = { host: hostname, port: Number(port), db: Number(pathname.slice(1) || 0) };
  const bento = new BentoCache({
    default: 'tiered',
    stores: {
      tiered: bentostore()
        .useL1Layer(memoryDriver({ maxSize: '64mb' }))
        .useL2Layer(redisDriver({ connection, prefix: 'bench-tiers-bento' }))
        .useBus(redisBusDriver({ connection })),
    },
  });
  read = () => bento.get({ key });
} else {
  const cache = createCache({
    backend: kind === 'sky-pg' ? 'postgres' : 'redis',
    location: url,
    keyPrefix: 'bench-tiers',
    operationTimeout: '5s',
    l1: { maxEntries: 1000, timeout: '5m' },
    ...(kind === 'sky-pg' ? { options: { table: 'skycache_bench_tiers' } } : {}),
  });
  read = () => cache.get(key);
}

let last: unknown = Symbol('none');
process.stdout.write('ready\n');
for (;;) {
  const value = await read();
  if (value !== last) {
    last = value;
    process.stdout.write(`seen ${JSON.stringify(value ?? null)} ${clock()}\n`);
  }
  await tick();
}
