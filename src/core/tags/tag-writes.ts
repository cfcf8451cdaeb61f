/**
 * Whether a tagged entry was ever written to a store in this process. A process-local store
 * (memory) that never held one needs no tag check on reads, which keeps a `serialize: false`
 * memory hit close to the raw LRU lookup. Stores other processes write to are always checked.
 */
import type { Store } from '../store.js';

/** Whether a tagged entry was ever written to a store, shared by every wrapper of it. */
export interface TagWrites {
  tagged: boolean;
}

/** Stores other processes may write to: every read is checked. */
const SHARED: TagWrites = { tagged: true };

/** For process-local stores, by their client (memory caches on one location share it). */
const localTagWrites = new WeakMap<object, TagWrites>();

export function tagWritesOf(inner: Store, processLocal: boolean): TagWrites {
  const client = inner.client;
  if (!processLocal || client === null || typeof client !== 'object') return SHARED;
  let writes = localTagWrites.get(client);
  if (!writes) localTagWrites.set(client, (writes = { tagged: false }));
  return writes;
}
