/**
 * The table of `skycache` commands: usage, help and which options each takes.
 */
import { about } from './about.js';
import * as bulk from './bulk.js';
import { createTables, describeReport } from './createtable.js';
import { packageVersion, print } from './context.js';
import * as entries from './entries.js';
import type { CommandInput } from './entries.js';
import type { CacheConfigInput } from '../config/types.js';

/** One command of the CLI. */
export interface Command {
  name: string;
  /** The arguments after the name, for the usage line. */
  args: string;
  summary: string;
  /** Options besides the global ones, with their help. */
  options: Record<string, string>;
  /** Needs a cache (`--alias`) rather than the whole configuration. */
  run(input: CommandInput, config: Record<string, CacheConfigInput>): Promise<number | void>;
}

const VERSION = { version: "--version N   key version (default: the cache's)" };

export const commands: Command[] = [
  {
    name: 'about',
    args: '',
    summary:
      'version, every configured alias (backend, location) and a live round trip; 1 if any is unreachable',
    options: {},
    async run(input, config) {
      const reports = await about(config);
      print(
        input.options,
        { version: packageVersion(), node: process.version, caches: reports },
        () =>
          [
            `skycache ${packageVersion()} · Node ${process.version}`,
            ...reports.map(
              (report) =>
                `  ${report.alias}: ${report.backend} ${report.location || '(no location)'} — ${
                  report.ok
                    ? `ok (${report.latencyMs!.toFixed(1)} ms round trip)`
                    : `UNREACHABLE: ${report.error}`
                }`,
            ),
          ].join('\n'),
      );
      return reports.every((report) => report.ok) ? 0 : 1;
    },
  },
  {
    name: 'ping',
    args: '',
    summary: 'a live round trip (set, get, delete) on --alias; 1 if it fails',
    options: {},
    async run(input, config) {
      const [report] = await about({ [input.options.alias]: config[input.options.alias]! });
      print(input.options, report, () =>
        report!.ok
          ? `PONG ${report!.alias} (${report!.latencyMs!.toFixed(1)} ms)`
          : `${report!.alias}: UNREACHABLE: ${report!.error}`,
      );
      return report!.ok ? 0 : 1;
    },
  },
  {
    name: 'get',
    args: 'KEY',
    summary: 'print the value (JSON; bytes as hex); exit 1 if absent',
    options: VERSION,
    run: entries.get,
  },
  {
    name: 'set',
    args: 'KEY VALUE',
    summary: 'store VALUE (JSON unless --raw)',
    options: {
      timeout: "--timeout D   a duration (90, 30s, 5m, 1h, 7d) or none (default: the cache's)",
      raw: '--raw         store VALUE as a string instead of parsing JSON',
      ...VERSION,
    },
    run: entries.set,
  },
  { name: 'delete', args: 'KEY', summary: 'delete one key', options: VERSION, run: entries.remove },
  {
    name: 'ttl',
    args: 'KEY',
    summary: 'seconds left (null: never expires); exit 1 if absent',
    options: VERSION,
    run: entries.ttl,
  },
  {
    name: 'incr',
    args: 'KEY [DELTA]',
    summary: 'add DELTA (default 1, may be negative) atomically; 1 if absent or not an integer',
    options: VERSION,
    run: entries.incr,
  },
  {
    name: 'keys',
    args: '[PATTERN]',
    summary: 'list the keys matching a glob (*, ?, [abc]; default *)',
    options: { limit: '--limit N     show at most N keys (default 1000, 0 = all)', ...VERSION },
    run: bulk.keys,
  },
  {
    name: 'delete-pattern',
    args: 'PATTERN',
    summary: 'count the keys matching a glob, confirm, delete them',
    options: {
      'dry-run': '--dry-run     count only, delete nothing',
      yes: '--yes         do not ask (required without a terminal)',
      ...VERSION,
    },
    run: bulk.deletePattern,
  },
  {
    name: 'delete-tag',
    args: 'TAG...',
    summary: 'invalidate every entry carrying any of the tags, after confirmation',
    options: { yes: '--yes         do not ask (required without a terminal)' },
    run: bulk.deleteTag,
  },
  {
    name: 'clear',
    args: '',
    summary:
      'remove every entry of the cache (its keyPrefix; the whole store without one), after confirmation',
    options: { yes: '--yes         do not ask (required without a terminal)' },
    run: bulk.clear,
  },
  {
    name: 'inspect',
    args: 'KEY',
    summary: 'made key, payload size, TTL, serializer, type and value of one entry; 1 if absent',
    options: VERSION,
    run: entries.inspect,
  },
  {
    name: 'createtable',
    args: '',
    summary:
      "create the table of every PostgreSQL alias ahead of time (Django's createcachetable; --dry-run prints the SQL)",
    options: { 'dry-run': '--dry-run     print the SQL, change nothing' },
    async run(input, config) {
      const reports = await createTables(config, { dryRun: input.values['dry-run'] === true });
      print(input.options, { caches: reports }, () =>
        reports.some((report) => report.outcome !== 'skipped')
          ? reports.map(describeReport).join('\n')
          : [
              'no PostgreSQL cache is configured: nothing to create',
              ...reports.map(describeReport),
            ].join('\n'),
      );
      return reports.some((report) => report.outcome === 'failed') ? 1 : 0;
    },
  },
  {
    name: 'dashboard',
    args: '',
    summary: 'serve the web dashboard for every configured alias until interrupted',
    options: {
      host: '--host H      interface to bind (default 127.0.0.1)',
      port: '--port N      port (default 8100; 0 = any free port)',
      token: '--token T     require this token (default: SKYCACHE_DASHBOARD_TOKEN, else none)',
      'read-only': '--read-only   refuse every change',
    },
    async run(input, config) {
      const { serveDashboard } = await import('./serve.js');
      return serveDashboard(input, config);
    },
  },
];

const GLOBAL = `Global options:
  --alias A          the cache to use (default: default)
  --url [ALIAS=]URL  configure a cache by URL (repeatable; a bare URL is the alias default)
  --config FILE      a .json file, or a .js/.mjs module exporting the initCaches object
                     (without --url/--config: CACHE_URL and CACHE_<ALIAS>_URL, else memory://default)
  --json             print one JSON document on stdout
  -h, --help         help (skycache help COMMAND for one command)
  -v, --version      the skycache version (as the only argument)

Exit status: 0 done, 1 operation failed (or KEY absent for get/ttl/inspect), 2 usage or
configuration error (also: a confirmation needed without a terminal and without --yes).
Passwords in URLs are always shown as ***.`;

/** The overall help. */
export function overallHelp(): string {
  const width = Math.max(...commands.map((c) => `${c.name} ${c.args}`.length));
  const lines = commands.map((c) => `  ${`${c.name} ${c.args}`.padEnd(width)}  ${c.summary}`);
  return `Usage: skycache <command> [arguments] [options]\n\nCommands:\n${lines.join('\n')}\n\n${GLOBAL}\n`;
}

/** The help of one command. */
export function commandHelp(command: Command): string {
  const options = Object.values(command.options).map((line) => `  ${line}`);
  return [
    `Usage: skycache ${command.name}${command.args ? ` ${command.args}` : ''} [options]`,
    '',
    command.summary,
    ...(options.length ? ['', 'Options:', ...options] : []),
    '',
    GLOBAL,
    '',
  ].join('\n');
}
