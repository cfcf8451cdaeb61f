/**
 * `skycache/fastify`: response caching as a Fastify plugin, opted into per route.
 *
 * ```ts
 * import skycache from 'skycache/fastify';
 *
 * await app.register(skycache, { cache: 'pages' });             // defaults for every route
 * app.get('/items', { config: { cache: { ttl: '60s' } } }, listItems);
 * app.post('/items', createItem);                               // a 2xx invalidates /items
 * await app.skycache.invalidate({ tags: ['items'] });
 * ```
 *
 * The lookup runs in the route's `preHandler`, after every `onRequest`, `preValidation` and
 * `preHandler` hook of the application and the route's own, so a hit never skips authentication
 * or authorization. Register the plugin before the routes it should see.
 */
import { Transform, type Readable } from 'node:stream';
import type {
  FastifyPluginAsync,
  FastifyReply,
  FastifyRequest,
  onSendHookHandler,
  preHandlerHookHandler,
} from 'fastify';
import fp from 'fastify-plugin';
import {
  HeaderMapView,
  NULL_SINK,
  type Exchange,
  type HeadEdits,
  type HeaderField,
  type HeaderPair,
  type ResponseObserver,
} from '../http/exchange.js';
import { InvalidationRegistry, type InvalidateOptions } from '../http/invalidation.js';
import type { HttpCacheOptions } from '../http/options.js';
import { invalidatesPath } from '../http/response-rules.js';
import { RouteCache } from '../http/route-cache.js';

export type { CacheScope, HttpCacheOptions, MaybePromise } from '../http/options.js';
export type { InvalidateOptions } from '../http/invalidation.js';

/** A route's `config.cache`: route options, over the plugin's defaults (`ttl` may come from them). */
export type FastifyRouteCacheOptions = Partial<HttpCacheOptions<FastifyRequest>>;

/** The plugin's options: `cache` and defaults for every cached route. */
export type SkycacheFastifyOptions = Partial<HttpCacheOptions<FastifyRequest>>;

/** What the plugin decorates the instance with. */
export interface SkycacheFastifyDecorator {
  /**
   * Removes the entries of a request path (every query, Vary and user variant) and/or of tags from
   * every cache this instance's routes use (or only `{ cache }`).
   */
  invalidate(options: InvalidateOptions): Promise<void>;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** skycache route options (or `true` for the plugin's defaults). */
    cache?: FastifyRouteCacheOptions | true;
  }
  interface FastifyInstance {
    skycache: SkycacheFastifyDecorator;
  }
}

const UNSAFE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Sets headers given once per name (a repeated header with its values). */
function setFields(reply: FastifyReply, fields: readonly HeaderField[]): void {
  for (let i = 0; i < fields.length; i++) {
    const field = fields[i]!;
    reply.header(field[0], field[1]);
  }
}

/** Sets header pairs; a name given several times goes out as one field line per value. */
function setHeaders(reply: FastifyReply, pairs: readonly HeaderPair[]): void {
  for (let i = 0; i < pairs.length; i++) {
    const [name, value] = pairs[i]!;
    let values: string[] | undefined;
    let repeated = false;
    for (let j = 0; j < pairs.length; j++) {
      if (pairs[j]![0] !== name) continue;
      if (j < i) repeated = true;
      else if (j > i) (values ??= [value]).push(pairs[j]![1]);
    }
    // A repeated header goes out as one field line per value, as the handler sent it.
    if (!repeated) reply.header(name, values ?? value);
  }
}

function applyEdits(reply: FastifyReply, edits: HeadEdits): void {
  if (edits.status !== reply.statusCode) reply.code(edits.status);
  for (const name of edits.remove) reply.removeHeader(name);
  setHeaders(reply, edits.set);
}

function isNodeStream(payload: unknown): payload is Readable {
  return typeof (payload as Readable | null)?.pipe === 'function';
}

