/**
 * `skycache/http`: HTTP response caching for plain node:http servers, and the framework-neutral
 * core the Fastify, Express and Hono adapters are built on.
 *
 * ```ts
 * import http from 'node:http';
 * import { cachedHandler, invalidate } from 'skycache/http';
 *
 * http.createServer(cachedHandler((req, res) => res.end(render(req)), { ttl: '60s' })).listen(3000);
 * ```
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HeaderMapView, type Exchange, type RequestView } from './exchange.js';
import { InvalidationRegistry, type InvalidateOptions } from './invalidation.js';
import { sendServed, setHeaders, watchResponse } from './node-response.js';
import type { HttpCacheOptions } from './options.js';
import { RouteCache } from './route-cache.js';

export type { CacheScope, HttpCacheOptions, MaybePromise } from './options.js';
export type { InvalidateOptions } from './invalidation.js';

/** The caches `cachedHandler` routes use in this process. */
const registry = new InvalidationRegistry();

/** A node:http request as the core sees it. The URL is the raw request target. */
export function viewOfIncomingMessage(req: IncomingMessage, route = ''): RequestView {
  return new HeaderMapView((req.method ?? 'GET').toUpperCase(), req.url ?? '/', route, req.headers);
}

/** A node:http request listener. */
export type NodeHandler = (req: IncomingMessage, res: ServerResponse) => unknown;

/**
 * Wraps a node:http request listener with response caching. GET (and HEAD, from the GET entry)
 * are cached by the route rules; POST, PUT, PATCH and DELETE pass through, and a 2xx/3xx answer
 * invalidates the cached entries of their path. The options are those of every adapter
 * ({@link HttpCacheOptions}); `userKey`, `key`, `tags` and `bypass` receive the `IncomingMessage`.
 * @throws ConfigError for invalid options
 */
export function cachedHandler(
  handler: NodeHandler,
  options: HttpCacheOptions<IncomingMessage>,
): (req: IncomingMessage, res: ServerResponse) => void {
  const route = new RouteCache(options, registry, 'cachedHandler');
  const logger = route.rules.logger;

  const run = (req: IncomingMessage, res: ServerResponse) => {
    const failed = (error: unknown) => {
      logger.error({ err: error, url: req.url }, 'skycache: the request handler failed');
      if (!res.headersSent && !res.writableEnded) {
        res.statusCode = 500;
        res.setHeader('content-type', 'text/plain; charset=utf-8');
        res.end('Internal Server Error');
      } else {
        res.destroy(error instanceof Error ? error : undefined);
      }
    };
    try {
      const result = handler(req, res);
      if (result instanceof Promise) result.catch(failed);
    } catch (error) {
      failed(error);
    }
  };

  const act = (req: IncomingMessage, res: ServerResponse, exchange: Exchange) => {
    if (exchange.kind === 'serve') return sendServed(res, exchange);
    if (exchange.kind === 'pass') setHeaders(res, exchange.headers);
    else watchResponse(res, exchange.observer);
    run(req, res);
  };

  return (req, res) => {
    const exchange = route.begin(viewOfIncomingMessage(req), req);
    // A hit from a memory cache is answered in this turn.
    if (!(exchange instanceof Promise)) return act(req, res, exchange);
    exchange.then(
      (decided) => act(req, res, decided),
      () => run(req, res),
    );
  };
}

/**
 * Removes the entries of a request path (`{ path: '/items/1' }`: every query, Vary and user
 * variant) and/or of tags (`{ tags: ['items'] }`) from every cache `cachedHandler` routes use in
 * this process (or only `{ cache }`). With a shared store (Redis, PostgreSQL, disk) that covers
 * every process.
 */
export function invalidate(options: InvalidateOptions): Promise<void> {
  return registry.invalidate(options);
}
