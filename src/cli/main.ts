#!/usr/bin/env node
/**
 * The `skycache` admin command.
 */
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import type { CacheConfigInput } from '../config/types.js';
import { configFromEnvironment } from '../core/registry.js';
import { about } from './about.js';
import { createTables, describeReport } from './createtable.js';

const HELP = `Usage: skycache <command> [options]

Commands:
  about     Show the version, each configured cache alias, its backend and location
            (passwords redacted) and a live round-trip check. Exit code 1 if any alias
            is unreachable.
            Options: --url [alias=]URL (repeatable; default: CACHE_URL / CACHE_<ALIAS>_URL
            from the environment, else memory://default), --json
  createtable
            Create the table of every PostgreSQL cache alias ahead of time (like Django's
            createcachetable), so the application can run with options.createTable: false.
            Aliases on other backends are skipped. Exit code 1 if any alias failed.
            Options: --url [alias=]URL (repeatable; default: CACHE_URL / CACHE_<ALIAS>_URL
            from the environment), --dry-run (print the SQL, change nothing), --json

Options:
  -h, --help      Show this help
  -v, --version   Show the version
`;

function version(): string {
  // Two levels up from both src/cli and dist/cli.
  return (createRequire(import.meta.url)('../../package.json') as { version: string }).version;
}

/** `--url redis://…` configures `default`; `--url sessions=redis://…` another alias. */
function urlsToConfig(urls: string[]): Record<string, CacheConfigInput> {
  const config: Record<string, CacheConfigInput> = {};
  for (const value of urls) {
    // An alias is word characters before '='; a URL has ':' and '/' before any '='.
    const match = /^([\w-]+)=(.+)$/.exec(value);
    if (match) config[match[1]!] = match[2]!;
    else config.default = value;
  }
  return config;
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean', short: 'v' },
      url: { type: 'string', multiple: true },
      json: { type: 'boolean' },
      'dry-run': { type: 'boolean' },
    },
  });
  if (values.version) {
    console.log(version());
    return 0;
  }
  const command = positionals[0];
  if (values.help || command === undefined || command === 'help') {
    console.log(HELP);
    return command === undefined && !values.help ? 1 : 0;
  }
  if (command !== 'about' && command !== 'createtable') {
    console.error(`skycache: unknown command "${command}"\n\n${HELP}`);
    return 1;
  }
  const config = values.url?.length ? urlsToConfig(values.url) : configFromEnvironment();
  if (command === 'createtable') {
    const reports = await createTables(config, { dryRun: values['dry-run'] === true });
    if (values.json) console.log(JSON.stringify({ caches: reports }, null, 2));
    else if (!reports.some((report) => report.outcome !== 'skipped'))
      console.log('no PostgreSQL cache is configured: nothing to create');
    for (const report of values.json ? [] : reports) console.log(describeReport(report));
    return reports.some((report) => report.outcome === 'failed') ? 1 : 0;
  }
  const reports = await about(config);
  if (values.json) {
    console.log(
      JSON.stringify({ version: version(), node: process.version, caches: reports }, null, 2),
    );
  } else {
    console.log(`skycache ${version()} · Node ${process.version}`);
    for (const report of reports) {
      const status = report.ok
        ? `ok (${report.latencyMs!.toFixed(1)} ms round trip)`
        : `UNREACHABLE: ${report.error}`;
      console.log(
        `  ${report.alias}: ${report.backend} ${report.location || '(no location)'} — ${status}`,
      );
    }
  }
  return reports.every((report) => report.ok) ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(`skycache: ${(error as Error).message}`);
    process.exitCode = 1;
  },
);
