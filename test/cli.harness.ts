/**
 * Runs the `skycache` CLI from source in a child process, and the end-to-end scenario every backend
 * passes (test/cli.e2e.*.test.ts): each command's `--json` output parsed, confirmations refused
 * without a terminal, `--yes`, exit codes, and no password printed anywhere.
 */
import { execFile, spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { expect } from 'vitest';
import { createCache } from '../src/core/registry.js';

const root = resolve(import.meta.dirname, '..');
const main = join(root, 'src/cli/main.ts');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout and stderr together, for "never printed anywhere" checks. */
  all: string;
}

/** The CLI's environment: this process's, without CACHE_* variables, plus `env`. */
function environment(env: Record<string, string>): NodeJS.ProcessEnv {
  const clean: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env))
    if (!name.startsWith('CACHE_')) clean[name] = value;
  return { ...clean, ...env };
}

/** Runs `skycache ...args` (stdin is not a terminal). */
export function cli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((done, fail) => {
    const child = execFile(
      process.execPath,
      ['--import', 'tsx', main, ...args],
      { cwd: root, env: environment(env), timeout: 60_000 },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') return fail(error);
        const code = error ? (error.code as number) : 0;
        done({ code, stdout, stderr, all: `${stdout}\n${stderr}` });
      },
    );
    child.stdin?.end();
  });
}

/** Runs the CLI on a pseudo-terminal (util-linux `script`), typing `input`. */
export function cliOnTerminal(args: string[], input: string): Promise<CliResult> {
  const quoted = ['node', '--import', 'tsx', main, ...args]
    .map((part) => `'${part.replaceAll("'", "'\\''")}'`)
    .join(' ');
  return new Promise((done, fail) => {
    const child = spawn('script', ['-qec', quoted, '/dev/null'], {
      cwd: root,
      env: environment({}),
    });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      // Answer once the question is on screen.
      if (/\[y\/N\]/.test(stdout) && input) {
        child.stdin.write(input);
        input = '';
      }
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', fail);
    child.on('close', (code) => {
      clearTimeout(timer);
      done({ code: code ?? -1, stdout, stderr: '', all: stdout });
    });
  });
}

/** Parses `--json` output, failing the test with everything printed when it is not JSON. */
export function json<T = Record<string, unknown>>(result: CliResult): T {
  try {
    return JSON.parse(result.stdout) as T;
  } catch {
    throw new Error(`not one JSON document (exit ${result.code}):\n${result.all}`);
  }
}

/** Appends a query parameter to a cache URL. */
export function withParam(url: string, name: string, value: string): string {
  return `${url}${url.includes('?') ? '&' : '?'}${name}=${encodeURIComponent(value)}`;
}

/**
 * The scenarios, each on its own key prefix so they can run concurrently on one store.
 * `url(prefix)` gives the cache URL; `secret` is a password in it that must never be printed.
 */
