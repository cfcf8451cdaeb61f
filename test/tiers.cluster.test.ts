/**
 * The invalidation bus on a Redis Cluster (sharded pub/sub), on a private 3-master Cluster this
 * file starts on free loopback ports. Two processes, A and B, each with a tiered cache on the
 * Cluster: A's writes, deletes, tag deletes and clears drop B's L1 copies; and when B's
 * subscriber connection is killed while A writes, B never serves its old L1 copy, then
 * subscribes again by itself.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, expect, it } from 'vitest';
import { redisCli, startRedisCluster, type RedisCluster } from './fixtures/redis-servers.js';
import {
  expectAWritesReachB,
  killWorkers,
  startWorker,
  warm as warmUp,
  type Worker,
} from './fixtures/tiers-processes.js';
import { describeWithService, probeService } from './support/services.js';

let cluster: RedisCluster | undefined;
const unavailable = await probeService(async () => {
  cluster = await startRedisCluster();
}, 30_000);
afterAll(async () => {
  await cluster?.dispose();
});
afterEach(killWorkers);

const run = randomBytes(5).toString('hex');
const POLL = { timeout: 10_000, interval: 5 };

const config = () => ({
  backend: 'redis',
  location: cluster!.url,
  keyPrefix: `tiers-cluster-${run}`,
  operationTimeout: '2s',
  l1: { maxEntries: 1000, timeout: '60s' },
});

/** Reads in B until it answers from L1. */
const warm = (worker: Worker, key: string) => warmUp(worker, key, POLL);

/** Sharded subscribers (`ssub`) connected to each master, in `cluster.ports` order. */
async function shardedSubscribers(): Promise<number[]> {
  return Promise.all(
    cluster!.ports.map(async (port) => {
      const list = await redisCli(port, 'client', 'list');
      return list.split('\n').filter((line) => / ssub=[1-9]/.test(line)).length;
    }),
  );
}

describeWithService('redis-server (Cluster mode)', unavailable, 'Redis Cluster bus', () => {
  it('both subscribers are on one master (the channel is one sharded channel)', async () => {
    const [a, b] = await Promise.all([startWorker(config()), startWorker(config())]);
    await a.call('set', 'k', 'v');
    await b.get('k');
    await expect
      .poll(async () => (await shardedSubscribers()).reduce((x, y) => x + y), POLL)
      .toBe(2);
    const owners = (await shardedSubscribers()).filter((count) => count > 0);
    expect(owners).toEqual([2]);
    await Promise.all([a.close(), b.close()]);
  });

  it('writes, deletes, tag deletes and clears in A are what B reads next', async () => {
    await expectAWritesReachB(config, POLL);
  });

  it('B never serves its old L1 copy after its subscriber is killed while A writes', async () => {
    const [a, b] = await Promise.all([startWorker(config()), startWorker(config())]);
    await a.call('set', 'k', 'old');
    expect(await warm(b, 'k')).toBe('old');
    await expect
      .poll(async () => (await shardedSubscribers()).reduce((x, y) => x + y), POLL)
      .toBe(2);
    let killed = 0;
    for (const port of cluster!.ports) {
      killed += Number(await redisCli(port, 'client', 'kill', 'type', 'pubsub'));
    }
    expect(killed).toBe(2);
    await a.call('set', 'k', 'new');
    const deadline = Date.now() + 1000;
    while (Date.now() < deadline) {
      expect((await b.get('k')).value).not.toBe('old');
    }
    await expect.poll(async () => (await b.get('k')).value, POLL).toBe('new');
    // Subscribed again by itself: L1 serves again, and A's next write still reaches B.
    await expect
      .poll(async () => (await shardedSubscribers()).reduce((x, y) => x + y), POLL)
      .toBe(2);
    expect(await warm(b, 'k')).toBe('new');
    await a.call('set', 'k', 'newer');
    await expect.poll(async () => (await b.get('k')).value, POLL).toBe('newer');
    await Promise.all([a.close(), b.close()]);
  });
});
