import { createHash, randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import {
  cached,
  canonicalJson,
  ConfigError,
  createCache,
  initCaches,
  type Cache,
} from '../src/index.js';

const made: Cache[] = [];
function memoryCache(): Cache {
  const cache = createCache({ backend: 'memory', location: `cached-${randomUUID()}` });
  made.push(cache);
  return cache;
}

afterEach(async () => {
  await Promise.all(made.splice(0).map((cache) => cache.close()));
});

describe('cached(fn, options)', () => {
  it('calls fn once per distinct arguments and returns the stored result afterwards', async () => {
    const cache = memoryCache();
    let calls = 0;
    const square = cached(
      async function square(n: number) {
        calls++;
        return n * n;
      },
      { cache },
    );
    expect(await square(3)).toBe(9);
    expect(await square(3)).toBe(9);
    expect(await square(4)).toBe(16);
    expect(calls).toBe(2);
  });

  it('shares one call among concurrent callers with the same arguments', async () => {
    const cache = memoryCache();
    let calls = 0;
    const slow = cached(
      async function slow(id: string) {
        calls++;
        await new Promise((resolve) => setTimeout(resolve, 20));
        return { id };
      },
      { cache },
    );
    const results = await Promise.all(Array.from({ length: 50 }, () => slow('a')));
    expect(calls).toBe(1);
    expect(results.every((result) => result.id === 'a')).toBe(true);
  });

  it('keys by name and canonical JSON of the arguments, object keys sorted', async () => {
    const cache = memoryCache();
    const find = cached(
      function findUsers(filter: { role: string; active: boolean }) {
        return [filter.role];
      },
      { cache, keyPrefix: 'svc' },
    );
    await find({ role: 'admin', active: true });
    const stored: string[] = [];
    for await (const key of cache.keys()) stored.push(key);
    expect(stored).toEqual(['svc:findUsers:[{"active":true,"role":"admin"}]']);
    // The same object with its keys in another order is the same entry.
    expect(
      await cache.has('svc:findUsers:' + canonicalJson([{ role: 'admin', active: true }])),
    ).toBe(true);
  });

  it('hashes the argument part when the key would pass 200 characters', async () => {
    const cache = memoryCache();
    const long = 'x'.repeat(300);
    const echo = cached((text: string) => text.length, { cache, key: 'echo' });
    expect(await echo(long)).toBe(300);
    const expected =
      'echo:' +
      createHash('sha256')
        .update(JSON.stringify([long]))
        .digest('hex');
    expect(await cache.get(expected)).toBe(300);
  });

  it('takes a key function returning the whole key', async () => {
    const cache = memoryCache();
    const load = cached((id: number) => ({ id }), { cache, key: (id) => `user:${id}` });
    await load(7);
    expect(await cache.get('user:7')).toEqual({ id: 7 });
  });

  it('refuses an anonymous function without a key, with ConfigError', () => {
    expect(() => cached((n: number) => n)).toThrow(ConfigError);
  });

  it('passes timeout and getOrSet options through', async () => {
    const cache = memoryCache();
    const value = cached(
      function ttlProbe() {
        return 1;
      },
      { cache, timeout: 30, jitter: 0 },
    );
    await value();
    const ttl = await cache.ttl('ttlProbe:[]');
    expect(ttl).toBeGreaterThan(29);
    expect(ttl).toBeLessThanOrEqual(30);
  });

  it('finds its cache by alias at call time', async () => {
    initCaches({
      default: 'memory://cached-default',
      other: `memory://cached-other-${randomUUID()}`,
    });
    const fn = cached(
      function aliasProbe() {
        return 'v';
      },
      { alias: 'other' },
    );
    await fn();
    const { caches } = await import('../src/index.js');
    expect(await caches.get('other').get('aliasProbe:[]')).toBe('v');
    expect(await caches.get('default').get('aliasProbe:[]')).toBeUndefined();
  });

  it('rejects arguments that cannot be part of a key', async () => {
    const cache = memoryCache();
    const fn = cached(
      function takesCallback(callback: () => void) {
        return typeof callback;
      },
      { cache },
    );
    await expect(fn(() => {})).rejects.toMatchObject({ code: 'ERR_CACHE_INVALID_VALUE' });
  });
});

describe('@cached(options) method decorator', () => {
  it('memoizes a method under Class.method, keeping `this`', async () => {
    const cache = memoryCache();
    let calls = 0;
    class Reports {
      constructor(private readonly factor: number) {}

      @cached({ cache, timeout: '1m' })
      async total(month: string): Promise<number> {
        calls++;
        return month.length * this.factor;
      }
    }
    const reports = new Reports(10);
    expect(await reports.total('2026-11')).toBe(70);
    expect(await reports.total('2026-11')).toBe(70);
    expect(calls).toBe(1);
    expect(await cache.get('Reports.total:["2026-11"]')).toBe(70);
  });
});
