/**
 * What the Cache does with the `tags` option: validate the tags, make their records' keys, and
 * wrap a payload as a tag *request* (tokens filled in by the tag-checking store, `tag-store.ts`).
 *
 * A tag's record lives under the cache's key prefix, outside every key version and namespace:
 * `<keyPrefix>:tag:<tag>` (a made key's second part is always its integer version, so `tag` there
 * cannot collide with an entry made by the default key function). Every cache with the same
 * prefix on the same store, in any process, shares the records.
 */
import { InvalidKeyError } from '../errors.js';
import { assertKey } from '../keys.js';
import type { Payload } from '../store.js';
import { wrapTags } from './format.js';

/**
 * The made keys of the tag records for `tags` (a string or a list), in order, without duplicates.
 * @throws InvalidKeyError for a tag that is not a non-empty well-formed string, or no tags at all
 */
export function makeTagKeys(tags: unknown, keyPrefix: string): string[] {
  const list: unknown[] = typeof tags === 'string' ? [tags] : Array.isArray(tags) ? tags : [tags];
  if (list.length === 0) throw new InvalidKeyError('tags must name at least one tag');
  const keys = new Set<string>();
  for (const tag of list) {
    assertKey(tag, 'a tag');
    keys.add(`${keyPrefix}:tag:${tag}`);
  }
  return [...keys];
}

/**
 * `tags` of a storing call's options, as tag record keys; `undefined` when the call has none.
 * @throws InvalidKeyError (see {@link makeTagKeys})
 */
export function tagKeysOf(options: unknown, keyPrefix: string): string[] | undefined {
  if (options === null || typeof options !== 'object') return undefined;
  const tags = (options as { tags?: unknown }).tags;
  if (tags === undefined) return undefined;
  if (!Array.isArray(tags)) throw new InvalidKeyError('tags must be an array of strings');
  if (tags.length === 0) return undefined;
  return makeTagKeys(tags, keyPrefix);
}

/** `payload` as a tag request for `tagKeys` (or as it is without tags). */
export function requestTags(
  payload: Payload,
  tagKeys: readonly string[] | undefined,
  references: boolean,
): Payload {
  if (tagKeys === undefined) return payload;
  return wrapTags(
    payload,
    tagKeys.map((tagKey) => [tagKey, ''] as const),
    references,
  );
}
