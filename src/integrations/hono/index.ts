/**
 * `skycache/hono`: response caching as Hono middleware.
 *
 * ```ts
 * import { cachePage, invalidate } from 'skycache/hono';
 *
 * app.get('/items', cachePage({ ttl: '60s' }), (c) => c.json(listItems()));
 * app.use('/api/*', cachePage({ ttl: '30s', tags: ['api'] }));
 * ```
 *
 * Place it after the authentication middleware: a hit is answered where `cachePage` sits, so
 * everything before it always runs.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import type { ContentfulStatusCode, StatusCode } from 'hono/utils/http-status';
import type {
  BodySink,
  HeadEdits,
  HeaderField,
  RequestView,
  ResponseObserver,
} from '../http/exchange.js';
import { NULL_SINK } from '../http/exchange.js';
import type { HeaderMap } from '../http/header-values.js';
import { InvalidationRegistry, type InvalidateOptions } from '../http/invalidation.js';
import type { HttpCacheOptions } from '../http/options.js';
import { RouteCache } from '../http/route-cache.js';

export type { CacheScope, HttpCacheOptions, MaybePromise } from '../http/options.js';
export type { InvalidateOptions } from '../http/invalidation.js';

/** The caches `cachePage` middleware uses in this process. */
const registry = new InvalidationRegistry();

function viewOf(c: Context): RequestView {
  const url = c.req.url;
  const pathStart = url.indexOf('/', url.indexOf('//') + 2);
  return {
    method: c.req.method.toUpperCase(),
    url: pathStart === -1 ? '/' : url.slice(pathStart),
    // The handler's pattern, also when the middleware is mounted with `app.use('*', …)`.
    route: routePath(c, -1),
    header: (name) => c.req.header(name),
  };
}

function headerMapOf(headers: Headers): HeaderMap {
  const map: Record<string, string | string[]> = {};
  for (const [name, value] of headers) if (name !== 'set-cookie') map[name] = value;
  const cookies = headers.getSetCookie();
  if (cookies.length > 0) map['set-cookie'] = cookies;
  return map;
}

function recordOf(fields: readonly HeaderField[]): Record<string, string | string[]> {
  const record: Record<string, string | string[]> = {};
  for (const [name, value] of fields) record[name] = value as string | string[];
  return record;
}

/** What `new Response()` takes as a body. */
type ResponseBody = ConstructorParameters<typeof Response>[0];

/** One read of a body stream. */
type ReadResult = Awaited<ReturnType<ReadableStreamDefaultReader<Uint8Array>['read']>>;

function edited(response: Response, edits: HeadEdits, body: ResponseBody): Response {
  const headers = new Headers(response.headers);
  for (const name of edits.remove) headers.delete(name);
  for (const [name, value] of edits.set) headers.set(name, value);
  if (edits.body !== undefined) body = edits.body;
  if (body === null || edits.status === 304) headers.delete('content-length');
  else if (body instanceof Uint8Array) headers.set('content-length', String(body.length));
  return new Response(body, { status: edits.status, statusText: response.statusText, headers });
}

const NEXT_TURN = Symbol('next turn');

/**
 * Reads what a body has ready now. A body made from a string or bytes is complete within the
 * current turn of the event loop; a streamed one is not, and is then passed on as it comes.
 */
async function readReady(
  body: ReadableStream<Uint8Array>,
  limit: number,
): Promise<{
  chunks: Uint8Array[];
  rest?: {
    reader: ReadableStreamDefaultReader<Uint8Array>;
    pending?: Promise<ReadResult>;
  };
}> {
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const pending = reader.read();
    const step = await Promise.race([
      pending,
      new Promise<typeof NEXT_TURN>((resolve) => setImmediate(resolve, NEXT_TURN)),
    ]);
    if (step === NEXT_TURN) return { chunks, rest: { reader, pending } };
    if (step.done) return { chunks };
    chunks.push(step.value);
    size += step.value.length;
    if (size > limit) return { chunks, rest: { reader } };
  }
}

