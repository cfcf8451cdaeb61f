/**
 * The CLI end to end on Redis: a private server with a password (so "never printed" is tested
 * against a real login) and a private 3-node Cluster.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cli, json, scenarios, withParam } from './cli.harness.js';
import {
  probeRedis,
  startRedisCluster,
  startRedisServer,
  type RedisCluster,
  type RedisServer,
} from './fixtures/redis-servers.js';
import { describeWithService } from './support/services.js';

const SECRET = 'cli-hunter2-secret';
const unavailable = await probeRedis();

describeWithService('Redis', unavailable, 'skycache CLI on Redis', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await startRedisServer();
    await promisify(execFile)('redis-cli', [
      '-p',
      String(server.port),
      'config',
      'set',
      'requirepass',
      SECRET,
    ]);
  }, 60_000);
  afterAll(() => server?.dispose());

  const url = (prefix: string) =>
    withParam(`redis://:${SECRET}@127.0.0.1:${server.port}/0`, 'keyPrefix', prefix);
  for (const [name, scenario] of scenarios(url, SECRET)) it.concurrent(name, scenario, 600_000);

  it('a wrong password fails with exit 1 and prints neither password', async () => {
    const result = await cli([
      'get',
      'k',
      '--url',
      `redis://:wrong-${SECRET}@127.0.0.1:${server.port}/0`,
    ]);
    expect(result.code).toBe(1);
    expect(result.all).not.toContain(SECRET);
  }, 60_000);
});

describeWithService('Redis', unavailable, 'skycache CLI on a Redis Cluster', () => {
  let cluster: RedisCluster;
  beforeAll(async () => {
    cluster = await startRedisCluster();
  }, 90_000);
  afterAll(() => cluster?.dispose());

  it('set, get, keys, delete-pattern --yes and clear --yes across the nodes', async () => {
    const run = (args: string[]) =>
      cli([...args, '--url', withParam(cluster.url, 'keyPrefix', 'e2e')]);
    for (const key of ['a:1', 'a:2', 'a:3', 'b:1'])
      expect((await run(['set', key, '"v"'])).code).toBe(0);
    expect(json(await run(['get', 'a:2', '--json']))).toMatchObject({ value: 'v' });
    const listed = json<{ keys: string[] }>(await run(['keys', 'a:*', '--json']));
    expect(listed.keys.sort()).toEqual(['a:1', 'a:2', 'a:3']);
    expect(json(await run(['delete-pattern', 'a:*', '--yes', '--json']))).toMatchObject({
      matched: 3,
      deleted: 3,
    });
    expect(json(await run(['clear', '--yes', '--json']))).toEqual({ cleared: true, matched: 1 });
    expect(json(await run(['keys', '--json']))).toMatchObject({ count: 0 });
  }, 300_000);
});
