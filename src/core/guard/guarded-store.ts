/**
 * One store behind a {@link StoreGuard}: the same tracing, breaker, operation timeout and error
 * wrapping a cache applies, as a `Store` of its own. This is how a second tier is guarded on its
 * own ("guard L2 only"): `guardStore(l2, new StoreGuard({...}), 'getOrSet')` gives a store whose
 * failures are `BackendError`s counted by that guard's breaker, while L1 is called straight through.
 *
 * The wrapper does not apply `failOpen` (what a failed store call should return is the caller's
 * decision: use {@link StoreGuard.recover} where the caller knows its fallback). `keys()` iterators
 * and `close()` pass through unguarded.
 */
import type { KeyMatch, Payload, Store } from '../store.js';
import type { CacheOperation } from './operations.js';
import type { StoreCall, StoreGuard } from './store-guard.js';

/** `store` with every data call going through `guard`, reported under `operation`. */
export function guardStore(store: Store, guard: StoreGuard, operation: CacheOperation): Store {
  const sync = store.capabilities.sync;
  // The sync path stays sync, so a guarded sync store keeps the `…Sync` API working.
  const through = <R>(call: StoreCall): R =>
    (sync ? guard.callSync(store, operation, call) : guard.call(store, operation, call)) as R;
  const guarded: Store = {
    capabilities: store.capabilities,
    client: store.client,
    get: (key, hint) => through((s) => s.get(key, hint)),
    getMany: (keys) => through((s) => s.getMany(keys)),
    set: (key, value, expiresAt) => through((s) => s.set(key, value, expiresAt)),
    setMany: (entries, expiresAt) => through((s) => s.setMany(entries, expiresAt)),
    add: (key, value, expiresAt) => through((s) => s.add(key, value, expiresAt)),
    delete: (key) => through((s) => s.delete(key)),
    deleteMany: (keys) => through((s) => s.deleteMany(keys)),
    touch: (key, expiresAt) => through((s) => s.touch(key, expiresAt)),
    incr: (key, delta) => through((s) => s.incr(key, delta)),
    expiry: (key) => through((s) => s.expiry(key)),
    keys: (match: KeyMatch) => store.keys(match),
    deleteMatching: (match) => through((s) => s.deleteMatching(match)),
    clear: () => through((s) => s.clear()),
    close: () => store.close(),
  };
  if (store.has) guarded.has = (key) => through((s) => s.has!(key));
  if (store.move) guarded.move = (from, to) => through((s) => s.move!(from, to));
  if (store.deleteIfValue) {
    guarded.deleteIfValue = (key, value: Payload) => through((s) => s.deleteIfValue!(key, value));
  }
  if (store.touchIfValue) {
    guarded.touchIfValue = (key, value: Payload, expiresAt) =>
      through((s) => s.touchIfValue!(key, value, expiresAt));
  }
  return guarded;
}
