/**
 * The tag-checking store on its own: tag requests completed with tokens, tagged entries checked on
 * every read path, and the never-revived invariant when a tag record is deleted, evicted,
 * re-created or unreadable. Memory stores (sync) here; across processes and tiers in
 * tags.cache.test.ts. An evicted record on a private redis-server with `allkeys-lru`.
 */
import { createClient } from '@redis/client';
import { afterAll, describe, expect, it } from 'vitest';
import { redisBackend } from '../src/backends/redis.js';
import { silentLogger } from '../src/core/logger.js';
import { probeRedis, startRedisServer, type RedisServer } from './fixtures/redis-servers.js';
import { describeWithService } from './support/services.js';
import { createPrivateMemoryStore } from '../src/backends/memory.js';
import { isTagged, unwrapTags, wrapTags } from '../src/core/tags/format.js';
import { TagCheckingStore } from '../src/core/tags/tag-store.js';
import type { Payload, Store } from '../src/core/store.js';

const request = (payload: Payload, ...tagKeys: string[]) =>
  wrapTags(
    payload,
    tagKeys.map((tagKey) => [tagKey, ''] as const),
    false,
  );

function stores(maxEntries = 1000) {
  const inner = createPrivateMemoryStore({ maxEntries }, Date.now);
  return { inner, store: new TagCheckingStore(inner) };
}

const list = (store: Store) => [...(store.keys({ prefix: '', pattern: 'e*' }) as Iterable<string>)];

describe('tag envelope', () => {
  it('round-trips strings and Buffers with their stamps', () => {
    const text = wrapTags('{"a":1}', [['t:a', 'x']], false);
    expect(isTagged(text)).toBe(true);
    expect(unwrapTags(text)).toEqual({ payload: '{"a":1}', stamps: [['t:a', 'x']] });
    const bytes = wrapTags(Buffer.from([0, 1, 2]), [['t:b', '']], false);
    expect(unwrapTags(bytes)!.payload).toEqual(Buffer.from([0, 1, 2]));
    expect(isTagged('{"a":1}')).toBe(false);
    expect(isTagged(Buffer.from([0, 2, 3, 4, 5, 6]))).toBe(false);
  });
});