/** Feeds a streamed payload to the observer's sink on its way out. */
function tapped(
  payload: Readable,
  sink: ReturnType<ResponseObserver['stream']>['sink'],
): Transform {
  let ended = false;
  const tap = new Transform({
    transform(chunk: Buffer | string, _encoding, callback) {
      sink.write(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
      callback(null, chunk);
    },
    flush(callback) {
      ended = true;
      sink.end();
      callback();
    },
  });
  payload.on('error', (error) => tap.destroy(error));
  tap.on('close', () => {
    if (!ended) sink.abort();
  });
  return payload.pipe(tap);
}

const plugin: FastifyPluginAsync<SkycacheFastifyOptions> = async (app, options) => {
  const defaults: SkycacheFastifyOptions = { ...options };
  const registry = new InvalidationRegistry();
  registry.track(defaults.cache);
  /** Per route config object: a GET route and its automatic HEAD route share one. */
  const routes = new WeakMap<object, RouteCache<FastifyRequest>>();
  /** Requests whose response is being watched. */
  const observers = new WeakMap<FastifyRequest, ResponseObserver>();

  app.decorate('skycache', {
    invalidate: (invalidateOptions: InvalidateOptions) => registry.invalidate(invalidateOptions),
  } satisfies SkycacheFastifyDecorator);

  /** Reports the handler's payload to the observer; the edited payload goes out. */
  const observe = async (
    observer: ResponseObserver,
    reply: FastifyReply,
    payload: unknown,
  ): Promise<unknown> => {
    if (
      payload === undefined ||
      payload === null ||
      typeof payload === 'string' ||
      Buffer.isBuffer(payload)
    ) {
      const body =
        payload === undefined || payload === null
          ? Buffer.alloc(0)
          : typeof payload === 'string'
            ? Buffer.from(payload)
            : payload;
      const edits = await observer.complete(reply.statusCode, reply.getHeaders(), body);
      applyEdits(reply, edits);
      return edits.body === undefined ? payload : edits.body;
    }
    if (isNodeStream(payload)) {
      const { edits, sink } = observer.stream(reply.statusCode, reply.getHeaders());
      applyEdits(reply, edits);
      return sink === NULL_SINK ? payload : tapped(payload, sink);
    }
    // A web stream or a Response: served as is, not stored.
    observer.abandon();
    return payload;
  };

  // Callback style: hits and bypasses (nothing to observe) pay no Promise here.
  const onSend: onSendHookHandler = (request, reply, payload, done) => {
    const observer = observers.get(request);
    if (!observer) return done(null, payload);
    observers.delete(request);
    observe(observer, reply, payload).then(
      (out) => done(null, out),
      (error: Error) => done(error),
    );
  };

  const invalidateOnWrite: onSendHookHandler = async (request, reply, payload) => {
    if (invalidatesPath(request.method, reply.statusCode)) {
      // Before the response goes out, so a client that reads right after its write sees the change.
      await registry.invalidatePathQuietly(request.url, request.log);
    }
    return payload;
  };

  /** Acts on the lookup's answer: sends a hit, or lets the handler run (`done`). */
  const act = (
    request: FastifyRequest,
    reply: FastifyReply,
    exchange: Exchange,
    done: (error?: Error) => void,
  ): void => {
    if (exchange.kind === 'serve') {
      if (reply.statusCode !== exchange.status) reply.code(exchange.status);
      setFields(reply, exchange.headers);
      // HEAD: Fastify's HEAD route sends the headers with this body's length, and no body.
      reply.send(exchange.body ?? undefined);
      return;
    }
    if (exchange.kind === 'pass') {
      setHeaders(reply, exchange.headers);
      return done();
    }
    const observer = exchange.observer;
    observers.set(request, observer);
    reply.raw.once('close', () => {
      // No onSend came (the client left, or a hook failed before sending).
      if (observers.delete(request)) observer.abandon();
    });
    done();
  };

  const preHandlerFor = (route: RouteCache<FastifyRequest>): preHandlerHookHandler => {
    // The route's pattern, read once: `request.routeOptions` builds a new object on every access.
    let pattern: string | undefined;
    // Callback style: a hit from a memory cache is sent in this turn, without a Promise.
    return function skycacheLookup(request, reply, done) {
      pattern ??= request.routeOptions.url ?? '';
      const view = new HeaderMapView(
        request.method.toUpperCase(),
        request.url,
        pattern,
        request.headers,
      );
      const exchange = route.begin(view, request, request.log);
      if (!(exchange instanceof Promise)) return act(request, reply, exchange, done);
      exchange.then(
        (decided) => {
          try {
            act(request, reply, decided, done);
          } catch (error) {
            done(error as Error);
          }
        },
        (error: Error) => done(error),
      );
    };
  };

  app.addHook('onRoute', (routeOptions) => {
    const config: unknown = routeOptions.config?.cache;
    const methods = [routeOptions.method].flat().map((method) => method.toUpperCase());
    if (config !== undefined && config !== false && routeOptions.config) {
      let route = routes.get(routeOptions.config);
      if (!route) {
        const own = config === true ? {} : (config as FastifyRouteCacheOptions);
        route = new RouteCache<FastifyRequest>(
          { ...defaults, ...own } as HttpCacheOptions<FastifyRequest>,
          registry,
          `fastify route ${methods.join(',')} ${routeOptions.url}`,
        );
        routes.set(routeOptions.config, route);
      }
      // Appended: route-level hooks run after the application's, so authentication comes first.
      routeOptions.preHandler = [...[routeOptions.preHandler ?? []].flat(), preHandlerFor(route)];
      routeOptions.onSend = [...[routeOptions.onSend ?? []].flat(), onSend];
    } else if (methods.some((method) => UNSAFE_METHODS.has(method))) {
      routeOptions.onSend = [...[routeOptions.onSend ?? []].flat(), invalidateOnWrite];
    }
  });
};

/** The skycache Fastify plugin (wrapped with fastify-plugin: its decorator and hooks are not encapsulated). */
const skycache = fp(plugin, { fastify: '5.x', name: 'skycache' });
export default skycache;
