/**
 * `skycache createtable` (Django's createcachetable) against a real server, from source. It needs
 * `backend: 'postgres'` to resolve from URLs, so it runs once the backend is registered.
 */
import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { adminPool, dropTables, POSTGRES_URL, probePostgres } from './fixtures/postgres-helpers.js';
import { describeWithService } from './support/services.js';

const root = resolve(import.meta.dirname, '..');
const main = join(root, 'src/cli/main.ts');
const TABLE = 'skycache_test_cli';
const OTHER = 'skycache_test_cli_sessions';

interface Result {
  code: number;
  stdout: string;
  /** stdout and stderr together. */
  all: string;
}

/** Runs the CLI from source with no CACHE_* variables but those in `env`. */
function cli(args: string[], env: Record<string, string> = {}): Promise<Result> {
  const clean: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env))
    if (!name.startsWith('CACHE_')) clean[name] = value;
  return new Promise((done, fail) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', main, ...args],
      { cwd: root, env: { ...clean, ...env }, timeout: 15_000 },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') return fail(error);
        done({ code: error ? (error.code as number) : 0, stdout, all: `${stdout}\n${stderr}` });
      },
    );
  });
}

const unavailable = await probePostgres();

describeWithService('PostgreSQL', unavailable, 'skycache createtable', () => {
  const admin = adminPool();
  const persistence = async (table: string) =>
    (
      await admin.query<{ p: string }>(
        'SELECT relpersistence AS p FROM pg_class WHERE relname = $1',
        [table],
      )
    ).rows[0]?.p;
  afterAll(async () => {
    await dropTables(admin, TABLE, OTHER);
    await admin.end();
  });

  it('is listed in --help', async () => {
    const result = await cli(['--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^\s+createtable\b/m);
    expect(result.stdout).toMatch(/--dry-run/);
  });

  it('creates the table of every postgres alias, skips other backends, and is idempotent', async () => {
    await dropTables(admin, TABLE, OTHER);
    const env = {
      CACHE_URL: `${POSTGRES_URL}?table=${TABLE}`,
      CACHE_SESSIONS_URL: `${POSTGRES_URL}?table=${OTHER}&unlogged=false`,
      CACHE_LOCAL_URL: 'memory://local',
    };
    const first = await cli(['createtable'], env);
    expect(first.code, first.all).toBe(0);
    expect(first.stdout).toMatch(new RegExp(`default: created table ${TABLE} \\(unlogged\\)`));
    expect(first.stdout).toMatch(new RegExp(`sessions: created table ${OTHER} in`));
    expect(first.stdout).toMatch(/local: memory backend, no table to create/);
    expect(await persistence(TABLE)).toBe('u');
    expect(await persistence(OTHER)).toBe('p');

    const again = await cli(['createtable', '--json'], env);
    expect(again.code, again.all).toBe(0);
    const report = JSON.parse(again.stdout) as {
      caches: Array<{ alias: string; outcome: string }>;
    };
    expect(Object.fromEntries(report.caches.map((entry) => [entry.alias, entry.outcome]))).toEqual({
      default: 'existed',
      sessions: 'existed',
      local: 'skipped',
    });
  });

  it('--dry-run prints the SQL and creates nothing', async () => {
    await dropTables(admin, TABLE);
    const result = await cli([
      'createtable',
      '--dry-run',
      '--url',
      `${POSTGRES_URL}?table=${TABLE}`,
    ]);
    expect(result.code, result.all).toBe(0);
    expect(result.stdout).toContain(`CREATE UNLOGGED TABLE IF NOT EXISTS "${TABLE}"`);
    expect(result.stdout).toContain(`CREATE INDEX IF NOT EXISTS "${TABLE}_expires_at"`);
    expect(await persistence(TABLE)).toBeUndefined();
  });

  it('an unreachable server exits 1 without printing the password', async () => {
    const result = await cli(['createtable', '--url', 'postgres://app:hunter2@127.0.0.1:1/db']);
    expect(result.code).toBe(1);
    expect(result.all).toMatch(/default: FAILED: .*ECONNREFUSED/);
    expect(result.all).not.toContain('hunter2');
  });

  it('with no postgres alias there is nothing to do', async () => {
    const result = await cli(['createtable', '--url', 'memory://x']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/nothing to create/);
  });
});
