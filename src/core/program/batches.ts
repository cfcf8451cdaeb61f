/**
 * Programs of the batch operations: `getMany`, `setMany`, `deleteMany`, and of the ones that
 * address keys by pattern: `clear`, `deletePattern`; at the end, the facade's calls of the batch
 * operations with their fail-open results.
 */
import { makeTagKeys, requestTags, tagKeysOf } from '../tags/tag-keys.js';
import type { CacheView } from '../cache/view.js';
import {
  keysOf,
  parseStoreOptions,
  toArray,
  toEntries,
  type SetManyEntries,
  type StoreOptions,
  type VersionOptions,
} from '../cache/options.js';
import { expiryFrom } from '../duration.js';
import { MISS } from '../entry/format.js';
import { InvalidValueError } from '../errors.js';
import { FAIL_OPEN } from '../guard/operations.js';
import { assertVersion, type KeyScope } from '../keys.js';
import type { Payload } from '../store.js';
import { runOperation as run, runOperationSync as runSync, type Program } from './runner.js';

export function* getManyProgram<T>(
  view: CacheView,
  keys: Iterable<string>,
  opts: VersionOptions | undefined,
): Program<Map<string, T>> {
  const { entries, observer } = view.ctx;
  const wanted = toArray(keys, 'getMany keys');
  const made = wanted.map((key) => view.make(key, opts?.version));
  const found = new Map<string, T>();
  if (made.length === 0) return found;
  let tiers: ReadonlyArray<'l1' | 'l2'> | undefined;
  const payloads = (yield (store) => {
    const reading = store.getMany(made);
    tiers = store.lastTiers; // a tiered store's answer for this call, read before any other call
    return reading;
  }) as Array<Payload | undefined>;
  wanted.forEach((key, index) => {
    const madeKey = made[index]!;
    const value = entries.decode(payloads[index], key, madeKey, 'getMany');
    if (value === MISS) observer.miss(key, madeKey);
    else {
      observer.hit(key, madeKey, tiers?.[index]);
      found.set(key, value as T);
    }
  });
  return found;
}

export function* setManyProgram(
  view: CacheView,
  entries: unknown,
  opts: StoreOptions | undefined,
): Program<string[]> {
  const { ctx } = view;
  const { timeout, version } = parseStoreOptions(opts);
  const resolved = ctx.expiry(timeout);
  const pairs = toEntries(entries);
  const tagKeys = tagKeysOf(opts, ctx.config.keyPrefix);
  const callerKeyOf = new Map<string, string>();
  const encoded = pairs.map(([key, value]): [string, Payload] => {
    const made = view.make(key, version);
    callerKeyOf.set(made, key);
    return [made, requestTags(ctx.entries.encode(value), tagKeys, ctx.entries.references)];
  });
  if (encoded.length === 0) return [];
  if (resolved === 'discard') {
    yield (store) => store.deleteMany(encoded.map(([made]) => made));
    return [];
  }
  const failed = (yield (store) =>
    store.setMany(encoded, expiryFrom(ctx.now(), resolved))) as string[];
  const failedSet = new Set(failed);
  for (const [made, key] of callerKeyOf) if (!failedSet.has(made)) ctx.observer.set(key, made);
  return failed.map((made) => callerKeyOf.get(made) ?? made);
}

export function* deleteManyProgram(
  view: CacheView,
  keys: Iterable<string>,
  opts: VersionOptions | undefined,
): Program<number> {
  const callerKeys = toArray(keys, 'deleteMany keys');
  const made = callerKeys.map((key) => view.make(key, opts?.version));
  if (made.length === 0) return 0;
  const removed = (yield (store) => store.deleteMany(made)) as number;
  view.ctx.observer.deletedBatch({
    key: callerKeys[0]!,
    madeKey: made[0]!,
    keys: callerKeys,
    count: removed,
  });
  return removed;
}

export function* clearProgram(view: CacheView): Program<void> {
  const keys = view.ctx.keys;
  if (view.namespace !== '') {
    const prefix = keys.namespacePrefix(keys.version, view.namespace);
    yield (store) => store.deleteMatching({ prefix, pattern: '*' });
    return;
  }
  const prefix = keys.clearPrefix();
  yield prefix === ''
    ? (store) => store.clear()
    : (store) => store.deleteMatching({ prefix, pattern: '*' });
}

/** The stored keys a caller's glob covers in this view. @throws InvalidValueError */
export function scopeOf(
  view: CacheView,
  pattern: unknown,
  opts: VersionOptions | undefined,
): KeyScope {
  if (typeof pattern !== 'string')
    throw new InvalidValueError(`pattern must be a string, got ${typeof pattern}`);
  const version = opts?.version ?? view.ctx.keys.version;
  assertVersion(version);
  return view.ctx.keys.scope(pattern, version, view.namespace);
}

export function* deletePatternProgram(
  view: CacheView,
  pattern: string,
  opts: VersionOptions | undefined,
): Program<number> {
  const { match } = scopeOf(view, pattern, opts);
  const removed = (yield (store) => store.deleteMatching(match)) as number;
  view.ctx.observer.deletedBatch({
    key: pattern,
    madeKey: match.prefix,
    count: removed,
  });
  return removed;
}

/**
 * `deleteByTag`: deletes the records of the tags, which leaves every entry stamped with their
 * tokens invalid for good (README "Tags"). A tiered store also tells every process's L1.
 */
export function* deleteByTagProgram(
  view: CacheView,
  tags: string | readonly string[],
): Program<void> {
  const tagKeys = makeTagKeys(tags, view.ctx.config.keyPrefix);
  yield (store) => (store.deleteTags ? store.deleteTags(tagKeys) : store.deleteMany(tagKeys));
}

// ---- the facade's calls: each batch operation on both runners, with its fail-open result ----

type Keys = Iterable<string>;
type Opts = VersionOptions | undefined;

export function getMany<T>(view: CacheView, keys: Keys, opts: Opts): Promise<Map<string, T>> {
  return run(view, 'getMany', getManyProgram<T>, [keys, opts], FAIL_OPEN.getMany<T>);
}

export function getManySync<T>(view: CacheView, keys: Keys, opts: Opts): Map<string, T> {
  return runSync(view, 'getMany', getManyProgram<T>, [keys, opts], FAIL_OPEN.getMany<T>);
}

export function setMany(
  view: CacheView,
  entries: SetManyEntries,
  opts: StoreOptions | undefined,
): Promise<string[]> {
  return run(view, 'setMany', setManyProgram, [entries, opts], () => keysOf(entries));
}

export function setManySync(
  view: CacheView,
  entries: SetManyEntries,
  opts: StoreOptions | undefined,
): string[] {
  return runSync(view, 'setMany', setManyProgram, [entries, opts], () => keysOf(entries));
}

export function deleteMany(view: CacheView, keys: Keys, opts: Opts): Promise<number> {
  return run(view, 'deleteMany', deleteManyProgram, [keys, opts], FAIL_OPEN.deleteMany);
}

export function deleteManySync(view: CacheView, keys: Keys, opts: Opts): number {
  return runSync(view, 'deleteMany', deleteManyProgram, [keys, opts], FAIL_OPEN.deleteMany);
}

export function deletePattern(view: CacheView, pattern: string, opts: Opts): Promise<number> {
  return run(view, 'deletePattern', deletePatternProgram, [pattern, opts], FAIL_OPEN.deletePattern);
}
