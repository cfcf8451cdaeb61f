/**
 * The dummy backend (Django's DummyCache): a cache that keeps nothing, for tests and for turning
 * caching off by configuration. Every call still validates its key and value.
 */
import { KeyNotFoundError } from '../core/errors.js';
import type { Store } from '../core/store.js';
import type { BackendDefinition } from './definition.js';

const dummyStore: Store = {
  capabilities: { sync: true },
  get: () => undefined,
  getMany: (keys) => keys.map(() => undefined),
  set: () => {},
  setMany: () => [],
  add: () => true,
  delete: () => false,
  deleteMany: () => 0,
  has: () => false,
  touch: () => false,
  incr(key): number {
    throw new KeyNotFoundError(`key "${key}" not found (the dummy backend keeps nothing)`);
  },
  expiry: () => undefined,
  keys: () => [] as string[],
  deleteMatching: () => 0,
  clear: () => {},
  close: () => {},
};

/** The `dummy` backend definition. */
export const dummyBackend: BackendDefinition = {
  name: 'dummy',
  sync: true,
  options: {},
  factory: () => dummyStore,
};
