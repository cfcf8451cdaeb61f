/**
 * The CLI end to end on the disk backend (SQLite files in a directory), plus what only a terminal
 * can show: the confirmation question answered with y and with n.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli, cliOnTerminal, json, scenarios, withParam } from './cli.harness.js';

const directory = mkdtempSync(join(tmpdir(), 'skycache-cli-'));
const url = (prefix: string) => withParam(`disk://${directory}`, 'keyPrefix', prefix);

describe('skycache CLI on disk', () => {
  afterAll(() => rmSync(directory, { recursive: true, force: true }));

  for (const [name, scenario] of scenarios(url)) it.concurrent(name, scenario, 600_000);

  it.concurrent(
    'on a terminal, delete-pattern asks with the count: n keeps everything, y deletes',
    async () => {
      const target = url('e2e-terminal');
      for (const key of ['s:1', 's:2']) await cli(['set', key, '1', '--url', target]);
      const no = await cliOnTerminal(['delete-pattern', 's:*', '--url', target], 'n\n');
      expect(no.all).toMatch(/2 keys match s:\* .*Delete them\? \[y\/N\]/s);
      expect(no.code).toBe(1);
      expect(json(await cli(['keys', '--json', '--url', target]))).toMatchObject({ count: 2 });
      const yes = await cliOnTerminal(['delete-pattern', 's:*', '--url', target], 'y\n');
      expect(yes.code, yes.all).toBe(0);
      expect(yes.all).toMatch(/deleted 2 keys/);
      expect(json(await cli(['keys', '--json', '--url', target]))).toMatchObject({ count: 0 });
    },
    300_000,
  );

  it.concurrent(
    'binary values print as hex in get and inspect',
    async () => {
      const target = url('e2e-binary');
      // Stored through the API by a tiny script, since the CLI stores JSON or text.
      const { createCache } = await import('../src/core/registry.js');
      const cache = createCache(target);
      await cache.set('bytes', Buffer.from([0, 1, 254, 255]));
      await cache.close();
      const got = json(await cli(['get', 'bytes', '--json', '--url', target]));
      expect(got).toMatchObject({ value: { type: 'buffer', hex: '0001feff' } });
      const inspected = json(await cli(['inspect', 'bytes', '--json', '--url', target]));
      expect(inspected).toMatchObject({ type: 'buffer', size: 5 });
    },
    300_000,
  );

  it.concurrent(
    'long operations report progress on stderr; stdout stays one JSON document',
    async () => {
      const target = url('e2e-progress');
      const { createCache } = await import('../src/core/registry.js');
      const cache = createCache(target);
      const entries = Array.from({ length: 10_001 }, (_, i) => [`p:${i}`, i] as [string, number]);
      expect(await cache.setMany(entries)).toEqual([]);
      await cache.close();
      const listed = await cli(['keys', 'p:*', '--limit', '5', '--json', '--url', target]);
      expect(listed.code, listed.all).toBe(0);
      expect(json(listed)).toMatchObject({ count: 10_001, truncated: true });
      expect(listed.stderr).toMatch(/listing keys: 10000/);
      const deleted = await cli(['delete-pattern', 'p:*', '--yes', '--json', '--url', target]);
      expect(json(deleted)).toMatchObject({ matched: 10_001, deleted: 10_001 });
      expect(deleted.stderr).toMatch(/counting keys: 10000/);
    },
    300_000,
  );
});
