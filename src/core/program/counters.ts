/**
 * Programs of the counter and version operations: `incr`/`decr` and `incrVersion`/`decrVersion`.
 */
import type { CacheView } from '../cache/view.js';
import type { VersionOptions } from '../cache/options.js';
import { BackendError, InvalidValueError, KeyNotFoundError } from '../errors.js';
import type { Payload } from '../store.js';
import { parseIntegerPayload } from '../../serializers/codec.js';
import type { Program } from './runner.js';
import { deleteIfValue } from './single-key.js';

/**
 * Compare-and-swap rounds `incr` tries on a stale-window entry before giving up. Each lost round
 * means another writer changed the entry in between, so the loop only ends early under a storm
 * of writers or a store whose compare-and-delete never matches.
 */
const MAX_SWAP_ROUNDS = 1000;

function assertDelta(delta: number): void {
  if (!Number.isSafeInteger(delta))
    throw new InvalidValueError(`delta must be an integer, got ${String(delta)}`);
}

export function* incrProgram(
  view: CacheView,
  key: string,
  delta: number,
  opts: VersionOptions | undefined,
): Program<number> {
  assertDelta(delta);
  const made = view.make(key, opts?.version);
  try {
    return (yield (store) => store.incr(made, delta)) as number;
  } catch (error) {
    if (!(error instanceof InvalidValueError)) throw error;
    // Not plain integer text: maybe an integer getOrSet stored with a stale window.
    return yield* incrWrapped(view, key, made, delta, error);
  }
}

/**
 * `incr` of an integer wrapped with its logical expiry: absent past that expiry, otherwise
 * replaced by compare-and-swap, retried while other writers get there first.
 */
function* incrWrapped(
  view: CacheView,
  key: string,
  made: string,
  delta: number,
  notInteger: InvalidValueError,
): Program<number> {
  const { ctx } = view;
  const entries = ctx.entries;
  const references = entries.references;
  for (let round = 0; round < MAX_SWAP_ROUNDS; round++) {
    const payload = (yield (store) => store.get(made)) as Payload | undefined;
    // Not wrapped (or gone): the store's own answer stands.
    if (payload === undefined || !entries.isWrapped(payload)) throw notInteger;
    const { payload: inner, expiresAt } = entries.unwrap(payload);
    if (expiresAt! <= ctx.now()) throw new KeyNotFoundError(`key "${key}" not found`);
    const current = references
      ? typeof inner === 'number' && Number.isSafeInteger(inner)
        ? (inner as number)
        : undefined
      : parseIntegerPayload(inner);
    if (current === undefined)
      throw new InvalidValueError(`the value under "${key}" is not an integer`);
    const next = current + delta;
    if (!Number.isSafeInteger(next)) {
      throw new InvalidValueError(`incr of "${key}" would leave the safe integer range`);
    }
    const keepUntil = (yield (store) => store.expiry(made)) as number | null | undefined;
    if (keepUntil === undefined) throw new KeyNotFoundError(`key "${key}" not found`);
    const replacement = entries.wrap((references ? next : String(next)) as Payload, expiresAt!);
    if ((yield (store) => deleteIfValue(store, made, payload)) as boolean) {
      yield (store) => store.set(made, replacement, keepUntil);
      return next;
    }
  }
  // Contention, not a bad value: the caller may retry.
  throw new BackendError(
    `incr of "${key}": ${MAX_SWAP_ROUNDS} compare-and-swap rounds lost to concurrent writers`,
  );
}

export function* incrVersionProgram(
  view: CacheView,
  key: string,
  delta: number,
  opts: VersionOptions | undefined,
): Program<number> {
  assertDelta(delta);
  const version = opts?.version ?? view.ctx.keys.version;
  const from = view.make(key, version);
  const to = view.make(key, version + delta);
  const payload = (yield (store) => store.get(from)) as Payload | undefined;
  const expiresAt = !view.ctx.entries.isLive(payload)
    ? undefined
    : ((yield (store) => store.expiry(from)) as number | null | undefined);
  if (payload === undefined || expiresAt === undefined)
    throw new KeyNotFoundError(`key "${key}" not found (version ${version})`);
  if (delta === 0) return version;
  const moved = (yield (store) => (store.move ? store.move(from, to) : undefined)) as
    boolean | undefined;
  if (moved === false) throw new KeyNotFoundError(`key "${key}" not found (version ${version})`);
  if (moved === undefined) {
    yield (store) => store.set(to, payload, expiresAt);
    yield (store) => store.delete(from);
  }
  return version + delta;
}
