/**
 * The loading handler: `getOrSet` (and `getOrSetWithSource`) on the async API.
 *
 * One call: open the store, join or start the key's flight (one shared read, see `in-flight.ts`),
 * decide what the read means for this caller (`decisions.ts`: hit, stale window, miss), and on a
 * miss join or start the flight's one load (`load-and-store.ts`: lock, loader, timeouts, write).
 * A failing backend never fails the call: the failure is reported and the loader's value returned.
 */
import type { CacheView } from '../cache/view.js';
import {
  isOptionsObject,
  parseStoreOptions,
  type GetOrSetOptions,
  type ValueOrLoader,
} from '../cache/options.js';
import { BackendError } from '../errors.js';
import type { Payload, Store } from '../store.js';
import {
  decide,
  FAILED_READ,
  LOCK_KEY_PREFIX,
  readResult,
  staleAge,
  type LoadOutcome,
  type ReadResult,
  type Stale,
} from './decisions.js';
import type { Flight } from './in-flight.js';
import { loadAndStore, type LoadCall } from './load-and-store.js';
import { DEFAULT_LOAD_OPTIONS, delay, resolveLoadOptions } from './options.js';
import { MISS } from '../entry/format.js';

/**
 * `getOrSet`, the hot path: on a sync store with nothing to guard (memory, disk), a fresh hit is
 * read and returned without a flight, a program or an outcome object; anything else (a miss, a
 * stale or undecodable entry, a flight already running) continues on the full path with what the
 * read found, so the key is still read once.
 */
export function getOrSetValue<T>(
  view: CacheView,
  key: string,
  valueOrLoader: ValueOrLoader<T>,
  opts: GetOrSetOptions | undefined,
): Promise<T> {
  let found: unknown;
  try {
    found = readDirect(view, key, opts);
  } catch (error) {
    return Promise.reject(error);
  }
  if (!(found instanceof Continue)) return Promise.resolve(found as T);
  return getOrSetWithSource(view, key, valueOrLoader, opts, found.read).then(valueOf);
}

/** `getOrSetWithSource` with the same direct read of a sync store as {@link getOrSetValue}. */
export function getOrSetOutcome<T>(
  view: CacheView,
  key: string,
  valueOrLoader: ValueOrLoader<T>,
  opts: GetOrSetOptions | undefined,
): Promise<LoadOutcome<T>> {
  let found: unknown;
  try {
    found = readDirect(view, key, opts);
  } catch (error) {
    return Promise.reject(error);
  }
  if (!(found instanceof Continue)) return Promise.resolve({ value: found as T, source: 'hit' });
  return getOrSetWithSource(view, key, valueOrLoader, opts, found.read);
}

function valueOf<T>(outcome: LoadOutcome<T>): T {
  return outcome.value;
}

/** Where the full path continues: with what a direct read found, or reading itself (`undefined`). */
class Continue {
  constructor(readonly read: ReadResult | undefined) {}
}

/** No direct read (the store is not an open sync store, or the key's flight runs): join the full path. */
const FULL_PATH = new Continue(undefined);

/**
 * A fresh hit read straight from an open sync store with nothing to guard, or a {@link Continue}.
 * A fresh hit is a hit whatever the load options say (locks and stale windows only matter on a
 * miss), so an options object is only validated here, as the full path would.
 * @throws what the options' validation or key making throws
 */
function readDirect(view: CacheView, key: string, opts: GetOrSetOptions | undefined): unknown {
  const ctx = view.ctx;
  const store = ctx.handle.current;
  if (store === undefined || !store.capabilities.sync || !ctx.direct) return FULL_PATH;
  let version: number | undefined;
  if (isOptionsObject(opts)) {
    ctx.expiry(opts.timeout);
    resolveLoadOptions(opts, ctx.config.defaultTimeoutMs);
    version = opts.version;
  } else {
    ctx.expiry(opts);
  }
  return readSync(view, store, key, version);
}

/** A direct read of a sync store: the fresh value, or how the full path continues. */
function readSync(
  view: CacheView,
  store: Store,
  key: string,
  version: number | undefined,
): unknown {
  const ctx = view.ctx;
  const hint = view.hintFor(key, version, store);
  const made = hint?.made ?? view.make(key, version);
  if (ctx.stateOf(store).loads.has(made)) return FULL_PATH;
  let payload: Payload | undefined;
  let tier: 'l1' | 'l2' | undefined;
  try {
    payload = store.get(made, hint) as Payload | undefined;
    tier = store.lastTier;
  } catch {
    // The full path reads again, through the guard, and reports the failure.
    return FULL_PATH;
  }
  if (payload === undefined) return new Continue({ entry: undefined, found: false, failed: false });
  const entries = ctx.entries;
  if (entries.references ? entries.isBareReference(payload) : !entries.isWrapped(payload)) {
    const value = entries.references ? payload : entries.decode(payload, key, made, 'getOrSet');
    if (value === MISS) return new Continue({ entry: undefined, found: true, failed: false });
    ctx.observer.hit(key, made, tier);
    return value;
  }
  const read = readResult(ctx, payload, key, made);
  const decision = decide(read, ctx.now());
  if (!decision.hit) return new Continue(read);
  ctx.observer.hit(key, made, tier);
  return decision.value;
}

/**
 * `getOrSet` with where its value came from. `preread`: what a direct read of a sync store found
 * (the caller made sure no flight ran for the key), so the flight does not read again.
 */
