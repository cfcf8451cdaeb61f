/**
 * What every `skycache` command shares: where the caches come from (`--url`, `--config`, the
 * environment), how results are printed (`--json` or text), confirmations, progress on stderr,
 * and the exit status (0 done, 1 operation failed, 2 usage or configuration error).
 */
import { createRequire } from 'node:module';
import { extname, resolve } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { pathToFileURL } from 'node:url';
import { readFile } from 'node:fs/promises';
import { redactSecrets } from '../config/redact.js';
import { resolveConfig } from '../config/resolve.js';
import type { CacheConfigInput } from '../config/types.js';
import { Cache } from '../core/cache.js';
import {
  CacheError,
  ConfigError,
  InvalidKeyError,
  InvalidValueError,
  UnsupportedOperationError,
} from '../core/errors.js';
import { silentLogger } from '../core/logger.js';
import type { Serializer } from '../serializers/serializer.js';
import { configFromEnvironment } from '../core/registry.js';

/** Exit status: done. */
export const EXIT_OK = 0;
/** Exit status: the operation failed (a backend error, an absent key where one was needed). */
export const EXIT_FAILED = 1;
/** Exit status: bad arguments, bad configuration, or a confirmation that could not be given. */
export const EXIT_USAGE = 2;

/** A problem with the command line or configuration: exit status 2. */
export class UsageError extends Error {}

/** A failure to report with exit status 1 (the message is printed as is). */
export class OperationFailed extends Error {}

/** The parsed global options. */
export interface GlobalOptions {
  alias: string;
  url?: string[];
  config?: string;
  json: boolean;
  yes: boolean;
}

/** `--url redis://…` configures `default`; `--url sessions=redis://…` another alias. */
export function urlsToConfig(urls: string[]): Record<string, CacheConfigInput> {
  const config: Record<string, CacheConfigInput> = {};
  for (const value of urls) {
    // An alias is word characters before '='; a URL has ':' and '/' before any '='.
    const match = /^([\w-]+)=(.+)$/.exec(value);
    if (match) config[match[1]!] = match[2]!;
    else config.default = value;
  }
  return config;
}

/**
 * Reads `--config FILE`: a `.json` file holding the `initCaches` object, or a `.js`/`.mjs`/`.cjs`
 * module exporting it as `default` (or as `caches`).
 */
export async function loadConfigFile(file: string): Promise<Record<string, CacheConfigInput>> {
  const path = resolve(file);
  let loaded: unknown;
  try {
    if (extname(path) === '.json') loaded = JSON.parse(await readFile(path, 'utf8'));
    else {
      const module = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
      loaded = module.default ?? module.caches;
      // A CommonJS module imported as ESM: its `module.exports` is `default`.
      if (loaded && typeof loaded === 'object' && 'caches' in loaded && !('backend' in loaded))
        loaded = (loaded as { caches: unknown }).caches ?? loaded;
    }
  } catch (error) {
    throw new UsageError(
      `cannot read --config ${file}: ${redactSecrets((error as Error).message)}`,
    );
  }
  if (loaded === null || typeof loaded !== 'object' || Array.isArray(loaded))
    throw new UsageError(`--config ${file} must export an object of aliases (as initCaches takes)`);
  return loaded as Record<string, CacheConfigInput>;
}

/** The configuration the options point at: `--url`, else `--config`, else the environment. */
export async function configFor(options: GlobalOptions): Promise<Record<string, CacheConfigInput>> {
  if (options.url?.length) return urlsToConfig(options.url);
  if (options.config) return loadConfigFile(options.config);
  return configFromEnvironment();
}

/** One opened cache and what the CLI shows about it. */
export interface OpenedCache {
  cache: Cache;
  alias: string;
  /** The configured serializer (for sizes and `inspect`). */
  serializer: Serializer;
  /** The tags the entry under `madeKey` was stored with (`undefined`: cannot tell). */
  readTags(madeKey: string): Promise<string[] | undefined>;
}

/**
 * The shortest per-operation limit the CLI uses, in ms. The cache's own default (250 ms) suits an
 * application with warm connections; a command opens its connection (TLS, AUTH) for one operation.
 */
const CLI_OPERATION_TIMEOUT_MS = 5000;