/** A stream of `chunks` and then the rest of `reader`, every chunk also given to `sink`. */
function forwarded(
  chunks: Uint8Array[],
  rest: {
    reader: ReadableStreamDefaultReader<Uint8Array>;
    pending?: Promise<ReadResult>;
  },
  sink: BodySink,
): ReadableStream<Uint8Array> {
  for (const chunk of chunks)
    sink.write(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
  let pending = rest.pending;
  return new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk);
    },
    async pull(controller) {
      try {
        const step = await (pending ?? rest.reader.read());
        pending = undefined;
        if (step.done) {
          sink.end();
          controller.close();
          return;
        }
        sink.write(Buffer.from(step.value.buffer, step.value.byteOffset, step.value.byteLength));
        controller.enqueue(step.value);
      } catch (error) {
        sink.abort();
        controller.error(error);
      }
    },
    cancel(reason) {
      sink.abort();
      return rest.reader.cancel(reason);
    },
  });
}

/** Reports the handler's Response to the observer and returns the Response to send. */
async function observed(
  response: Response,
  observer: ResponseObserver,
  limit: number,
): Promise<Response> {
  const headers = headerMapOf(response.headers);
  const type = response.headers.get('content-type') ?? '';
  if (response.body === null) {
    return edited(
      response,
      await observer.complete(response.status, headers, Buffer.alloc(0)),
      null,
    );
  }
  if (!/^\s*text\/event-stream/i.test(type)) {
    const ready = await readReady(response.body, limit);
    if (!ready.rest) {
      const body = Buffer.concat(ready.chunks);
      return edited(response, await observer.complete(response.status, headers, body), body);
    }
    const { edits, sink } = observer.stream(response.status, headers);
    return edited(response, edits, forwarded(ready.chunks, ready.rest, sink));
  }
  const { edits, sink } = observer.stream(response.status, headers);
  if (sink !== NULL_SINK) sink.abort();
  return edited(response, edits, response.body);
}

/**
 * Middleware caching responses by the rules of {@link HttpCacheOptions}. `userKey`, `key`, `tags`
 * and `bypass` receive the Hono `Context`. Where it is mounted, a 2xx/3xx answer to POST, PUT,
 * PATCH or DELETE invalidates the cached entries of the request path.
 * @throws ConfigError for invalid options
 */
export function cachePage(options: HttpCacheOptions<Context>): MiddlewareHandler {
  const route = new RouteCache(options, registry, 'hono cachePage');
  return async (c, next) => {
    const exchange = await route.begin(viewOf(c), c);
    if (exchange.kind === 'serve') {
      const headers = recordOf(exchange.headers);
      const status = exchange.status as StatusCode;
      return exchange.body === null
        ? c.body(null, status, headers)
        : c.body(exchange.body as Uint8Array<ArrayBuffer>, status as ContentfulStatusCode, headers);
    }
    if (exchange.kind === 'pass') {
      await next();
      for (const [name, value] of exchange.headers) c.header(name, value);
      return;
    }
    let settled = false;
    try {
      await next();
      const response = await observed(c.res, exchange.observer, route.rules.maxBodyBytes);
      settled = true;
      // Cleared first: assigning over a response would copy its headers back onto the new one.
      c.res = undefined;
      c.res = response;
    } finally {
      if (!settled) exchange.observer.abandon();
    }
  };
}

/**
 * Removes the entries of a request path (`{ path: '/items/1' }`: every query, Vary and user
 * variant) and/or of tags (`{ tags: ['items'] }`) from every cache `cachePage` uses in this process
 * (or only `{ cache }`). With a shared store (Redis, PostgreSQL, disk) that covers every process.
 */
export function invalidate(options: InvalidateOptions): Promise<void> {
  return registry.invalidate(options);
}
