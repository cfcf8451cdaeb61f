/**
 * Where HTTP entries live in a cache, and how they are invalidated.
 *
 * Layout: every entry is in the namespace `skycache-http:p<hash of the request path>`, so
 * `invalidate({ path })` is one namespace `clear()` (all query, Vary and user variants at once, in
 * every process sharing the store, and it still works with `hashKeys`, which keeps namespaces
 * visible). Route tags are the core's tags (the entry is stored with `tags`), so
 * `invalidate({ tags })` is `deleteByTag`: every entry stored with one of them before the call is
 * absent from then on, across processes, without a scan, and never becomes servable again (not when
 * a tag's record is evicted or cleared). The app's own `cache.deleteByTag('products')` reaches the
 * pages tagged `products` too.
 */
import type { Cache } from '../../core/cache.js';
import { BackendError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { caches } from '../../core/registry.js';
import { digest, normalizePath, splitTarget } from './request-key.js';

/** The namespace of every HTTP entry. */
export const HTTP_NAMESPACE = 'skycache-http';

/** What `invalidate` takes. */
export interface InvalidateOptions {
  /** Remove every entry carrying any of these tags. */
  tags?: readonly string[];
  /** Remove every entry of this request path (all query, Vary and user variants); a query part is ignored. */
  path?: string;
  /** Only this cache (or alias); default every cache the adapter's routes use in this process. */
  cache?: Cache | string;
}

/** The cache a route names: an alias is looked up on every use, so `initCaches` is followed. */
export function resolveCache(target: Cache | string | undefined): Cache {
  if (target === undefined) return caches.get('default');
  return typeof target === 'string' ? caches.get(target) : target;
}

const VIEW_MEMO_LIMIT = 1024;

/** Namespace views per cache: the HTTP namespace, and recently used path namespaces. */
const views = new WeakMap<Cache, { root: Cache; paths: Map<string, Cache> }>();

function viewsOf(cache: Cache): { root: Cache; paths: Map<string, Cache> } {
  let found = views.get(cache);
  if (!found)
    views.set(cache, (found = { root: cache.namespace(HTTP_NAMESPACE), paths: new Map() }));
  return found;
}

/** The namespace holding the entries of one request path (already normalized). */
export function pathView(cache: Cache, normalizedPath: string): Cache {
  const { root, paths } = viewsOf(cache);
  let view = paths.get(normalizedPath);
  if (!view) {
    view = root.namespace(`p${digest(normalizedPath).slice(0, 22)}`);
    if (normalizedPath.length <= 512) {
      if (paths.size >= VIEW_MEMO_LIMIT) paths.clear();
      paths.set(normalizedPath, view);
    }
  }
  return view;
}

/** Invalidates `path` and/or `tags` in one cache; rejects if any part failed. */
async function invalidateOne(
  cache: Cache,
  path: string | undefined,
  tags: readonly string[],
): Promise<void> {
  const work: Array<Promise<unknown>> = [];
  if (path !== undefined) work.push(pathView(cache, path).clear());
  if (tags.length > 0) work.push(cache.deleteByTag(tags));
  const results = await Promise.allSettled(work);
  for (const result of results) if (result.status === 'rejected') throw result.reason;
}

/** Caches whose `close()` was called and that no route has used since. */
const closedCaches = new WeakSet<Cache>();
/** Caches whose `close()` is watched. */
const watchedCaches = new WeakSet<Cache>();
/** How many `close()` calls of watched caches there have been: lets `use` skip its checks. */
let closes = 0;

/**
 * Notes when `cache` is closed, so that invalidation forgets it instead of opening its store again
 * (a closed cache reopens on its next operation, which for a dead server means an error and a
 * connection nobody closes). The Cache API has no "closed" flag to ask, so the instance's own
 * `close` is wrapped, once.
 */
function watchClose(cache: Cache): void {
  if (watchedCaches.has(cache)) return;
  watchedCaches.add(cache);
  const close = cache.close;
  Object.defineProperty(cache, 'close', {
    configurable: true,
    writable: true,
    value: function closeWatched(this: Cache): Promise<void> {
      closedCaches.add(cache);
      closes++;
      return close.call(this);
    },
  });
}

/**
 * The caches an adapter's routes use in this process, and the invalidation over them. Aliases are
 * kept as names and resolved when invalidating, so a later `initCaches` is followed.
 */
export class InvalidationRegistry {
  readonly #targets = new Set<Cache | string | undefined>();
  /** The cache `use` saw last, and {@link closes} then: nothing to do while both stay. */
  #lastUsed: Cache | undefined;
  #closesSeen = -1;
  /** How many invalidations this registry started: routes forget what they knew of entries. */
  invalidations = 0;

  /** Remembers a cache a route uses (`undefined`: the default cache). */
  track(target: Cache | string | undefined): void {
    this.#targets.add(target);
    if (typeof target === 'object') watchClose(target);
  }

  /** A route is using `cache` (again): it is open, and invalidated from now on. */
  use(cache: Cache): void {
    // Called on every request: the same cache, with no close since, is open and watched.
    if (cache === this.#lastUsed && closes === this.#closesSeen) return;
    if (!watchedCaches.has(cache)) watchClose(cache);
    else closedCaches.delete(cache);
    this.#lastUsed = cache;
    this.#closesSeen = closes;
  }

  #caches(only: Cache | string | undefined): Cache[] {
    if (only !== undefined) return [resolveCache(only)];
    const found = new Set<Cache>();
    for (const target of this.#targets) {
      // A tracked alias that is not configured (any more) holds nothing to invalidate.
      if (typeof target === 'string' && !caches.has(target)) continue;
      const cache = resolveCache(target);
      if (!closedCaches.has(cache)) found.add(cache);
    }
    return [...found];
  }

  /**
   * Removes the entries of `path` and/or of `tags` from every cache (or only `options.cache`).
   * Every cache is attempted, whatever happens to the others.
   * @throws BackendError afterwards, naming every cache that failed (`cause`: the failure, or an
   *   AggregateError of them); the other caches are invalidated all the same
   */
  async invalidate(options: InvalidateOptions): Promise<void> {
    const tags = options.tags ?? [];
    if (!Array.isArray(tags) || tags.some((tag) => typeof tag !== 'string' || tag === '')) {
      throw new TypeError('invalidate: tags must be an array of non-empty strings');
    }
    if (options.path !== undefined && typeof options.path !== 'string') {
      throw new TypeError('invalidate: path must be a string');
    }
    const path =
      options.path === undefined ? undefined : normalizePath(splitTarget(options.path).path);
    this.invalidations++;
    const targets = this.#caches(options.cache);
    const results = await Promise.allSettled(
      targets.map((cache) => invalidateOne(cache, path, tags)),
    );
    const failed: string[] = [];
    const errors: unknown[] = [];
    results.forEach((result, index) => {
      if (result.status === 'fulfilled') return;
      failed.push(JSON.stringify(targets[index]!.alias));
      errors.push(result.reason);
    });
    if (errors.length === 0) return;
    throw new BackendError(
      `invalidate: ${errors.length} of ${targets.length} caches failed (${failed.join(', ')}); ` +
        'the others were invalidated',
      {
        cause:
          errors.length === 1
            ? errors[0]
            : new AggregateError(errors, 'invalidation failed on several caches'),
      },
    );
  }

  /** Invalidates a request path after a successful unsafe request; failures are logged, not thrown. */
  async invalidatePathQuietly(url: string, logger: Logger): Promise<void> {
    try {
      await this.invalidate({ path: url });
    } catch (error) {
      logger.warn({ err: error, url }, 'skycache: invalidating the cached path failed');
    }
  }
}
