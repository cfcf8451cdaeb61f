#!/usr/bin/env node
/**
 * The `skycache` admin command: parses the command line, finds the command in commands.ts, runs
 * it, and turns its outcome into an exit status (0 done, 1 failed, 2 usage or configuration).
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { commandHelp, commands, overallHelp } from './commands.js';
import {
  configFor,
  describeFailure,
  EXIT_OK,
  EXIT_USAGE,
  openCache,
  packageVersion,
  UsageError,
  type GlobalOptions,
  type OpenedCache,
} from './context.js';

const GLOBAL_OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  alias: { type: 'string' },
  url: { type: 'string', multiple: true },
  config: { type: 'string' },
  json: { type: 'boolean' },
} as const satisfies ParseArgsConfig['options'];

const COMMAND_OPTIONS = {
  version: { type: 'string' },
  timeout: { type: 'string' },
  raw: { type: 'boolean' },
  limit: { type: 'string' },
  'dry-run': { type: 'boolean' },
  yes: { type: 'boolean', short: 'y' },
  host: { type: 'string' },
  port: { type: 'string' },
  token: { type: 'string' },
  'read-only': { type: 'boolean' },
} as const satisfies ParseArgsConfig['options'];

/**
 * A negative number (`incr KEY -5`) is a positional, not a cluster of short options: such tokens
 * move behind `--`, unless they are the value of the option before them.
 */
function separateNegativeNumbers(argv: string[]): string[] {
  const rest: string[] = [];
  const numbers: string[] = [];
  argv.forEach((token, index) => {
    const previous = argv[index - 1];
    const isValue =
      previous !== undefined &&
      /^--[\w-]+$/.test(previous) &&
      (GLOBAL_OPTIONS[previous.slice(2) as keyof typeof GLOBAL_OPTIONS]?.type === 'string' ||
        COMMAND_OPTIONS[previous.slice(2) as keyof typeof COMMAND_OPTIONS]?.type === 'string');
    if (/^-\d/.test(token) && !isValue) numbers.push(token);
    else rest.push(token);
  });
  return numbers.length ? [...rest, '--', ...numbers] : rest;
}

async function main(argv: string[]): Promise<number> {
  if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-v')) {
    console.log(packageVersion());
    return EXIT_OK;
  }
  let parsed;
  try {
    parsed = parseArgs({
      args: separateNegativeNumbers(argv),
      allowPositionals: true,
      strict: true,
      options: { ...GLOBAL_OPTIONS, ...COMMAND_OPTIONS },
    });
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\n\n${overallHelp()}`);
  }
  const { values, positionals } = parsed;
  const [name, ...args] = positionals;
  if (name === undefined || name === 'help') {
    const target = commands.find((command) => command.name === args[0]);
    process.stdout.write(target ? commandHelp(target) : overallHelp());
    return name === undefined && !values.help ? EXIT_USAGE : EXIT_OK;
  }
  const command = commands.find((candidate) => candidate.name === name);
  if (!command) throw new UsageError(`unknown command "${name}"\n\n${overallHelp()}`);
  if (values.help) {
    process.stdout.write(commandHelp(command));
    return EXIT_OK;
  }
  for (const option of Object.keys(COMMAND_OPTIONS)) {
    if (values[option as keyof typeof values] !== undefined && !(option in command.options))
      throw new UsageError(`${name} takes no --${option} (see skycache ${name} --help)`);
  }
  const options: GlobalOptions = {
    alias: values.alias ?? 'default',
    url: values.url,
    config: values.config,
    json: values.json === true,
    yes: values.yes === true,
  };
  if (options.url?.length && options.config)
    throw new UsageError('pass either --url or --config, not both');
  const config = await configFor(options);
  const opened: OpenedCache[] = [];
  try {
    const code = await command.run(
      {
        options,
        values,
        args,
        open() {
          const made = openCache(config, options.alias);
          opened.push(made);
          return made;
        },
      },
      config,
    );
    return code ?? EXIT_OK;
  } finally {
    await Promise.allSettled(opened.map(({ cache }) => cache.close()));
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const { code, message } = describeFailure(error);
    process.stderr.write(`skycache: ${message}\n`);
    // `--json` promises one document on stdout, failures included.
    if (process.argv.includes('--json')) {
      const errorCode = (error as { code?: unknown }).code;
      const document = {
        error: { message, code: typeof errorCode === 'string' ? errorCode : undefined },
      };
      process.stdout.write(`${JSON.stringify(document, null, 2)}\n`);
    }
    process.exitCode = code;
  },
);
