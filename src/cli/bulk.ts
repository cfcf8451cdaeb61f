/**
 * Commands over many keys: `keys`, `delete-pattern`, `delete-tag`, `clear`. The destructive ones
 * count what they will touch first and ask (see `confirm` in context.ts).
 */
import type { Cache } from '../core/cache.js';
import { confirm, print, Progress, UsageError, type OpenedCache } from './context.js';
import { versionOption, type CommandInput } from './entries.js';

/** Default `--limit` of `keys`: enough for a look, small enough for one JSON document. */
const DEFAULT_LIMIT = 1000;

/** Iterates matching keys up to `limit` (0 = all), showing progress on stderr. */
async function collect(
  cache: Cache,
  pattern: string,
  opts: { version?: number },
  limit: number,
  label: string,
): Promise<{ keys: string[]; total: number; truncated: boolean }> {
  const keys: string[] = [];
  const progress = new Progress(label);
  let total = 0;
  for await (const key of cache.keys(pattern, opts)) {
    total++;
    if (limit === 0 || keys.length < limit) keys.push(key);
    progress.update(total);
  }
  progress.done(total);
  return { keys, total, truncated: limit !== 0 && total > limit };
}

/** Counts matching keys (for the confirmation), showing progress on stderr. */
async function count(cache: Cache, pattern: string, opts: { version?: number }): Promise<number> {
  return (await collect(cache, pattern, opts, 1, 'counting keys')).total;
}

function describeCache({ cache, alias }: OpenedCache): string {
  return `cache "${alias}" (${cache.backend} ${cache.redactedLocation || ''})`.replace(' )', ')');
}

export async function keys(input: CommandInput): Promise<void> {
  const pattern = input.args[0] ?? '*';
  const rawLimit = input.values.limit;
  const limit = rawLimit === undefined ? DEFAULT_LIMIT : Number(rawLimit);
  if (!Number.isSafeInteger(limit) || limit < 0)
    throw new UsageError(`--limit takes a whole number (0 = no limit), got ${String(rawLimit)}`);
  const { cache } = input.open();
  const found = await collect(cache, pattern, versionOption(input.values), limit, 'listing keys');
  print(
    input.options,
    { pattern, keys: found.keys, count: found.total, truncated: found.truncated },
    () => found.keys.join('\n'),
  );
  if (found.truncated && !input.options.json)
    process.stderr.write(`(${found.total} keys match; first ${limit} shown, see --limit)\n`);
}

export async function deletePattern(input: CommandInput): Promise<void> {
  const pattern = input.args[0];
  if (!pattern) throw new UsageError('delete-pattern needs a PATTERN (a glob: *, ?, [abc])');
  const opened = input.open();
  const opts = versionOption(input.values);
  const matched = await count(opened.cache, pattern, opts);
  const dryRun = input.values['dry-run'] === true;
  if (dryRun || matched === 0) {
    print(input.options, { pattern, matched, deleted: 0, dryRun }, () =>
      dryRun
        ? `${matched} keys match ${pattern} in ${describeCache(opened)}; nothing deleted (--dry-run)`
        : `no key matches ${pattern}`,
    );
    return;
  }
  await confirm(
    input.options,
    `${matched} keys match ${pattern} in ${describeCache(opened)}. Delete them?`,
  );
  const deleted = await opened.cache.deletePattern(pattern, opts);
  print(input.options, { pattern, matched, deleted, dryRun }, () => `deleted ${deleted} keys`);
}

/** The tag invalidation of the tiering work, when this version of the core has it. */
type Taggable = Cache & { deleteByTag?: (tags: string | string[]) => Promise<void> };

export async function deleteTag(input: CommandInput): Promise<void> {
  const tags = input.args;
  if (tags.length === 0) throw new UsageError('delete-tag needs at least one TAG');
  const opened = input.open();
  const cache = opened.cache as Taggable;
  if (typeof cache.deleteByTag !== 'function')
    throw new UsageError('this version of skycache has no tags (cache.deleteByTag is missing)');
  // A tag's entries cannot be counted without reading every entry: say so instead of a number.
  await confirm(
    input.options,
    `Invalidate every entry tagged ${tags.join(', ')} in ${describeCache(opened)} ` +
      '(in every process sharing the store; how many cannot be counted beforehand)?',
  );
  await cache.deleteByTag(tags);
  print(input.options, { tags, invalidated: true }, () => `invalidated tags ${tags.join(', ')}`);
}

export async function clear(input: CommandInput): Promise<void> {
  const opened = input.open();
  const { cache } = opened;
  // keys('*') covers the default version only; clear() removes every version under the prefix.
  const matched = await count(cache, '*', {});
  const scope = cache.keyPrefix
    ? `every entry under the prefix "${cache.keyPrefix}" (all versions)`
    : 'EVERY entry in the store (no keyPrefix: other caches sharing it lose theirs too)';
  await confirm(
    input.options,
    `Clear ${describeCache(opened)}: ${matched} keys at version ${cache.version}; this removes ${scope}. Continue?`,
  );
  await cache.clear();
  print(
    input.options,
    { cleared: true, matched },
    () => `cleared (${matched} keys counted before)`,
  );
}
