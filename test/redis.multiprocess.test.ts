/**
 * `incr` is atomic across processes: 4 processes fire 250 concurrent `incr` each at one counter,
 * and the total is exactly 1,000 (database 12 of the shared server).
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import { makeRedisCache, probeRedis, redisUrl } from './fixtures/redis-servers.js';
import { describeWithService } from './support/services.js';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '..');
const worker = join(root, 'test/fixtures/redis-counter-worker.ts');
const location = redisUrl(12);

describeWithService('Redis', await probeRedis(), 'redis backend across processes', () => {
  it('1,000 concurrent incr from 4 processes add up exactly', async () => {
    const prefix = `mp${randomBytes(4).toString('hex')}`;
    const cache = makeRedisCache({ location, keyPrefix: prefix });
    try {
      await cache.set('ready', 0, 60);
      await cache.set('counter', 0, 60);
      const workers = 4;
      const outputs = await Promise.all(
        Array.from({ length: workers }, () =>
          run(process.execPath, ['--import', 'tsx', worker, location, prefix, '4', '250'], {
            cwd: root,
            timeout: 30_000,
          }),
        ),
      );
      const results = outputs.map(({ stdout }) => JSON.parse(stdout.trim().split('\n').pop()!));
      for (const result of results) expect(result).toMatchObject({ ok: true });
      expect(await cache.get('counter')).toBe(1000);
      // Every value was handed out once: the largest any process saw is the total.
      expect(Math.max(...results.map((result: { last: number }) => result.last))).toBe(1000);
      // incr kept the TTL the counter was stored with.
      expect(await cache.ttl('counter')).toBeGreaterThan(0);
    } finally {
      await cache.clear();
      await cache.close();
    }
  });
});
