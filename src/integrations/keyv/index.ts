/**
 * `skycache/keyv`: a skycache cache as a Keyv 5 storage adapter, so Keyv, cache-manager 7 and
 * NestJS's `CacheModule` get skycache's backends, operation timeouts and circuit breaker.
 *
 * ```ts
 * import Keyv from 'keyv';
 * import { createCache } from 'cache-manager';
 * import { KeyvSkycache } from 'skycache/keyv';
 *
 * const keyv = new Keyv({ store: new KeyvSkycache('redis://127.0.0.1:6379/0?keyPrefix=app') });
 * const manager = createCache({ stores: [keyv] });
 * await manager.set('user:1', user, 60_000);   // Keyv and cache-manager TTLs are MILLISECONDS
 * ```
 *
 * Targets Keyv 5 (and `@keyv/test-suite` 2.x, which it passes); Keyv 6 needs Node.js >= 22.
 * `keyv` is an optional peer dependency: this module imports only its types.
 */
import { EventEmitter } from 'node:events';
// The public entry point, not core internals: integrations program against the Cache API.
import { BackendError, caches, createCache, escapeGlob, type Cache } from '../../index.js';

/** Options of {@link KeyvSkycache}. */
export interface KeyvSkycacheOptions {
  /**
   * `false` (default): a failed call emits `error` and resolves the way Keyv's own adapters do
   * (`get` → `undefined`, `has` → `false`, `set`/`delete` → `false`), so a cache outage never
   * fails a request. `true`: the call also rejects with the skycache error (`BackendError`, …).
   */
  throwOnErrors?: boolean;
  /** How many entries the iterator reads per `getMany` round trip. Default 100. */
  iterationBatchSize?: number;
}

/** `opts` as Keyv reads it: `url` and `dialect` decide whether Keyv wires `keyv.iterator()`. */
export interface KeyvSkycacheOpts {
  /** The cache's location as a URL, password redacted (`redis://:***@host:6379/0`, `memory://name`). */
  url: string;
  /** Keyv's name for the engine: `redis`, `postgres`, `sqlite` (the disk backend), else the backend name. */
  dialect: string;
  /** Keyv and its test suite may set more (e.g. `deserialize`); the adapter ignores them. */
  [option: string]: unknown;
}

/** One entry of Keyv's `setMany`; `ttl` in milliseconds. */
export interface KeyvSkycacheEntry {
  key: string;
  value: unknown;
  ttl?: number;
}

// Keyv 5 wires `keyv.iterator()` only for these dialects (its `iterableAdapters` list); skycache's
// disk backend is SQLite, so it gets the name Keyv knows for it.
const KEYV_DIALECTS: Readonly<Record<string, string>> = {
  redis: 'redis',
  postgres: 'postgres',
  disk: 'sqlite',
};

const DEFAULT_BATCH = 100;

// skycache accepts timeouts up to 1,000 years; a longer Keyv TTL (`Number.MAX_SAFE_INTEGER` is a
// common "forever") means never expiring rather than an error.
const LONGEST_TIMEOUT_MS = 1000 * 365.25 * 24 * 3600 * 1000;

/**
 * A Keyv TTL (milliseconds) as a skycache timeout (seconds). `undefined` and `0` (which Keyv means
 * as "no TTL") leave the cache's own default `timeout` in charge; `Infinity` and anything over
 * 1,000 years never expire; a negative TTL keeps nothing, as in Keyv.
 */
export function keyvTtlToTimeout(ttlMs: number | undefined): number | null | undefined {
  if (ttlMs === undefined || ttlMs === null || ttlMs === 0) return undefined;
  if (ttlMs > LONGEST_TIMEOUT_MS) return null;
  return ttlMs / 1000;
}

function urlOf(cache: Cache): string {
  // `redactedLocation` is the location with secrets masked (the CLI shows it); without it, the
  // backend name alone is a valid URL that still tells Keyv what it talks to.
  const location = (cache as { readonly redactedLocation?: string }).redactedLocation ?? '';
  return location.includes('://') ? location : `${cache.backend}://${location}`;
}

/**
 * A Keyv 5 storage adapter over a skycache cache: `new Keyv({ store: new KeyvSkycache(target) })`.
 *
 * `target` is a `Cache`, a registry alias (`'default'`, looked up on every call, so a later
 * `initCaches` is followed) or a cache URL (`'redis://…'`, a cache this adapter creates).
 * Keys arrive from Keyv already namespaced (`keyv:foo`) and are stored as they are, under the
 * cache's own `keyPrefix` and version; `clear()` removes only the Keyv namespace when one is set
 * (else the whole cache, see `Cache.clear`). Values are what Keyv hands over (its serialized
 * envelope), stored with the cache's serializer.
 */
export class KeyvSkycache extends EventEmitter {
  /** Set by Keyv to its namespace; `clear()` and `iterator()` stay inside it. */
  namespace: string | undefined;
  readonly opts: KeyvSkycacheOpts;
  readonly #cache: () => Cache;
  readonly #throwOnErrors: boolean;
  readonly #batch: number;