export async function getOrSetWithSource<T>(
  view: CacheView,
  key: string,
  valueOrLoader: ValueOrLoader<T>,
  opts: GetOrSetOptions | undefined,
  preread?: ReadResult,
): Promise<LoadOutcome<T>> {
  const { ctx } = view;
  const { timeout, version } = parseStoreOptions(opts);
  const resolved = ctx.expiry(timeout);
  const load = isOptionsObject(opts)
    ? resolveLoadOptions(opts, ctx.config.defaultTimeoutMs)
    : DEFAULT_LOAD_OPTIONS;
  if (ctx.keys.pending) await ctx.keys.load();
  const made = view.make(key, version);
  const lockMade = load.lock ? view.make(LOCK_KEY_PREFIX + key, version) : '';

  // An open store is used at once: callers of a sync store enter the flight in the same tick.
  let store = ctx.handle.current;
  if (store === undefined) {
    try {
      store = await ctx.open('getOrSet');
    } catch (error) {
      if (!(error instanceof BackendError)) throw error;
      ctx.observer.error(error, 'getOrSet', key, made);
    }
  }
  const call: LoadCall<T> = { view, store, key, made, lockMade, valueOrLoader, resolved, load };
  const loads = ctx.stateOf(store).loads;
  const flight = loads.enter<ReadResult, LoadOutcome<unknown>>(made, () =>
    preread ? Promise.resolve(preread) : readOnce(call),
  );
  let decided = false;
  try {
    const read = await flight.read;
    const outcome = decideAndLoad(call, flight, read);
    loads.decided(made, flight);
    decided = true;
    return await outcome;
  } finally {
    if (!decided) loads.decided(made, flight);
  }
}

/** The flight's one read. Never rejects: a failed read is reported and treated as a miss. */
async function readOnce(call: LoadCall<unknown>): Promise<ReadResult> {
  const { view, store, key, made } = call;
  if (!store) return FAILED_READ;
  try {
    const reading = view.ctx.guard.call(store, 'getOrSet', (s) => s.get(made));
    const tier = store.lastTier;
    const payload = (await reading) as Payload | undefined;
    const read = readResult(view.ctx, payload, key, made);
    return tier === undefined ? read : { ...read, tier };
  } catch (error) {
    view.ctx.observer.error(error, 'getOrSet', key, made);
    return FAILED_READ;
  }
}

/**
 * This caller's decision on the shared read. Synchronous up to the returned promise, so the
 * flight's load is registered before the caller leaves the flight.
 */
function decideAndLoad<T>(
  call: LoadCall<T>,
  flight: Flight<ReadResult, LoadOutcome<unknown>>,
  read: ReadResult,
): Promise<LoadOutcome<T>> {
  const { view, store, key, made, load } = call;
  const { ctx } = view;
  const now = ctx.now();
  const decision = decide(read, now);
  if (decision.hit) {
    ctx.observer.hit(key, made, read.tier);
    return Promise.resolve({ value: decision.value as T, source: 'hit' });
  }
  if (flight.load && flight.valueReady) {
    // The loader has returned and its value is being stored: it was there when this caller
    // asked, so this is a hit, not a caller that waited for a load.
    ctx.observer.hit(key, made);
    return (flight.load as Promise<LoadOutcome<T>>).then((outcome) => ({
      value: outcome.value,
      source: outcome.source === 'stale' ? 'stale' : 'hit',
    }));
  }
  ctx.observer.miss(key, made);
  const loads = ctx.stateOf(store).loads;
  const { stale } = decision;
  const age = staleAge(stale, now);
  if (store && stale && age <= load.staleWhileRevalidateMs) {
    // Serve the stale value now; one background refresh per store and key.
    ctx.observer.stale(key, made, 'revalidate');
    if (!loads.refreshing(made) && !flight.load) {
      loads.startRefresh(made, loadAndStore(call, read), (error) =>
        ctx.observer.error(error, 'getOrSet', key, made),
      );
    }
    return Promise.resolve({ value: stale.value as T, source: 'stale' });
  }
  const refreshing = loads.refreshing(made) as Promise<LoadOutcome<T>> | undefined;
  if (refreshing && stale) return joinRefresh(call, refreshing, stale, age);
  if (flight.load) return joined(flight.load as Promise<LoadOutcome<T>>);
  const loaded = () => {
    flight.valueReady = true;
  };
  const started = loadAndStore({ ...call, loaded }, read);
  loads.startLoad(made, flight, started);
  return started;
}

/** A caller that shared another caller's load: `'joined'`, or `'stale'` if a stale value was the answer. */
function joined<T>(load: Promise<LoadOutcome<T>>): Promise<LoadOutcome<T>> {
  return load.then(joinedOutcome);
}

/**
 * A caller holding a stale value while a background load for the key runs (after another caller's
 * soft timeout): wait for it within this call's own soft timeout, or fall back to the stale value
 * if it fails within this call's `staleIfError` window.
 */
async function joinRefresh<T>(
  call: LoadCall<T>,
  refreshing: Promise<LoadOutcome<T>>,
  stale: Stale,
  age: number,
): Promise<LoadOutcome<T>> {
  const { view, key, made, load } = call;
  const observer = view.ctx.observer;
  try {
    if (load.softTimeoutMs !== undefined && age <= load.keepStaleMs) {
      const first = await Promise.race([
        refreshing.then((loaded) => ({ loaded })),
        delay(load.softTimeoutMs),
      ]);
      if (first !== undefined) return joinedOutcome(first.loaded);
      observer.stale(key, made, 'soft-timeout');
      return { value: stale.value as T, source: 'stale' };
    }
    return joinedOutcome(await refreshing);
  } catch (error) {
    if (age <= load.staleIfErrorMs) {
      observer.stale(key, made, 'error');
      return { value: stale.value as T, source: 'stale' };
    }
    throw error;
  }
}

function joinedOutcome<T>(outcome: LoadOutcome<T>): LoadOutcome<T> {
  return { value: outcome.value, source: outcome.source === 'stale' ? 'stale' : 'joined' };
}