export function scenarios(
  url: (prefix: string) => string,
  secret?: string,
): Array<[string, () => Promise<void>]> {
  /** Runs the CLI on the prefix's URL and checks that no password shows. */
  const on = (prefix: string) => async (args: string[]) => {
    const result = await cli([...args, '--url', url(prefix)]);
    if (secret) expect(result.all).not.toContain(secret);
    return result;
  };
  return [
    [
      'set, get and ttl: --json documents and exit codes',
      async () => {
        const run = on('e2e-entries');
        const stored = await run(['set', 'user:1', '{"name":"Ada","tags":["a"]}', '--json']);
        expect(stored.code, stored.all).toBe(0);
        expect(json(stored)).toMatchObject({ key: 'user:1', stored: true });
        const got = await run(['get', 'user:1', '--json']);
        expect(got.code, got.all).toBe(0);
        expect(json(got)).toEqual({
          key: 'user:1',
          found: true,
          value: { name: 'Ada', tags: ['a'] },
        });
        expect((await run(['set', 'note', 'plain text', '--raw'])).code).toBe(0);
        expect(json(await run(['get', 'note', '--json']))).toMatchObject({ value: 'plain text' });

        const ttl = json<{ ttl: number }>(await run(['ttl', 'user:1', '--json']));
        expect(ttl.ttl).toBeGreaterThan(200);
        expect(ttl.ttl).toBeLessThanOrEqual(300);
        expect((await run(['set', 'forever', '1', '--timeout', 'none'])).code).toBe(0);
        expect(json(await run(['ttl', 'forever', '--json']))).toEqual({
          key: 'forever',
          found: true,
          ttl: null,
        });
        await run(['set', 'short', '"x"', '--timeout', '90s']);
        const short = json<{ ttl: number }>(await run(['ttl', 'short', '--json']));
        expect(short.ttl).toBeGreaterThan(30);
        expect(short.ttl).toBeLessThanOrEqual(90);

        const missing = await run(['get', 'absent', '--json']);
        expect(missing.code).toBe(1);
        expect(json(missing)).toMatchObject({ found: false, value: null });
        expect((await run(['ttl', 'absent'])).code).toBe(1);
      },
    ],
    [
      'incr and delete: --json documents and exit codes',
      async () => {
        const run = on('e2e-counters');
        const noCounter = await run(['incr', 'counter', '--json']);
        expect(noCounter.code).toBe(1);
        expect(json<{ error: { code: string } }>(noCounter).error.code).toBe(
          'ERR_CACHE_KEY_NOT_FOUND',
        );
        await run(['set', 'counter', '5']);
        expect(json(await run(['incr', 'counter', '2', '--json']))).toEqual({
          key: 'counter',
          value: 7,
        });
        expect(json(await run(['incr', 'counter', '-3', '--json']))).toEqual({
          key: 'counter',
          value: 4,
        });
        await run(['set', 'user:1', '1']);
        expect(json(await run(['delete', 'user:1', '--json']))).toEqual({
          key: 'user:1',
          deleted: true,
        });
        expect(json(await run(['delete', 'user:1', '--json']))).toEqual({
          key: 'user:1',
          deleted: false,
        });
        expect((await run(['get', 'user:1'])).code).toBe(1);
      },
    ],
    [
      'versions and inspect',
      async () => {
        const run = on('e2e-inspect');
        await run(['set', 'doc', '{"a":1}', '--version', '2']);
        expect((await run(['get', 'doc'])).code).toBe(1);
        expect(json(await run(['get', 'doc', '--version', '2', '--json']))).toMatchObject({
          value: { a: 1 },
        });
        const report = json<{
          madeKey: string;
          found: boolean;
          size: number;
          ttl: number;
          serializer: string;
          type: string;
          value: unknown;
        }>(await run(['inspect', 'doc', '--version', '2', '--json']));
        expect(report).toMatchObject({
          madeKey: 'e2e-inspect:2:doc',
          found: true,
          size: Buffer.byteLength('{"a":1}'),
          serializer: 'json',
          type: 'object',
          value: { a: 1 },
          tags: [],
        });
        expect(report.ttl).toBeGreaterThan(200);
        const absent = await run(['inspect', 'nothing', '--json']);
        expect(absent.code).toBe(1);
        expect(json(absent)).toMatchObject({ found: false, madeKey: 'e2e-inspect:1:nothing' });
      },
    ],
    [
      'keys and delete-pattern: count, refusal without a terminal, --dry-run, --yes',
      async () => {
        const run = on('e2e-pattern');
        for (const key of ['user:1', 'user:2', 'user:3', 'order:1'])
          expect((await run(['set', key, '1'])).code).toBe(0);
        const listed = json<{ keys: string[]; count: number }>(
          await run(['keys', 'user:*', '--json']),
        );
        expect(listed.keys.sort()).toEqual(['user:1', 'user:2', 'user:3']);
        expect(listed.count).toBe(3);
        const limited = json<{ keys: string[]; count: number; truncated: boolean }>(
          await run(['keys', '--limit', '2', '--json']),
        );
        expect(limited).toMatchObject({ count: 4, truncated: true });
        expect(limited.keys).toHaveLength(2);

        const refused = await run(['delete-pattern', 'user:*']);
        expect(refused.code).toBe(2);
        expect(refused.stderr).toMatch(/3 keys match user:\*/);
        expect(refused.stderr).toMatch(/--yes/);
        expect(json(await run(['keys', '--json']))).toMatchObject({ count: 4 });

        const dry = await run(['delete-pattern', 'user:*', '--dry-run', '--json']);
        expect(json(dry)).toEqual({ pattern: 'user:*', matched: 3, deleted: 0, dryRun: true });

        const done = await run(['delete-pattern', 'user:*', '--yes', '--json']);
        expect(done.code, done.all).toBe(0);
        expect(json(done)).toEqual({ pattern: 'user:*', matched: 3, deleted: 3, dryRun: false });
        expect(json<{ keys: string[] }>(await run(['keys', '--json'])).keys).toEqual(['order:1']);
      },
    ],
    [
      'clear: refused without a terminal, done with --yes',
      async () => {
        const run = on('e2e-clear');
        await run(['set', 'a', '1']);
        await run(['set', 'b', '2']);
        const refused = await run(['clear', '--json']);
        expect(refused.code).toBe(2);
        expect(json(refused)).toHaveProperty('error');
        expect(json(await run(['keys', '--json']))).toMatchObject({ count: 2 });
        const cleared = await run(['clear', '--yes', '--json']);
        expect(cleared.code, cleared.all).toBe(0);
        expect(json(cleared)).toEqual({ cleared: true, matched: 2 });
        expect(json(await run(['keys', '--json']))).toMatchObject({ count: 0, keys: [] });
      },
    ],
    [
      'inspect shows entry tags; delete-tag refuses without a terminal, invalidates with --yes',
      async () => {
        const run = on('e2e-tags');
        // The test's own connection: generous, as the CLI's are (a loaded machine, a fresh table).
        const cache = createCache(withParam(url('e2e-tags'), 'operationTimeout', '10s'));
        try {
          await cache.set('article:1', 'text', { tags: ['news', 'sports'] });
          await cache.set('article:2', 'text', { tags: ['weather'] });
        } finally {
          await cache.close();
        }
        const report = json(await run(['inspect', 'article:1', '--json']));
        expect(report).toMatchObject({ found: true, tags: ['news', 'sports'] });
        expect((await run(['delete-tag', 'news'])).code).toBe(2);
        expect((await run(['get', 'article:1'])).code).toBe(0);
        const done = await run(['delete-tag', 'news', '--yes', '--json']);
        expect(done.code, done.all).toBe(0);
        expect(json(done)).toEqual({ tags: ['news'], invalidated: true });
        expect((await run(['get', 'article:1'])).code).toBe(1);
        expect((await run(['get', 'article:2'])).code).toBe(0);
      },
    ],
    [
      'usage errors exit 2; ping and about',
      async () => {
        const run = on('e2e-usage');
        const badJson = await run(['set', 'k', '{not json']);
        expect(badJson.code).toBe(2);
        expect(badJson.stderr).toMatch(/--raw/);
        expect((await run(['get'])).code).toBe(2);
        expect((await run(['get', 'k', '--limit', '3'])).code).toBe(2);
        expect((await run(['set', 'k', '1', '--timeout', 'soon'])).code).toBe(2);
        expect((await run(['get', 'k', '--alias', 'nope'])).code).toBe(2);
        const ping = await run(['ping', '--json']);
        expect(ping.code, ping.all).toBe(0);
        expect(json(ping)).toMatchObject({ alias: 'default', ok: true });
        const about = await run(['about', '--json']);
        expect(about.code, about.all).toBe(0);
        expect(json<{ caches: unknown[] }>(about).caches).toHaveLength(1);
      },
    ],
  ];
}
