/**
 * Commands on one key: `get`, `set`, `delete`, `ttl`, `incr`, `inspect`.
 */
import { createCodec } from '../serializers/codec.js';
import {
  EXIT_FAILED,
  EXIT_OK,
  jsonValue,
  print,
  showValue,
  UsageError,
  type GlobalOptions,
  type OpenedCache,
} from './context.js';

/** What a command receives. */
export interface CommandInput {
  options: GlobalOptions;
  /** Command-specific option values, as parsed. */
  values: Record<string, string | boolean | string[] | undefined>;
  /** Positional arguments after the command name. */
  args: string[];
  open(): OpenedCache;
}

/** `--version N` as an integer, if given. */
export function versionOption(values: CommandInput['values']): { version?: number } {
  const raw = values.version;
  if (raw === undefined) return {};
  const version = Number(raw);
  if (typeof raw !== 'string' || !Number.isInteger(version))
    throw new UsageError(`--version takes an integer, got ${String(raw)}`);
  return { version };
}

function keyArgument(input: CommandInput, command: string): string {
  const key = input.args[0];
  if (key === undefined || key === '') throw new UsageError(`${command} needs a KEY`);
  return key;
}

/** Seconds left as people read them. */
function showTtl(ttl: number | null | undefined): string {
  if (ttl === undefined) return 'absent';
  if (ttl === null) return 'never expires';
  return `${ttl.toFixed(3)} s`;
}

export async function get(input: CommandInput): Promise<number> {
  const key = keyArgument(input, 'get');
  const { cache } = input.open();
  const found = new Map(await cache.getMany([key], versionOption(input.values)));
  const value = found.get(key);
  print(input.options, { key, found: found.has(key), value: jsonValue(value) ?? null }, () =>
    found.has(key) ? showValue(value) : '',
  );
  // Like grep: a miss is status 1, so scripts can test for it.
  if (found.has(key)) return EXIT_OK;
  if (!input.options.json) process.stderr.write(`(absent) ${key}\n`);
  return EXIT_FAILED;
}

/** The duration given to `--timeout`: `none` means never expires. */
function timeoutOption(raw: unknown): string | null | undefined {
  if (raw === undefined) return undefined;
  if (raw === 'none' || raw === 'null') return null;
  return String(raw);
}

export async function set(input: CommandInput): Promise<void> {
  const key = keyArgument(input, 'set');
  const text = input.args[1];
  if (text === undefined) throw new UsageError('set needs a VALUE (JSON, or text with --raw)');
  let value: unknown = text;
  if (input.values.raw !== true) {
    try {
      value = JSON.parse(text);
    } catch {
      throw new UsageError(`VALUE is not JSON: ${text} (pass --raw to store it as a string)`);
    }
  }
  const { cache } = input.open();
  const timeout = timeoutOption(input.values.timeout);
  await cache.set(key, value, { timeout, ...versionOption(input.values) });
  const ttl = await cache.ttl(key, versionOption(input.values));
  print(input.options, { key, stored: true, ttl }, () => `stored ${key} (${showTtl(ttl)})`);
}

export async function remove(input: CommandInput): Promise<void> {
  const key = keyArgument(input, 'delete');
  const { cache } = input.open();
  const deleted = await cache.delete(key, versionOption(input.values));
  print(input.options, { key, deleted }, () => (deleted ? `deleted ${key}` : `${key} was absent`));
}

export async function ttl(input: CommandInput): Promise<number> {
  const key = keyArgument(input, 'ttl');
  const { cache } = input.open();
  const left = await cache.ttl(key, versionOption(input.values));
  print(input.options, { key, found: left !== undefined, ttl: left ?? null }, () => showTtl(left));
  return left === undefined ? EXIT_FAILED : EXIT_OK;
}

export async function incr(input: CommandInput): Promise<void> {
  const key = keyArgument(input, 'incr');
  const raw = input.args[1] ?? '1';
  const delta = Number(raw);
  if (!/^-?\d+$/.test(raw) || !Number.isSafeInteger(delta))
    throw new UsageError(`DELTA must be an integer, got ${raw}`);
  const { cache } = input.open();
  const value = await cache.incr(key, delta, versionOption(input.values));
  print(input.options, { key, value }, () => String(value));
}

/** What `inspect` knows about an entry. */
export interface Inspection {
  key: string;
  madeKey: string;
  found: boolean;
  /** Bytes of the payload the serializer makes of the value (what the store holds, before its own overhead). */
  size: number | null;
  /** Seconds left; `null`: never expires (or absent, see `found`). */
  ttl: number | null;
  serializer: string;
  type: string | null;
  value: unknown;
  /** The entry's tags, when this version of the core can tell them. */
  tags: string[] | null;
  notes: string[];
}

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Buffer.isBuffer(value)) return 'buffer';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

/** Looks at one entry through the public Cache API. */
export async function inspectEntry(
  opened: OpenedCache,
  key: string,
  opts: { version?: number },
): Promise<Inspection> {
  const { cache, serializer } = opened;
  const madeKey = cache.makeKey(key, opts.version);
  const found = new Map(await cache.getMany([key], opts));
  const ttlLeft = found.has(key) ? await cache.ttl(key, opts) : undefined;
  const value = found.get(key);
  let size: number | null = null;
  const notes: string[] = [];
  if (found.has(key)) {
    const payload = createCodec(serializer).encode(value);
    size = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
  }
  let tags: string[] | null = null;
  if (found.has(key)) {
    try {
      tags = (await opened.readTags(madeKey)) ?? null;
    } catch (error) {
      notes.push(`tags: could not be read (${(error as Error).message})`);
    }
  }
  return {
    key,
    madeKey,
    found: found.has(key),
    size,
    ttl: ttlLeft ?? null,
    serializer: serializer.name,
    type: found.has(key) ? typeOf(value) : null,
    value: found.has(key) ? jsonValue(value) : null,
    tags,
    notes,
  };
}

export async function inspect(input: CommandInput): Promise<number> {
  const key = keyArgument(input, 'inspect');
  const opened = input.open();
  const report = await inspectEntry(opened, key, versionOption(input.values));
  print(input.options, report, () =>
    [
      `key:        ${report.key}`,
      `made key:   ${report.madeKey}`,
      `found:      ${report.found ? 'yes' : 'no'}`,
      ...(report.found
        ? [
            `type:       ${report.type}`,
            `size:       ${report.size} bytes (${report.serializer} payload)`,
            `ttl:        ${showTtl(report.ttl)}`,
          ]
        : []),
      `serializer: ${report.serializer}`,
      ...(report.found
        ? [`tags:       ${report.tags ? report.tags.join(', ') || '(none)' : 'unknown'}`]
        : []),
      ...report.notes,
      ...(report.found ? ['value:', showValue(value(report))] : []),
    ].join('\n'),
  );
  return report.found ? EXIT_OK : EXIT_FAILED;
}

function value(report: Inspection): unknown {
  const shown = report.value as { type?: string; hex?: string } | null;
  return shown?.type === 'buffer' ? Buffer.from(shown.hex ?? '', 'hex') : report.value;
}