  constructor(target: Cache | string, options: KeyvSkycacheOptions = {}) {
    super();
    let cache: Cache;
    if (typeof target !== 'string') {
      cache = target;
      this.#cache = () => target;
    } else if (target.includes('://')) {
      const created = createCache(target, 'keyv');
      cache = created;
      this.#cache = () => created;
    } else {
      cache = caches.get(target);
      this.#cache = () => caches.get(target);
    }
    this.opts = { url: urlOf(cache), dialect: KEYV_DIALECTS[cache.backend] ?? cache.backend };
    this.#throwOnErrors = options.throwOnErrors ?? false;
    this.#batch = Math.max(1, options.iterationBatchSize ?? DEFAULT_BATCH);
  }

  /** The skycache cache behind this adapter (for `stats()`, events, `getOrSet`…). */
  get cache(): Cache {
    return this.#cache();
  }

  async get<Value>(key: string): Promise<Value | undefined> {
    try {
      return await this.#cache().get<Value>(key);
    } catch (error) {
      return this.#failed(error, undefined);
    }
  }

  async getMany<Value>(keys: string[]): Promise<Array<Value | undefined>> {
    try {
      const found = await this.#cache().getMany<Value>(keys);
      return keys.map((key) => found.get(key));
    } catch (error) {
      return this.#failed(
        error,
        keys.map(() => undefined),
      );
    }
  }

  /** Stores `value`; `ttl` in MILLISECONDS (as Keyv passes it). @returns `false` if it failed */
  async set(key: string, value: unknown, ttl?: number): Promise<boolean> {
    try {
      await this.#cache().set(key, value, keyvTtlToTimeout(ttl));
      return true;
    } catch (error) {
      return this.#failed(error, false);
    }
  }

  /**
   * Stores every entry (one round trip per distinct TTL on network backends). Keyv 5 types this as
   * returning nothing, so entries the store could not keep are reported as one `error` event
   * (a `BackendError` naming how many) rather than returned.
   */
  async setMany(entries: KeyvSkycacheEntry[]): Promise<void> {
    const byTtl = new Map<number | undefined, Array<[string, unknown]>>();
    for (const { key, value, ttl } of entries) {
      const group = byTtl.get(ttl);
      if (group) group.push([key, value]);
      else byTtl.set(ttl, [[key, value]]);
    }
    let failed: string[];
    try {
      const cache = this.#cache();
      const lists = await Promise.all(
        [...byTtl].map(([ttl, group]) => cache.setMany(group, keyvTtlToTimeout(ttl))),
      );
      failed = lists.flat();
    } catch (error) {
      return this.#failed(error, undefined);
    }
    if (failed.length > 0) {
      this.#failed(
        new BackendError(`setMany: ${failed.length} of ${entries.length} entries were not stored`),
        undefined,
      );
    }
  }

  async delete(key: string): Promise<boolean> {
    try {
      return await this.#cache().delete(key);
    } catch (error) {
      return this.#failed(error, false);
    }
  }

  /** @returns `true` if at least one of `keys` was removed */
  async deleteMany(keys: string[]): Promise<boolean> {
    try {
      return (await this.#cache().deleteMany(keys)) > 0;
    } catch (error) {
      return this.#failed(error, false);
    }
  }

  async has(key: string): Promise<boolean> {
    try {
      return await this.#cache().has(key);
    } catch (error) {
      return this.#failed(error, false);
    }
  }

  async hasMany(keys: string[]): Promise<boolean[]> {
    try {
      const found = await this.#cache().getMany(keys);
      return keys.map((key) => found.has(key));
    } catch (error) {
      return this.#failed(
        error,
        keys.map(() => false),
      );
    }
  }

  /**
   * Removes the entries of this adapter's Keyv `namespace`; without one, everything the cache
   * holds (`Cache.clear`: its `keyPrefix`, or the whole store when the prefix is empty).
   */
  async clear(): Promise<void> {
    try {
      const cache = this.#cache();
      if (this.namespace) await cache.deletePattern(`${escapeGlob(this.namespace)}:*`);
      else await cache.clear();
    } catch (error) {
      this.#failed(error, undefined);
    }
  }

  /**
   * Yields `[key, value]` for the entries of `namespace` (every entry without one), keys as Keyv
   * stored them. Unlike the other calls, a failure rejects the iteration after emitting `error`:
   * a partial listing must not pass for a complete one.
   */
  async *iterator<Value>(namespace?: string): AsyncGenerator<[string, Value], void> {
    const cache = this.#cache();
    const pattern = namespace ? `${escapeGlob(namespace)}:*` : '*';
    try {
      let batch: string[] = [];
      for await (const key of cache.keys(pattern)) {
        batch.push(key);
        if (batch.length < this.#batch) continue;
        yield* this.#entries<Value>(cache, batch);
        batch = [];
      }
      if (batch.length > 0) yield* this.#entries<Value>(cache, batch);
    } catch (error) {
      this.#emitError(error);
      throw error;
    }
  }

  async *#entries<Value>(cache: Cache, keys: string[]): AsyncGenerator<[string, Value], void> {
    const found = await cache.getMany<Value>(keys);
    for (const [key, value] of found) yield [key, value];
  }

  /** Closes the cache's connections (a later call opens them again). */
  async disconnect(): Promise<void> {
    await this.#cache().close();
  }

  #failed<T>(error: unknown, fallback: T): T {
    this.#emitError(error);
    if (this.#throwOnErrors) throw error;
    return fallback;
  }

  // An EventEmitter throws an `error` event nobody listens to; Keyv always listens, a bare adapter
  // may not, and a cache failure must not become an exception there.
  #emitError(error: unknown): void {
    if (this.listenerCount('error') > 0) this.emit('error', error);
  }
}
