import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

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
      { cwd: root, env: { ...cleanEnv, ...env }, timeout: 15_000 },
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

describe('skycache CLI', () => {
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

  it.concurrent('an unknown command exits non-zero', async () => {
    const result = await cli(['frobnicate']);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('frobnicate');
  });

  it.concurrent('no command prints the help and exits non-zero', async () => {
    const result = await cli([]);
    expect(result.code).not.toBe(0);
    expect(result.all).toMatch(/about/);
  });
});