/** Makes the cache of `alias` (quiet logger: failures are reported by the command itself). */
export function openCache(config: Record<string, CacheConfigInput>, alias: string): OpenedCache {
  const entry = config[alias];
  if (entry === undefined) {
    throw new ConfigError(
      `no cache with alias "${alias}"; configured: ${Object.keys(config).join(', ') || 'none'}`,
    );
  }
  const resolved = resolveConfig(entry, alias);
  const cache = new Cache({
    ...resolved,
    logger: silentLogger,
    operationTimeoutMs: Math.max(resolved.operationTimeoutMs, CLI_OPERATION_TIMEOUT_MS),
  });
  return {
    cache,
    alias,
    serializer: resolved.serializer,
    readTags: async (madeKey) => {
      const { readEntryTags } = await import('./entry-tags.js');
      return readEntryTags(entry, alias, madeKey, cache.keyPrefix);
    },
  };
}

/** Prints the result: the JSON document with `--json`, else the text lines. */
export function print(options: GlobalOptions, document: unknown, text: () => string): void {
  if (options.json) process.stdout.write(`${JSON.stringify(document, null, 2)}\n`);
  else {
    const out = text();
    if (out) process.stdout.write(`${out}\n`);
  }
}

/** JSON form of a cached value: Buffers become `{ type: 'buffer', hex }`. */
export function jsonValue(value: unknown): unknown {
  if (Buffer.isBuffer(value)) return { type: 'buffer', hex: value.toString('hex') };
  if (value instanceof Uint8Array)
    return { type: 'buffer', hex: Buffer.from(value).toString('hex') };
  return value;
}

/** A value for people: JSON pretty-printed, strings as they are, bytes as hex. */
export function showValue(value: unknown): string {
  if (Buffer.isBuffer(value)) return `<${value.length} bytes> ${value.toString('hex')}`;
  if (typeof value === 'string') return value;
  try {
    return JSON.stringify(value, null, 2) ?? String(value);
  } catch {
    return String(value);
  }
}

/**
 * Asks before a destructive operation. `--yes` skips the question; without a terminal (and without
 * `--yes`) the answer is no and the command exits 2.
 */
export async function confirm(options: GlobalOptions, question: string): Promise<void> {
  if (options.yes) return;
  if (!process.stdin.isTTY || !process.stderr.isTTY) {
    throw new UsageError(`${question}\nrefusing without a terminal to confirm: pass --yes`);
  }
  const prompt = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await prompt.question(`${question} [y/N] `);
    if (!/^y(es)?$/i.test(answer.trim())) throw new OperationFailed('cancelled: nothing changed');
  } finally {
    prompt.close();
  }
}

/** Progress of a long operation on stderr: a rewritten line on a terminal, else a line per step. */
export class Progress {
  #shown = 0;
  #lastAt = 0;
  readonly #tty = process.stderr.isTTY === true;

  constructor(
    readonly label: string,
    /** Items between two lines when stderr is not a terminal. */
    readonly every = 10_000,
  ) {}

  update(done: number): void {
    const now = Date.now();
    if (this.#tty) {
      if (now - this.#lastAt < 100) return;
      this.#lastAt = now;
      process.stderr.write(`\r${this.label}: ${done}`);
      this.#shown = done;
    } else if (done - this.#shown >= this.every) {
      this.#shown = done;
      process.stderr.write(`${this.label}: ${done}\n`);
    }
  }

  done(total: number): void {
    if (this.#tty && this.#lastAt > 0) process.stderr.write(`\r${this.label}: ${total}\n`);
  }
}

/** The exit status and message for an error a command threw. */
export function describeFailure(error: unknown): { code: number; message: string } {
  const message = redactSecrets(error instanceof Error ? error.message : String(error));
  if (error instanceof UsageError) return { code: EXIT_USAGE, message };
  if (
    error instanceof ConfigError ||
    error instanceof InvalidKeyError ||
    error instanceof InvalidValueError ||
    error instanceof UnsupportedOperationError
  )
    return { code: EXIT_USAGE, message };
  if (error instanceof CacheError || error instanceof OperationFailed)
    return { code: EXIT_FAILED, message };
  return { code: EXIT_FAILED, message };
}

/** The package version (two levels up from both src/cli and dist/cli). */
export function packageVersion(): string {
  return (createRequire(import.meta.url)('../../package.json') as { version: string }).version;
}
