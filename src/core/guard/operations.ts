/**
 * The operations a cache reports under (tracing contexts, `error` events, `errorsByOperation`),
 * and what each returns under `failOpen` when the backend fails (SPEC's table). The table is keyed
 * by the operation union, so a misspelled operation is a compile error, not a silently disabled
 * failOpen.
 */

/** Operations that have an honest result to fall back to under `failOpen`. */
export type FailOpenOperation =
  | 'get'
  | 'set'
  | 'add'
  | 'delete'
  | 'has'
  | 'touch'
  | 'ttl'
  | 'getMany'
  | 'setMany'
  | 'deleteMany'
  | 'clear'
  | 'deletePattern';

/** Every operation name a cache uses for store calls and reports. */
export type CacheOperation =
  | FailOpenOperation
  | 'incr'
  | 'decr'
  | 'incrVersion'
  | 'decrVersion'
  | 'keys'
  | 'deleteByTag'
  | 'getOrSet'
  | 'lock'
  | 'runOnce';

/**
 * Fail-open results that do not depend on the call. `get` (the caller's default) and `setMany`
 * (every key it was given) compute theirs at the call site; `incr`, `decr`, `incrVersion` and
 * `decrVersion` have none and still throw.
 */
export const FAIL_OPEN = {
  set: (): void => undefined,
  add: (): boolean => false,
  delete: (): boolean => false,
  has: (): boolean => false,
  touch: (): boolean => false,
  ttl: (): number | null | undefined => undefined,
  getMany: <T>(): Map<string, T> => new Map<string, T>(),
  deleteMany: (): number => 0,
  clear: (): void => undefined,
  deletePattern: (): number => 0,
} satisfies Partial<Record<FailOpenOperation, () => unknown>>;
