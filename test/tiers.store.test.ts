/**
 * The tiered store on its own (no Cache in front): read-through and L1 expiry, writes dropping L1
 * copies, reads in flight never copying back an invalidated value, and the two buses on real
 * servers: cross-store invalidation, a killed subscriber connection, a sequence gap.
 * Redis: a private redis-server (CLIENT KILL is destructive) and, for the rest, database 11 of the
 * shared server with random keys and channel names. PostgreSQL: tables and channels of its own.
 */
import { randomBytes } from 'node:crypto';
import { createClient } from '@redis/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPrivateMemoryStore } from '../src/backends/memory.js';
import { postgresBackend } from '../src/backends/postgres.js';
import { redisBackend } from '../src/backends/redis.js';
import { InvalidationBus } from '../src/bus/bus.js';
import { encodeMessage, decodeMessage, packInvalidations } from '../src/bus/message.js';
import { openBus } from '../src/bus/open.js';
import type { PostgresBusTransport } from '../src/bus/postgres-transport.js';
import { silentLogger } from '../src/core/logger.js';
import type { Payload, Store } from '../src/core/store.js';
import { TieredStore } from '../src/tiers/tiered-store.js';
import { adminPool, dropTables, POSTGRES_URL, probePostgres } from './fixtures/postgres-helpers.js';
import {
  probeRedis,
  redisUrl,
  startRedisServer,
  type RedisServer,
} from './fixtures/redis-servers.js';
import { describeWithService } from './support/services.js';

const DB = 11;
/** Keys of this run on the shared server. */
const run = `tiers-store-${randomBytes(5).toString('hex')}`;
const unique = () => randomBytes(5).toString('hex');
const POLL = { timeout: 10_000, interval: 5 };
const closers: Array<() => Promise<unknown> | unknown> = [];
afterAll(async () => {
  for (const close of closers.reverse()) await close();
});

function tiered(l2: Store, bus?: InvalidationBus, l1TimeoutMs = 60_000, now = Date.now) {
  const store = new TieredStore({
    l1: createPrivateMemoryStore({ maxEntries: 1000 }, now),
    l2,
    l1TimeoutMs,
    bus,
    now,
  });
  closers.push(() => store.close());
  return store;
}

/** A store whose reads wait for `gate` before answering (a slow L2). */
function slowReads(store: Store): { store: Store; release: () => void } {
  let release!: () => void;
  let gate = new Promise<void>((resolve) => (release = resolve));
  const slow: Store = {
    capabilities: { sync: false },
    get: async (key) => {
      const value = await store.get(key);
      await gate;
      return value;
    },
    getMany: async (keys) => store.getMany(keys),
    set: async (key, value, expiresAt) => store.set(key, value, expiresAt),
    setMany: async (entries, expiresAt) => store.setMany(entries, expiresAt),
    add: async (key, value, expiresAt) => store.add(key, value, expiresAt),
    delete: async (key) => store.delete(key),
    deleteMany: async (keys) => store.deleteMany(keys),
    touch: async (key, expiresAt) => store.touch(key, expiresAt),
    incr: async (key, delta) => store.incr(key, delta),
    expiry: async (key) => store.expiry(key),
    keys: (match) => store.keys(match),
    deleteMatching: async (match) => store.deleteMatching(match),
    clear: async () => store.clear(),
    close: async () => store.close(),
  };
  return {
    store: slow,
    release: () => {
      release();
      gate = Promise.resolve();
    },
  };
}

/** A payload as text (Redis hands back Buffers). */
const text = (payload: Payload | undefined) =>
  payload === undefined ? undefined : String(payload);

/** Reads until the answer comes from L1 (a read that raced an invalidation does not fill). */
async function warm(store: TieredStore, key: string): Promise<string | undefined> {
  await expect
    .poll(async () => {
      await store.get(key);
      return store.lastTier;
    }, POLL)
    .toBe('l1');
  return text(await store.get(key));
}

