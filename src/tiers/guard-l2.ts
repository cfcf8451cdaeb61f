/**
 * The second tier behind the cache's guard, each store method reported under the cache operation
 * it serves (so `errorsByOperation` and tracing name `set`, `ttl`, `deletePattern`… as they do
 * without a first tier). The guard bounds each call in time, counts it for the breaker and turns
 * failures into `BackendError`s; failOpen stays the cache's decision.
 */
import type { CacheOperation } from '../core/guard/operations.js';
import type { StoreCall, StoreGuard } from '../core/guard/store-guard.js';
import type { KeyMatch, Payload, Store } from '../core/store.js';

/** `store` with every data call going through `guard`. */
export function guardSecondTier(store: Store, guard: StoreGuard): Store {
  const sync = store.capabilities.sync;
  const through = <R>(operation: CacheOperation, call: StoreCall): R =>
    (sync ? guard.callSync(store, operation, call) : guard.call(store, operation, call)) as R;
  const guarded: Store = {
    capabilities: store.capabilities,
    client: store.client,
    get: (key) => through('get', (s) => s.get(key)),
    getMany: (keys) => through('getMany', (s) => s.getMany(keys)),
    set: (key, value, expiresAt) => through('set', (s) => s.set(key, value, expiresAt)),
    setMany: (entries, expiresAt) => through('setMany', (s) => s.setMany(entries, expiresAt)),
    add: (key, value, expiresAt) => through('add', (s) => s.add(key, value, expiresAt)),
    delete: (key) => through('delete', (s) => s.delete(key)),
    deleteMany: (keys) => through('deleteMany', (s) => s.deleteMany(keys)),
    touch: (key, expiresAt) => through('touch', (s) => s.touch(key, expiresAt)),
    incr: (key, delta) => through('incr', (s) => s.incr(key, delta)),
    expiry: (key) => through('ttl', (s) => s.expiry(key)),
    keys: (match: KeyMatch) => store.keys(match),
    deleteMatching: (match) => through('deletePattern', (s) => s.deleteMatching(match)),
    clear: () => through('clear', (s) => s.clear()),
    close: () => store.close(),
  };
  if (store.has) guarded.has = (key) => through('has', (s) => s.has!(key));
  if (store.move) guarded.move = (from, to) => through('incrVersion', (s) => s.move!(from, to));
  if (store.deleteIfValue) {
    guarded.deleteIfValue = (key, value: Payload) =>
      through('lock', (s) => s.deleteIfValue!(key, value));
  }
  if (store.touchIfValue) {
    guarded.touchIfValue = (key, value: Payload, expiresAt) =>
      through('lock', (s) => s.touchIfValue!(key, value, expiresAt));
  }
  return guarded;
}
