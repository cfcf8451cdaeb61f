/**
 * `skycache/express`: response caching as Express middleware, per route.
 *
 * ```ts
 * import { cachePage, invalidate } from 'skycache/express';
 *
 * app.get('/items', cachePage({ ttl: '60s' }), listItems);
 * app.get('/me', requireLogin, cachePage({ ttl: '30s', scope: 'user', userKey: (req) => req.user.id }), me);
 * app.post('/items', cachePage({ ttl: 0 }), createItem); // a 2xx invalidates /items
 * ```
 *
 * Place `cachePage` after the authentication middleware of the route: a hit is answered where the
 * middleware sits, so everything before it (authentication, authorization) always runs.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { HeaderMapView, type Exchange, type RequestView } from '../http/exchange.js';
import { InvalidationRegistry, type InvalidateOptions } from '../http/invalidation.js';
import { sendServed, setHeaders, watchResponse } from '../http/node-response.js';
import type { HttpCacheOptions } from '../http/options.js';
import { RouteCache } from '../http/route-cache.js';

export type { CacheScope, HttpCacheOptions, MaybePromise } from '../http/options.js';
export type { InvalidateOptions } from '../http/invalidation.js';

/** The caches `cachePage` routes use in this process. */
const registry = new InvalidationRegistry();

function viewOf(req: Request): RequestView {
  // `baseUrl` + the route's own path: the pattern under a mounted router (`/users/:id`).
  const routePath: unknown = (req.route as { path?: unknown } | undefined)?.path;
  const route = typeof routePath === 'string' ? req.baseUrl + routePath : '';
  return new HeaderMapView(req.method.toUpperCase(), req.originalUrl, route, req.headers);
}

/**
 * Records whether the `ETag` existed before `res.send` ran: if not, Express generated it (its
 * default weak ETag) and skycache replaces it with its content hash.
 */
function trackAutomaticEtag(res: Response): () => boolean {
  let hadEtag: boolean | undefined;
  const send = res.send;
  res.send = function sendTracked(this: Response, body?: unknown) {
    hadEtag ??= this.getHeader('etag') !== undefined;
    return send.call(this, body);
  } as Response['send'];
  return () => hadEtag === false && res.getHeader('etag') !== undefined;
}

/**
 * Middleware caching the route's responses by the rules of {@link HttpCacheOptions}. `userKey`,
 * `key`, `tags` and `bypass` receive the Express `Request`. Mounted on a POST, PUT, PATCH or
 * DELETE route (or with `app.use`), a 2xx/3xx answer to those methods invalidates the cached
 * entries of the request path.
 * @throws ConfigError for invalid options
 */
export function cachePage(options: HttpCacheOptions<Request>): RequestHandler {
  const route = new RouteCache(options, registry, 'express cachePage');
  const act = (res: Response, next: NextFunction, exchange: Exchange) => {
    if (exchange.kind === 'serve') return sendServed(res, exchange);
    if (exchange.kind === 'pass') setHeaders(res, exchange.headers);
    else {
      const automaticEtag = trackAutomaticEtag(res);
      watchResponse(res, exchange.observer, () => ({ automaticEtag: automaticEtag() }));
    }
    next();
  };
  return (req: Request, res: Response, next: NextFunction) => {
    const exchange = route.begin(viewOf(req), req);
    // A hit from a memory cache is answered in this turn.
    if (!(exchange instanceof Promise)) return act(res, next, exchange);
    exchange.then((decided) => act(res, next, decided), next);
  };
}

/**
 * Removes the entries of a request path (`{ path: '/items/1' }`: every query, Vary and user
 * variant) and/or of tags (`{ tags: ['items'] }`) from every cache `cachePage` routes use in this
 * process (or only `{ cache }`). With a shared store (Redis, PostgreSQL, disk) that covers every
 * process.
 */
export function invalidate(options: InvalidateOptions): Promise<void> {
  return registry.invalidate(options);
}