function clock(start = 1_700_000_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

describe('tiered store over a memory L2, no bus', () => {
  it('copies an L2 hit into L1 and answers the next read from L1', async () => {
    const l2 = createPrivateMemoryStore({ maxEntries: 100 }, Date.now);
    const store = tiered(l2);
    l2.set('k', 'v1', null);
    expect(await store.get('k')).toBe('v1');
    expect(store.lastTier).toBe('l2');
    // Changed behind the store's back (another process without a bus): L1 still answers.
    l2.set('k', 'v2', null);
    expect(await store.get('k')).toBe('v1');
    expect(store.lastTier).toBe('l1');
    expect(store.counts.l1Hits).toBe(1);
  });

  it('keeps an L1 copy until the earlier of the L2 expiry and the L1 timeout', async () => {
    const time = clock();
    const l2 = createPrivateMemoryStore({ maxEntries: 100 }, time.now);
    const store = tiered(l2, undefined, 10_000, time.now);
    l2.set('short', 's', time.now() + 2_000);
    l2.set('long', 'l', null);
    await store.get('short');
    await store.get('long');
    l2.set('long', 'l2', null);
    time.advance(2_001);
    expect(await store.get('short')).toBeUndefined();
    expect(await store.get('long')).toBe('l');
    time.advance(8_000);
    expect(await store.get('long')).toBe('l2');
  });

  it('drops the L1 copy on every kind of write', async () => {
    const l2 = createPrivateMemoryStore({ maxEntries: 100 }, Date.now);
    const store = tiered(l2);
    const warm = async (value: Payload) => {
      l2.set('k', value, null);
      await store.get('k');
      expect(store.l1.get('k')).toBe(value);
    };
    await warm('1');
    await store.set('k', '2', null);
    expect(store.l1.get('k')).toBeUndefined();
    await warm('3');
    expect(await store.incr('k', 1)).toBe(4);
    expect(await store.get('k')).toBe('4');
    await store.touch('k', Date.now() + 60_000);
    expect(store.l1.get('k')).toBeUndefined();
    await warm('5');
    await store.delete('k');
    expect(await store.get('k')).toBeUndefined();
    await warm('6');
    await store.deleteMatching({ prefix: 'k', pattern: '*' });
    expect(store.l1.get('k')).toBeUndefined();
    await warm('7');
    await store.clear();
    expect(store.l1.get('k')).toBeUndefined();
    await warm('8');
    expect(await store.add('k', '9', null)).toBe(false);
    expect(store.l1.get('k')).toBe('8');
  });

  it('getMany mixes L1 hits and L2 reads in request order', async () => {
    const l2 = createPrivateMemoryStore({ maxEntries: 100 }, Date.now);
    const store = tiered(l2);
    l2.set('a', 'A', null);
    l2.set('b', 'B', null);
    await store.get('a');
    expect(await store.getMany(['a', 'x', 'b'])).toEqual(['A', undefined, 'B']);
    expect(store.l1.get('b')).toBe('B');
  });

  it('never copies into L1 a value that was invalidated while its read was in flight', async () => {
    const l2 = createPrivateMemoryStore({ maxEntries: 100 }, Date.now);
    const slow = slowReads(l2);
    const store = tiered(slow.store);
    l2.set('k', 'old', null);
    const reading = store.get('k');
    // A write acknowledged while the read waits: the read's answer must not land in L1.
    await store.set('k', 'new', null);
    slow.release();
    expect(await reading).toBe('old');
    expect(store.l1.get('k')).toBeUndefined();
    expect(store.counts.skippedFills).toBe(1);
    expect(await store.get('k')).toBe('new');
  });
});

describe('bus messages', () => {
  it('round-trip and split under the size limit', () => {
    const text = encodeMessage({
      publisher: 'p',
      sequence: 3,
      invalidations: [
        { kind: 'keys', keys: ['a', 'b'] },
        { kind: 'match', prefix: 'x:', pattern: '*' },
        { kind: 'tags', tags: ['t'] },
        { kind: 'clear' },
      ],
    });
    expect(decodeMessage(text)).toEqual({
      publisher: 'p',
      sequence: 3,
      invalidations: [
        { kind: 'keys', keys: ['a', 'b'] },
        { kind: 'match', prefix: 'x:', pattern: '*' },
        { kind: 'tags', tags: ['t'] },
        { kind: 'clear' },
      ],
    });
    expect(decodeMessage('not json')).toBeUndefined();
    expect(decodeMessage('{"p":1}')).toBeUndefined();
    const keys = Array.from({ length: 2000 }, (_, i) => `some:longish:key:${i}`);
    const bodies = packInvalidations([{ kind: 'keys', keys }], 1000);
    expect(bodies.length).toBeGreaterThan(20);
    expect(bodies.flat().flatMap((i) => (i.kind === 'keys' ? i.keys : []))).toEqual(keys);
    for (const body of bodies) {
      expect(
        Buffer.byteLength(encodeMessage({ publisher: 'p', sequence: 1, invalidations: body })),
      ).toBeLessThan(1100);
    }
  });
});

/** Two tiered stores ("processes" A and B) on one L2, each with its own bus connection. */
interface Pair {
  a: TieredStore;
  b: TieredStore;
  l2: Store;
}

function busPairTests(name: string, makePair: () => Promise<Pair>) {
  it(`${name}: a write in A drops B's L1 copy`, async () => {
    const { a, b } = await makePair();
    const k = (name: string) => `${run}:${name}`;
    await expect.poll(() => a.l1Open && b.l1Open, POLL).toBe(true);
    await a.set(k('k'), 'v1', null);
    expect(await warm(b, k('k'))).toBe('v1');
    await a.set(k('k'), 'v2', null);
    await expect.poll(async () => text(await b.get(k('k'))), POLL).toBe('v2');
    expect(await warm(b, k('k'))).toBe('v2');
    await a.delete(k('k'));
    await expect.poll(() => b.get(k('k')), POLL).toBeUndefined();
    await a.set(k('p:1'), '1', null);
    await warm(b, k('p:1'));
    await a.deleteMatching({ prefix: k('p:'), pattern: '*' });
    await expect.poll(() => b.get(k('p:1')), POLL).toBeUndefined();
    await a.set(k('c'), k('c'), null);
    await warm(b, k('c'));
    await a.deleteMany([k('c')]);
    await expect.poll(() => b.l1.get(k('c')), POLL).toBeUndefined();
  });
}

const redisUnavailable = await probeRedis();

describeWithService('Redis', redisUnavailable, 'Redis bus', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await startRedisServer();
    closers.push(() => server.dispose());
  });

  function redisStore(location: string): Store {
    const store = redisBackend.factory({
      alias: 'tiers',
      location,
      options: {},
      now: Date.now,
      logger: silentLogger,
      operationTimeoutMs: 2000,
    }) as Store;
    closers.push(() => store.close());
    return store;
  }

  function redisBus(location: string, channel: string): InvalidationBus {
    return openBus(location, { alias: 'tiers', logger: silentLogger, channel, timeoutMs: 2000 });
  }

  async function pair(location: string): Promise<Pair> {
    const channel = `skycache-test:${unique()}`;
    const l2 = redisStore(location);
    return {
      l2,
      a: tiered(redisStore(location), redisBus(location, channel)),
      b: tiered(redisStore(location), redisBus(location, channel)),
    };
  }

  busPairTests('redis', () => pair(redisUrl(DB)));

  it('B stops serving L1 when its subscriber is killed, and never serves the old value', async () => {
    const { a, b } = await pair(server.url);
    await expect.poll(() => a.l1Open && b.l1Open, POLL).toBe(true);
    await a.set('k', 'old', null);
    expect(await warm(b, 'k')).toBe('old');
    const admin = createClient({ url: server.url });
    await admin.connect();
    closers.push(() => admin.close());
    // Kill every subscriber (both buses'), then write from A while B may be reconnecting.
    await admin.sendCommand(['CLIENT', 'KILL', 'TYPE', 'pubsub']);
    await a.set('k', 'new', null);
    // From here on B must never answer 'old', whether or not it has reconnected yet.
    const deadline = Date.now() + 1500;
    while (Date.now() < deadline) {
      expect(text(await b.get('k'))).toBe('new');
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    await expect.poll(() => b.l1Open, POLL).toBe(true);
    expect(b.bus!.counts.resets).toBeGreaterThanOrEqual(2);
    expect(await warm(b, 'k')).toBe('new');
  });

  it('B drops its whole L1 when a publisher skips a sequence number', async () => {
    const channel = `skycache-test:${unique()}`;
    const b = tiered(redisStore(server.url), redisBus(server.url, channel));
    await expect.poll(() => b.l1Open, POLL).toBe(true);
    await b.set('x', 'x', null);
    await warm(b, 'x');
    const raw = createClient({ url: server.url });
    await raw.connect();
    closers.push(() => raw.close());
    const publish = (sequence: number, key: string) =>
      raw.publish(
        channel,
        encodeMessage({
          publisher: 'other',
          sequence,
          invalidations: [{ kind: 'keys', keys: [key] }],
        }),
      );
    await publish(1, 'unrelated');
    await publish(2, 'unrelated');
    await expect.poll(() => b.bus!.counts.received, POLL).toBe(2);
    expect(b.l1.get('x')).toBeDefined();
    await publish(5, 'unrelated');
    await expect.poll(() => b.bus!.counts.gaps, POLL).toBe(1);
    expect(b.l1.get('x')).toBeUndefined();
  });

  it('a dead bus never fails an operation', async () => {
    const dead = await startRedisServer();
    const channel = `skycache-test:${unique()}`;
    const store = tiered(redisStore(server.url), redisBus(dead.url, channel));
    await expect.poll(() => store.l1Open, POLL).toBe(true);
    await dead.kill();
    await expect.poll(() => store.l1Open, POLL).toBe(false);
    const started = performance.now();
    await store.set('k', 'v', null);
    expect(text(await store.get('k'))).toBe('v');
    expect(text(await store.get('k'))).toBe('v');
    // L1 is bypassed while the bus is down.
    expect(store.lastTier).toBe('l2');
    expect(performance.now() - started).toBeLessThan(5000);
    await dead.start();
    await expect.poll(() => store.l1Open, { timeout: 15_000 }).toBe(true);
    await dead.dispose();
  });
});