describe('tag-checking store', () => {
  it('stores a tag request with current tokens and reads it back unwrapped', () => {
    const { inner, store } = stores();
    store.set('e1', request('"v"', 't:a', 't:b'), null);
    expect(store.get('e1')).toBe('"v"');
    const stored = unwrapTags(inner.get('e1') as Payload)!;
    expect(stored.stamps.map(([tagKey]) => tagKey)).toEqual(['t:a', 't:b']);
    expect(stored.stamps.every(([, token]) => token.length > 0)).toBe(true);
    expect(String(inner.get('t:a'))).toBe(stored.stamps[0]![1]);
    // A second entry with the same tag gets the same token.
    store.set('e2', request('"w"', 't:a'), null);
    expect(unwrapTags(inner.get('e2') as Payload)!.stamps[0]![1]).toBe(stored.stamps[0]![1]);
    // Untagged entries pass through untouched.
    store.set('e3', '"plain"', null);
    expect(inner.get('e3')).toBe('"plain"');
  });

  it('deleting a tag makes its entries absent on every read path, for good', () => {
    const { store } = stores();
    store.set('e1', request('"v"', 't:a'), null);
    store.setMany(
      [
        ['e2', request('"w"', 't:a', 't:b')],
        ['e3', request('"x"', 't:b')],
      ],
      null,
    );
    store.set('e4', '"plain"', null);
    expect(store.getMany(['e1', 'e2', 'e3', 'e4'])).toEqual(['"v"', '"w"', '"x"', '"plain"']);
    store.deleteTags(['t:a']);
    expect(store.get('e1')).toBeUndefined();
    expect(store.getMany(['e1', 'e2', 'e3', 'e4'])).toEqual([
      undefined,
      undefined,
      '"x"',
      '"plain"',
    ]);
    expect(store.expiry('e1')).toBeUndefined();
    expect(store.expiry('e3')).toBeNull();
    expect(list(store).sort()).toEqual(['e3', 'e4']);
    // The tag is used again: a new token, and the old entries stay invalid.
    store.set('e5', request('"y"', 't:a'), null);
    expect(store.get('e5')).toBe('"y"');
    expect(store.get('e1')).toBeUndefined();
    expect(store.get('e2')).toBeUndefined();
  });

  it('add replaces an entry whose tags were deleted (it is absent)', () => {
    const { store } = stores();
    store.set('e1', request('"v"', 't:a'), null);
    expect(store.add('e1', '"w"', null)).toBe(false);
    store.deleteTags(['t:a']);
    expect(store.add('e1', '"w"', null)).toBe(true);
    expect(store.get('e1')).toBe('"w"');
  });

  it('an evicted tag record never revives its entries', () => {
    // Room for 3 entries: writing more evicts the tag record (least recently used).
    const { inner, store } = stores(3);
    store.set('e1', request('"v"', 't:a'), null);
    inner.set('x1', '1', null);
    inner.set('x2', '2', null);
    expect(inner.get('t:a')).toBeUndefined();
    expect(store.get('e1')).toBeUndefined();
    store.set('e2', request('"w"', 't:a'), null);
    expect(store.get('e1')).toBeUndefined();
  });

  it('a tag record deleted or replaced by hand invalidates too', () => {
    const { inner, store } = stores();
    store.set('e1', request('"v"', 't:a'), null);
    inner.delete('t:a');
    expect(store.get('e1')).toBeUndefined();
    store.set('e2', request('"w"', 't:b'), null);
    inner.set('t:b', 'forged', null);
    expect(store.get('e2')).toBeUndefined();
  });

  it('an unreadable tag state is a miss', async () => {
    const { inner } = stores();
    let failing = false;
    const flaky: Store = {
      ...Object.fromEntries(
        (
          [
            'get',
            'set',
            'setMany',
            'add',
            'delete',
            'deleteMany',
            'touch',
            'incr',
            'expiry',
            'keys',
            'deleteMatching',
            'clear',
            'close',
          ] as const
        ).map((name) => [
          name,
          (...args: never[]) => (inner[name] as (...a: never[]) => unknown)(...args),
        ]),
      ),
      capabilities: { sync: false },
      getMany: async (keys: readonly string[]) => {
        if (failing && keys.some((key) => key.startsWith('t:'))) throw new Error('down');
        return inner.getMany(keys);
      },
    } as unknown as Store;
    const store = new TagCheckingStore(flaky);
    await store.set('e1', request('"v"', 't:a'), null);
    expect(await store.get('e1')).toBe('"v"');
    failing = true;
    expect(await store.get('e1')).toBeUndefined();
    expect(await store.getMany(['e1'])).toEqual([undefined]);
    failing = false;
    expect(await store.get('e1')).toBe('"v"');
  });
});

const redisUnavailable = await probeRedis();

describeWithService('Redis', redisUnavailable, 'tags on Redis with allkeys-lru', () => {
  let server: RedisServer | undefined;
  afterAll(async () => {
    await server?.dispose();
  });

  it('an entry whose tag record Redis evicted stays a miss, also after the tag is used again', async () => {
    server = await startRedisServer({
      extraArgs: ['--maxmemory', '4mb', '--maxmemory-policy', 'allkeys-lru'],
    });
    const inner = redisBackend.factory({
      alias: 'tags',
      location: server.url,
      options: {},
      now: Date.now,
      logger: silentLogger,
      operationTimeoutMs: 2000,
    }) as Store;
    const store = new TagCheckingStore(inner);
    const raw = createClient({ url: server.url });
    await raw.connect();
    try {
      // Twenty entries with the tag; Redis's LRU is approximate, so some may go too.
      const entries = Array.from({ length: 20 }, (_, i) => `e${i}`);
      for (const key of entries) await store.set(key, request('"v"', 't:a'), null);
      expect(String(await store.get('e1'))).toBe('"v"');
      // Fill memory while keeping only the entries recently used, until Redis evicts the tag record.
      const filler = 'x'.repeat(10_000);
      let n = 0;
      while ((await raw.exists('t:a')) === 1 && n < 5000) {
        await raw.set(`fill:${n++}`, filler);
        for (const key of entries) await raw.get(key);
      }
      expect(await raw.exists('t:a')).toBe(0);
      const left = [];
      for (const key of entries) if ((await raw.exists(key)) === 1) left.push(key);
      expect(left.length).toBeGreaterThan(0);
      for (const key of left) expect(await store.get(key)).toBeUndefined();
      expect(await store.getMany(left)).toEqual(left.map(() => undefined));
      await store.set('f', request('"w"', 't:a'), null);
      expect(String(await store.get('f'))).toBe('"w"');
      for (const key of left) expect(await store.get(key)).toBeUndefined();
    } finally {
      await raw.close();
      await inner.close();
    }
  });
});
