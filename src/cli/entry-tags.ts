/**
 * The tags an entry was stored with, for `inspect`. The Cache API has no call for them, so this
 * reads the entry's payload straight from the backend store (a connection of its own) and takes
 * the tag names from its tag envelope (see src/core/tags/format.ts). Read-only. It is the one
 * place an integration reads a core format (docs/architecture.md): a public way to read an entry's
 * tags on the Cache would replace it.
 */
import { resolveConfig } from '../config/resolve.js';
import type { CacheConfigInput } from '../config/types.js';
import { silentLogger } from '../core/logger.js';
import type { Store } from '../core/store.js';
import { isTagged, unwrapTags } from '../core/tags/format.js';

/**
 * The entry's tag names (`[]` when it has none), or `undefined` when they cannot be read (a custom
 * backend given as a module specifier, or the entry vanished in between).
 */
export async function readEntryTags(
  entry: CacheConfigInput,
  alias: string,
  madeKey: string,
  keyPrefix: string,
): Promise<string[] | undefined> {
  const resolved = resolveConfig(entry, alias);
  if (typeof resolved.backend !== 'function') return undefined;
  let store: Store | undefined;
  try {
    store = await resolved.backend({
      alias,
      location: resolved.location,
      options: resolved.options,
      now: Date.now,
      logger: silentLogger,
      operationTimeoutMs: Math.max(resolved.operationTimeoutMs, 5000),
    });
    const payload = await store.get(madeKey);
    if (payload === undefined) return undefined;
    if (!isTagged(payload)) return [];
    const parts = unwrapTags(payload);
    if (!parts) return undefined;
    const recordPrefix = `${keyPrefix}:tag:`;
    return parts.stamps.map(([tagKey]) =>
      tagKey.startsWith(recordPrefix) ? tagKey.slice(recordPrefix.length) : tagKey,
    );
  } finally {
    await store?.close();
  }
}
