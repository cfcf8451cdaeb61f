import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '..');
const main = join(root, 'src/cli/main.ts');
const version = (
  JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }
).version;

interface Result {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout and stderr together, for "never printed anywhere" checks. */
  all: string;
}

/** Runs the CLI from source with a clean cache environment plus `env`. */
function cli(args: string[], env: Record<string, string> = {}): Promise<Result> {
  const cleanEnv: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!/^CACHE_/.test(name)) cleanEnv[name] = value;
  }
  return new Promise((done, fail) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', main, ...args],
      { cwd: root, env: { ...cleanEnv, ...env }, timeout: 60_000 },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') {
          fail(error);
          return;
        }
        const code = error ? (error.code as number) : 0;
        done({ code, stdout, stderr, all: `${stdout}\n${stderr}` });
      },
    );
  });
}

describe('skycache CLI', { timeout: 120_000 }, () => {
  it.concurrent('--help lists the about command and exits 0', async () => {
    const result = await cli(['--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/Usage: skycache/);
    expect(result.stdout).toMatch(/^\s+about\s/m);
  });

  it.concurrent('--version prints the package version', async () => {
    const result = await cli(['--version']);
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toBe(version);
  });

  it.concurrent(
    'about --url memory://x reports version, Node, alias, backend and latency',
    async () => {
      const result = await cli(['about', '--url', 'memory://x']);
      expect(result.code).toBe(0);
      expect(result.stdout).toContain(version);
      expect(result.stdout).toContain(process.version);
      const line = result.stdout.split('\n').find((text) => /^\s+default:/.test(text));
      expect(line, result.stdout).toBeDefined();
      expect(line).toContain('memory');
      expect(line).toContain('x');
      expect(line).toMatch(/\d+(\.\d+)?\s*ms/);
    },
  );

  it.concurrent('about --json prints a parseable report', async () => {
    const result = await cli([
      'about',
      '--json',
      '--url',
      'memory://j',
      '--url',
      'sessions=dummy://',
    ]);
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as {
      version: string;
      node: string;
      caches: Array<{ alias: string; backend: string; ok: boolean; latencyMs?: number }>;
    };
    expect(report.version).toBe(version);
    expect(report.node).toBe(process.version);
    const byAlias = Object.fromEntries(report.caches.map((entry) => [entry.alias, entry]));
    expect(byAlias.default).toMatchObject({ backend: 'memory', ok: true });
    expect(typeof byAlias.default!.latencyMs).toBe('number');
    expect(byAlias.default!.latencyMs).toBeGreaterThanOrEqual(0);
    expect(byAlias.sessions).toMatchObject({ backend: 'dummy', ok: true });
  });

  it.concurrent('an unavailable backend exits 1 and never prints its password', async () => {
    const result = await cli(['about', '--url', 'redis://:hunter2@127.0.0.1:1/0']);
    expect(result.code).toBe(1);
    expect(result.all).toMatch(/default/);
    expect(result.all).not.toContain('hunter2');
  });

  it.concurrent('the same with --json and a postgres DSN', async () => {
    const result = await cli(['about', '--json', '--url', 'postgres://app:hunter2@127.0.0.1:1/db']);
    expect(result.code).toBe(1);
    expect(result.all).not.toContain('hunter2');
    const report = JSON.parse(result.stdout) as { caches: Array<{ ok: boolean }> };
    expect(report.caches[0]!.ok).toBe(false);
  });

  it.concurrent('an unknown scheme with a password exits 1 without printing it', async () => {
    const result = await cli(['about', '--url', 'mongodb://user:hunter2@127.0.0.1:1/db']);
    expect(result.code).toBe(1);
    expect(result.all).not.toContain('hunter2');
  });

  it.concurrent('a password in CACHE_URL is not printed either', async () => {
    const result = await cli(['about'], { CACHE_URL: 'redis://:hunter2@127.0.0.1:1/0' });
    expect(result.code).toBe(1);
    expect(result.all).not.toContain('hunter2');
  });

  it.concurrent('reads CACHE_URL and CACHE_SESSIONS_URL as default and sessions', async () => {
    const result = await cli(['about'], {
      CACHE_URL: 'memory://from-env',
      CACHE_SESSIONS_URL: 'dummy://',
    });
    expect(result.code).toBe(0);
    const lines = result.stdout.split('\n');
    const defaultLine = lines.find((text) => /^\s+default:/.test(text));
    const sessionsLine = lines.find((text) => /^\s+sessions:/.test(text));
    expect(defaultLine, result.stdout).toMatch(/memory/);
    expect(defaultLine).toContain('from-env');
    expect(sessionsLine, result.stdout).toMatch(/dummy/);
  });

  it.concurrent('with no configuration, about checks memory://default', async () => {
    const result = await cli(['about', '--json']);
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as {
      caches: Array<{ alias: string; backend: string }>;
    };
    expect(report.caches).toEqual([
      expect.objectContaining({ alias: 'default', backend: 'memory' }),
    ]);
  });

  it.concurrent('one unreachable alias among good ones exits 1', async () => {
    const result = await cli([
      'about',
      '--url',
      'memory://ok',
      '--url',
      'bad=redis://127.0.0.1:1/0',
    ]);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^\s+default:.*ok/m);
    expect(result.stdout).toMatch(/^\s+bad:/m);
  });

  it.concurrent('an unknown command or option is a usage error: exit 2', async () => {
    const result = await cli(['frobnicate']);
    expect(result.code).toBe(2);
    expect((await cli(['get', 'k', '--frobnicate'])).code).toBe(2);
    expect(result.stderr).toContain('frobnicate');
  });

  it.concurrent('no command prints the help and exits non-zero', async () => {
    const result = await cli([]);
    expect(result.code).not.toBe(0);
    expect(result.all).toMatch(/about/);
  });

  it.concurrent('every command has its own --help', async () => {
    for (const command of ['get', 'set', 'delete-pattern', 'dashboard']) {
      const result = await cli([command, '--help']);
      expect(result.code).toBe(0);
      expect(result.stdout).toContain(`Usage: skycache ${command}`);
    }
    const set = await cli(['help', 'set']);
    expect(set.stdout).toMatch(/--timeout/);
    expect(set.stdout).toMatch(/--raw/);
  });

  describe('--config FILE', () => {
    const directory = mkdtempSync(join(tmpdir(), 'skycache-cli-config-'));
    afterAll(() => rmSync(directory, { recursive: true, force: true }));

    it.concurrent('reads a .json file of aliases and uses --alias', async () => {
      const file = join(directory, 'caches.json');
      writeFileSync(
        file,
        JSON.stringify({
          default: 'memory://a',
          files: { backend: 'disk', location: join(directory, 'disk'), keyPrefix: 'cfg' },
        }),
      );
      const stored = await cli(['set', 'k', '[1,2]', '--config', file, '--alias', 'files']);
      expect(stored.code, stored.all).toBe(0);
      const got = await cli(['get', 'k', '--json', '--config', file, '--alias', 'files']);
      expect(JSON.parse(got.stdout)).toMatchObject({ value: [1, 2] });
      const inspected = await cli(['inspect', 'k', '--json', '--config', file, '--alias', 'files']);
      expect(JSON.parse(inspected.stdout)).toMatchObject({ madeKey: 'cfg:1:k' });
    });

    it.concurrent('reads a .mjs module exporting the initCaches object', async () => {
      const file = join(directory, 'caches.mjs');
      writeFileSync(
        file,
        `export default { default: { backend: 'disk', location: ${JSON.stringify(join(directory, 'mjs'))}, serializer: 'v8' } };`,
      );
      await cli(['set', 'k', '"v"', '--config', file]);
      const inspected = await cli(['inspect', 'k', '--json', '--config', file]);
      expect(inspected.code, inspected.all).toBe(0);
      expect(JSON.parse(inspected.stdout)).toMatchObject({ serializer: 'v8', value: 'v' });
    });

    it.concurrent(
      'a missing file or a bad config is exit 2, without printing a password',
      async () => {
        expect((await cli(['keys', '--config', join(directory, 'none.json')])).code).toBe(2);
        const file = join(directory, 'bad.json');
        writeFileSync(file, JSON.stringify({ default: 'redis://:hunter2@127.0.0.1:1/0?bogus=1' }));
        const result = await cli(['get', 'k', '--config', file]);
        expect(result.code).toBe(2);
        expect(result.all).not.toContain('hunter2');
      },
    );
  });
});
