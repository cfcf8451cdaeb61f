/**
 * skycache/prometheus: the scrape text parsed, counters moving with traffic, and no key label.
 */
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { closeCaches, createCache, initCaches } from '../src/core/registry.js';
import type { Cache } from '../src/core/cache.js';
import type { BackendFactory, Store } from '../src/core/store.js';
import { silentLogger } from '../src/core/logger.js';
import { registerMetrics, type RegisteredMetrics } from '../src/integrations/prometheus/index.js';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the Prometheus text format (what a scraper reads). */
function parse(text: string): { samples: Sample[]; types: Map<string, string> } {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line.startsWith('# TYPE ')) {
      const [, , name, type] = line.split(' ');
      types.set(name!, type!);
      continue;
    }
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`not an exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g))
      labels[pair[1]!] = pair[2]!;
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return { samples, types };
}

function value(samples: Sample[], name: string, labels: Record<string, string>): number {
  const found = samples.filter(
    (sample) =>
      sample.name === name &&
      Object.entries(labels).every(([label, expected]) => sample.labels[label] === expected),
  );
  return found.reduce((sum, sample) => sum + sample.value, 0);
}

let registered: RegisteredMetrics | undefined;
afterEach(async () => {
  registered?.unregister();
  registered = undefined;
  await closeCaches();
});

async function scrape(registry: Registry) {
  return parse(await registry.metrics());
}

describe('registerMetrics', () => {
  it('registers exactly the SPEC metric names with their types', async () => {
    const registry = new Registry();
    const cache = createCache('memory://metrics-names', 'names');
    registered = registerMetrics({ registry, caches: [cache] });
    const { types } = await scrape(registry);
    expect(Object.fromEntries(types)).toEqual({
      cache_gets_total: 'counter',
      cache_puts_total: 'counter',
      cache_deletes_total: 'counter',
      cache_errors_total: 'counter',
      cache_stale_served_total: 'counter',
      cache_loads_total: 'counter',
      cache_load_duration_seconds: 'histogram',
      cache_lock_waits_total: 'counter',
      cache_circuit_open: 'gauge',
    });
  });

  it('counters move with traffic, per alias, and no key appears anywhere', async () => {
    const registry = new Registry();
    const users = createCache('memory://metrics-users', 'users');
    const pages = createCache('memory://metrics-pages', 'pages');
    registered = registerMetrics({ registry, caches: [users, pages] });

    const before = (await scrape(registry)).samples;
    expect(value(before, 'cache_gets_total', { cache: 'users', result: 'hit' })).toBe(0);

    await users.get('secret-key-one');
    await users.set('secret-key-one', { a: 1 });
    await users.get('secret-key-one');
    await users.get('secret-key-one');
    await users.getMany(['secret-key-one', 'secret-key-two']);
    await users.delete('secret-key-one');
    await users.getOrSet('secret-key-three', () => 'loaded');
    await pages.set('secret-page', 1);

    const text = await registry.metrics();
    const { samples } = parse(text);
    const stats = users.stats();
    expect(value(samples, 'cache_gets_total', { cache: 'users', result: 'hit' })).toBe(stats.hits);
    expect(value(samples, 'cache_gets_total', { cache: 'users', result: 'miss' })).toBe(
      stats.misses,
    );
    expect(stats.hits).toBe(3);
    expect(value(samples, 'cache_puts_total', { cache: 'users' })).toBe(stats.sets);
    expect(value(samples, 'cache_puts_total', { cache: 'pages' })).toBe(1);
    expect(value(samples, 'cache_deletes_total', { cache: 'users' })).toBe(1);
    expect(value(samples, 'cache_gets_total', { cache: 'pages' })).toBe(0);

    // Never labelled by key: no `key` label, and no key text in the scrape at all.
    expect(text).not.toMatch(/secret-/);
    for (const sample of samples) {
      expect(Object.keys(sample.labels)).not.toContain('key');
      expect(['users', 'pages']).toContain(sample.labels.cache);
    }
  });

  it('loads, load durations and failures follow getOrSet', async () => {
    const registry = new Registry();
    const cache = createCache('memory://metrics-loads', 'loads');
    registered = registerMetrics({ registry, caches: { loads: cache } });
    await cache.getOrSet('a', async () => {
      await new Promise((done) => setTimeout(done, 20));
      return 1;
    });
    await cache.getOrSet('a', () => 2);
    await expect(
      cache.getOrSet('b', () => {
        throw new Error('loader failed');
      }),
    ).rejects.toThrow('loader failed');
    const { samples } = await scrape(registry);
    expect(value(samples, 'cache_loads_total', { cache: 'loads', result: 'success' })).toBe(1);
    expect(value(samples, 'cache_loads_total', { cache: 'loads', result: 'failure' })).toBe(1);
    expect(value(samples, 'cache_load_duration_seconds_count', { cache: 'loads' })).toBe(2);
    expect(
      value(samples, 'cache_load_duration_seconds_sum', { cache: 'loads', result: 'success' }),
    ).toBeGreaterThanOrEqual(0.015);
  });

  it('errors count by operation; the breaker gauge shows an open circuit', async () => {
    const failing = new Proxy({} as Store, {
      get(_target, property) {
        if (property === 'capabilities') return { sync: false };
        if (property === 'then') return undefined;
        return () => Promise.reject(new Error('store down'));
      },
    });
    const backend: BackendFactory = () => failing;
    const cache = createCache(
      {
        backend,
        failOpen: true,
        logger: silentLogger,
        circuitBreaker: { failures: 2, openFor: '1h' },
      },
      'flaky',
    );
    const registry = new Registry();
    registered = registerMetrics({ registry, caches: [cache] });
    for (let i = 0; i < 4; i++) await cache.get(`k${i}`);
    const { samples } = await scrape(registry);
    expect(value(samples, 'cache_errors_total', { cache: 'flaky' })).toBe(cache.stats().errors);
    expect(cache.stats().errors).toBeGreaterThanOrEqual(2);
    expect(value(samples, 'cache_errors_total', { cache: 'flaky', operation: 'get' })).toBe(
      cache.stats().errors,
    );
    expect(value(samples, 'cache_circuit_open', { cache: 'flaky' })).toBe(1);
  });

  it('a tiered cache adds tier="l1"|"l2" to its hits; the hit total stays exact', async () => {
    const registry = new Registry();
    const counters = { hits: 10, misses: 4, l1Hits: 7, l2Hits: 3 };
    const tiered = {
      alias: 'tiered',
      stats: () => ({ ...counters, sets: 0, deletes: 0, errors: 0, hitRate: 10 / 14 }),
      on: () => tiered,
      off: () => tiered,
    } as unknown as Cache;
    registered = registerMetrics({ registry, caches: [tiered] });
    let { samples } = await scrape(registry);
    expect(value(samples, 'cache_gets_total', { result: 'hit', tier: 'l1' })).toBe(7);
    expect(value(samples, 'cache_gets_total', { result: 'hit', tier: 'l2' })).toBe(3);
    expect(value(samples, 'cache_gets_total', { result: 'hit' })).toBe(10);
    expect(value(samples, 'cache_gets_total', { result: 'miss' })).toBe(4);
    counters.hits = 12;
    counters.l1Hits = 9;
    ({ samples } = await scrape(registry));
    expect(value(samples, 'cache_gets_total', { result: 'hit', tier: 'l1' })).toBe(9);
    expect(value(samples, 'cache_gets_total', { result: 'hit' })).toBe(12);
  });

  it('without caches, reports every alias of the registry, following initCaches', async () => {
    const registry = new Registry();
    initCaches({ default: 'memory://metrics-default', sessions: 'memory://metrics-sessions' });
    registered = registerMetrics({ registry });
    const { caches } = await import('../src/core/registry.js');
    await caches.get('sessions').set('k', 1);
    let { samples } = await scrape(registry);
    expect(value(samples, 'cache_puts_total', { cache: 'sessions' })).toBe(1);
    expect(value(samples, 'cache_puts_total', { cache: 'default' })).toBe(0);

    initCaches({ other: 'memory://metrics-other' });
    await caches.get('other').set('k', 1);
    ({ samples } = await scrape(registry));
    expect(value(samples, 'cache_puts_total', { cache: 'other' })).toBe(1);
    expect(samples.some((sample) => sample.labels.cache === 'sessions')).toBe(false);
  });
});

describe('docs/grafana-dashboard.json', () => {
  it('queries only metrics that registerMetrics exports', async () => {
    const { readFileSync } = await import('node:fs');
    const text = readFileSync(new URL('../docs/grafana-dashboard.json', import.meta.url), 'utf8');
    const registry = new Registry();
    registered = registerMetrics({ registry, caches: [createCache('memory://grafana', 'g')] });
    const exported = new Set((await registry.getMetricsAsJSON()).map((metric) => metric.name));
    const used = new Set(
      [...text.matchAll(/\b(cache_[a-z_]+)/g)].map((m) =>
        m[1]!.replace(/_(bucket|sum|count)$/, ''),
      ),
    );
    expect(used.size).toBeGreaterThan(5);
    for (const name of used) expect(exported, name).toContain(name);
  });
});