const postgresUnavailable = await probePostgres();

describeWithService('PostgreSQL', postgresUnavailable, 'PostgreSQL bus', () => {
  const table = `skycache_test_tiers_${unique()}`;
  afterAll(async () => {
    const pool = adminPool();
    await dropTables(pool, table);
    await pool.end();
  });

  function pgStore(): Store {
    const store = postgresBackend.factory({
      alias: 'tiers',
      location: POSTGRES_URL,
      options: { table },
      now: Date.now,
      logger: silentLogger,
      operationTimeoutMs: 2000,
    }) as Store;
    closers.push(() => store.close());
    return store;
  }

  function pgBus(channel: string): InvalidationBus {
    return openBus(POSTGRES_URL, {
      alias: 'tiers',
      logger: silentLogger,
      channel,
      timeoutMs: 2000,
    });
  }

  async function pair(): Promise<Pair> {
    const channel = `skycache_test_${unique()}`;
    return {
      l2: pgStore(),
      a: tiered(pgStore(), pgBus(channel)),
      b: tiered(pgStore(), pgBus(channel)),
    };
  }

  busPairTests('postgres', pair);

  it('B stops serving L1 when its listener is terminated, and never serves the old value', async () => {
    const { a, b } = await pair();
    await expect.poll(() => a.l1Open && b.l1Open, POLL).toBe(true);
    await a.set('k', 'old', null);
    expect(await warm(b, 'k')).toBe('old');
    const pid = (b.bus!.transport as PostgresBusTransport).listenerPid;
    expect(pid).toBeTypeOf('number');
    const pool = adminPool();
    closers.push(() => pool.end());
    await pool.query('SELECT pg_terminate_backend($1)', [pid]);
    await a.set('k', 'new', null);
    const deadline = Date.now() + 1500;
    while (Date.now() < deadline) {
      expect(text(await b.get('k'))).toBe('new');
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    await expect.poll(() => b.l1Open, POLL).toBe(true);
    expect(await warm(b, 'k')).toBe('new');
  });
});
