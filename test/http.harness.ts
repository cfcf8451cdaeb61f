/**
 * One way to describe a test app for every adapter: routes with framework-neutral handlers and
 * cache options, started as a real Fastify, Express, Hono or node:http server on a loopback port.
 * Each harness puts a stand-in authentication step where that framework runs it (a Fastify
 * application `preHandler` hook, an Express/Hono middleware before `cachePage`, a check before
 * `cachedHandler`): `Authorization: Bearer <name>` logs in as `<name>`, `Bearer mallory` is
 * refused with 403.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { serve } from '@hono/node-server';
import express, {
  type NextFunction,
  type Request,
  type Response as ExpressResponse,
} from 'express';
import Fastify, { type FastifyRequest } from 'fastify';
import { Hono, type Context } from 'hono';
import type { Cache } from '../src/index.js';
import { silentLogger } from '../src/core/logger.js';
import * as expressCache from '../src/integrations/express/index.js';
import skycacheFastify from '../src/integrations/fastify/index.js';
import * as honoCache from '../src/integrations/hono/index.js';
import * as nodeCache from '../src/integrations/http/index.js';
import type { HttpCacheOptions, InvalidateOptions } from '../src/integrations/http/index.js';

/** What a test handler and the route callbacks see of a request. */
export interface AppRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: Readonly<Record<string, string | undefined>>;
  /** Set by the authentication step. */
  readonly user: string | undefined;
}

/** What a test handler answers. */
export interface AppResponse {
  status?: number;
  headers?: Record<string, string | string[]>;
  body?: string;
  /** A streamed body: these chunks, `chunkDelayMs` apart. */
  chunks?: string[];
  chunkDelayMs?: number;
  /** Throw instead of answering (the framework's error handling answers 500). */
  fail?: boolean;
}

export type AppHandler = (request: AppRequest) => AppResponse | Promise<AppResponse>;

/** Route options with the callbacks taking an {@link AppRequest}. */
export type RouteCacheSpec = Omit<
  HttpCacheOptions<AppRequest>,
  'userKey' | 'key' | 'tags' | 'bypass'
> & {
  userKey?: (request: AppRequest) => string | undefined;
  key?: (request: AppRequest) => string;
  tags?: readonly string[] | ((request: AppRequest) => readonly string[]);
  bypass?: (request: AppRequest) => boolean;
};

export interface RouteSpec {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** A pattern with `:param` segments. */
  path: string;
  /** Omitted: the route is not cached (unsafe-method routes still invalidate on Fastify). */
  cache?: RouteCacheSpec;
  handler: AppHandler;
}

export interface TestServer {
  readonly url: string;
  /** The adapter's `invalidate`. */
  invalidate(options: InvalidateOptions): Promise<void>;
  close(): Promise<void>;
}

export interface Harness {
  readonly name: string;
  /** Starts the routes; `cache` is the default `cache` option of every cached route. */
  start(routes: RouteSpec[], cache: Cache): Promise<TestServer>;
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function userFrom(authorization: string | undefined): string | undefined {
  const match = /^Bearer (\w+)$/.exec(authorization ?? '');
  return match?.[1];
}

function plainHeaders(headers: IncomingMessage['headers']): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(headers)) {
    out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

/** The route options for an adapter: callbacks translated, the test cache filled in, quiet logs. */
function adaptOptions<Req>(
  spec: RouteCacheSpec,
  cache: Cache,
  toApp: (request: Req) => AppRequest,
): HttpCacheOptions<Req> {
  const { userKey, key, tags, bypass, ...rest } = spec;
  const options: HttpCacheOptions<Req> = { cache, logger: silentLogger, ...rest };
  if (userKey) options.userKey = (request) => userKey(toApp(request));
  if (key) options.key = (request) => key(toApp(request));
  if (bypass) options.bypass = (request) => bypass(toApp(request));
  if (typeof tags === 'function') options.tags = (request) => tags(toApp(request));
  else if (tags) options.tags = tags;
  return options;
}

async function* chunksOf(response: AppResponse): AsyncGenerator<string> {
  for (const chunk of response.chunks ?? []) {
    yield chunk;
    if (response.chunkDelayMs) await delay(response.chunkDelayMs);
  }
}

function urlOf(server: Server): string {
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}

// ---- Fastify ---------------------------------------------------------------------------------

const fastifyUsers = new WeakMap<FastifyRequest, string>();

export const fastifyHarness: Harness = {
  name: 'fastify',
  async start(routes, cache) {
    const app = Fastify();
    await app.register(skycacheFastify, { cache });
    // An application preHandler registered after the plugin: the lookup must still run after it.
    app.addHook('preHandler', async (request, reply) => {
      const user = userFrom(request.headers.authorization);
      if (user === 'mallory') return reply.code(403).send('forbidden');
      if (user) fastifyUsers.set(request, user);
    });
    const toApp = (request: FastifyRequest): AppRequest => ({
      method: request.method,
      url: request.url,
      headers: plainHeaders(request.headers),
      user: fastifyUsers.get(request),
    });
    for (const route of routes) {
      app.route({
        method: route.method ?? 'GET',
        url: route.path,
        config: route.cache
          ? { cache: adaptOptions<FastifyRequest>(route.cache, cache, toApp) }
          : {},
        handler: async (request, reply) => {
          const response = await route.handler(toApp(request));
          if (response.fail) throw new Error('handler failed');
          reply.code(response.status ?? 200);
          for (const [name, value] of Object.entries(response.headers ?? {}))
            reply.header(name, value);
          if (response.chunks) return reply.send(Readable.from(chunksOf(response)));
          return reply.send(response.body ?? '');
        },
      });
    }
    await app.listen({ port: 0, host: '127.0.0.1' });
    return {
      url: urlOf(app.server),
      invalidate: (options) => app.skycache.invalidate(options),
      close: () => app.close(),
    };
  },
};

// ---- Express ---------------------------------------------------------------------------------

const expressUsers = new WeakMap<Request, string>();

export const expressHarness: Harness = {
  name: 'express',
  async start(routes, cache) {
    const app = express();
    const authenticate = (req: Request, res: ExpressResponse, next: NextFunction) => {
      const user = userFrom(req.headers.authorization);
      if (user === 'mallory') return void res.status(403).send('forbidden');
      if (user) expressUsers.set(req, user);
      next();
    };
    const toApp = (req: Request): AppRequest => ({
      method: req.method,
      url: req.originalUrl,
      headers: plainHeaders(req.headers),
      user: expressUsers.get(req),
    });
    for (const route of routes) {
      const method = (route.method ?? 'GET').toLowerCase() as
        'get' | 'post' | 'put' | 'patch' | 'delete';
      const handler = async (req: Request, res: ExpressResponse, next: NextFunction) => {
        try {
          const response = await route.handler(toApp(req));
          if (response.fail) throw new Error('handler failed');
          res.status(response.status ?? 200);
          for (const [name, value] of Object.entries(response.headers ?? {})) res.set(name, value);
          if (!response.chunks) return void res.send(response.body ?? '');
          for await (const chunk of chunksOf(response)) res.write(chunk);
          res.end();
        } catch (error) {
          next(error);
        }
      };
      if (route.cache) {
        app[method](
          route.path,
          authenticate,
          expressCache.cachePage(adaptOptions<Request>(route.cache, cache, toApp)),
          handler,
        );
      } else {
        app[method](route.path, authenticate, handler);
      }
    }
    // Quiet error handler (the default one logs the stack to stderr).
    app.use((_error: unknown, _req: Request, res: ExpressResponse, _next: NextFunction) => {
      res.status(500).send('Internal Server Error');
    });
    const server = createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return {
      url: urlOf(server),
      invalidate: (options) => expressCache.invalidate(options),
      close: () => closeServer(server),
    };
  },
};

// ---- Hono ------------------------------------------------------------------------------------

export const honoHarness: Harness = {
  name: 'hono',
  async start(routes, cache) {
    const app = new Hono<{ Variables: { user: string | undefined } }>();
    const toApp = (c: Context): AppRequest => {
      const url = new URL(c.req.url);
      return {
        method: c.req.method,
        url: url.pathname + url.search,
        headers: c.req.header(),
        user: c.get('user') as string | undefined,
      };
    };
    const authenticate = async (c: Context, next: () => Promise<void>) => {
      const user = userFrom(c.req.header('authorization'));
      if (user === 'mallory') return c.text('forbidden', 403);
      c.set('user', user);
      await next();
    };
    app.onError((_error, c) => c.text('Internal Server Error', 500));
    for (const route of routes) {
      const handler = async (c: Context) => {
        const response = await route.handler(toApp(c));
        if (response.fail) throw new Error('handler failed');
        const headers = new Headers();
        for (const [name, value] of Object.entries(response.headers ?? {})) {
          for (const one of [value].flat()) headers.append(name, one);
        }
        if (!response.chunks)
          return new Response(response.body ?? '', { status: response.status ?? 200, headers });
        const iterator = chunksOf(response);
        const body = new ReadableStream<Uint8Array>({
          async pull(controller) {
            const step = await iterator.next();
            if (step.done) controller.close();
            else controller.enqueue(new TextEncoder().encode(step.value));
          },
        });
        return new Response(body, { status: response.status ?? 200, headers });
      };
      const method = route.method ?? 'GET';
      if (route.cache) {
        app.on(
          method,
          route.path,
          authenticate,
          honoCache.cachePage(adaptOptions<Context>(route.cache, cache, toApp)),
          handler,
        );
      } else {
        app.on(method, route.path, authenticate, handler);
      }
    }
    const server = await new Promise<Server>((resolve) => {
      const started = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () =>
        resolve(started as Server),
      );
    });
    return {
      url: urlOf(server),
      invalidate: (options) => honoCache.invalidate(options),
      close: () => closeServer(server),
    };
  },
};

// ---- node:http -------------------------------------------------------------------------------

const nodeUsers = new WeakMap<IncomingMessage, string>();

/** Matches `/items/:id` against a path. */
function matches(pattern: string, path: string): boolean {
  const wanted = pattern.split('/');
  const got = path.split('/');
  return (
    wanted.length === got.length &&
    wanted.every((part, i) => (part.startsWith(':') ? got[i] !== '' : part === got[i]))
  );
}

export const nodeHarness: Harness = {
  name: 'node:http',
  async start(routes, cache) {
    const toApp = (req: IncomingMessage): AppRequest => ({
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      headers: plainHeaders(req.headers),
      user: nodeUsers.get(req),
    });
    const listeners = routes.map((route) => {
      const handler = async (req: IncomingMessage, res: ServerResponse) => {
        const response = await route.handler(toApp(req));
        if (response.fail) throw new Error('handler failed');
        res.writeHead(response.status ?? 200, response.headers ?? {});
        if (!response.chunks) return void res.end(response.body ?? '');
        for await (const chunk of chunksOf(response)) res.write(chunk);
        res.end();
      };
      return {
        route,
        listener: route.cache
          ? nodeCache.cachedHandler(
              handler,
              adaptOptions<IncomingMessage>(route.cache, cache, toApp),
            )
          : (req: IncomingMessage, res: ServerResponse) =>
              void handler(req, res).catch(() => res.writeHead(500).end()),
      };
    });
    const server = createServer((req, res) => {
      const user = userFrom(req.headers.authorization);
      if (user === 'mallory') return void res.writeHead(403).end('forbidden');
      if (user) nodeUsers.set(req, user);
      const path = (req.url ?? '/').split('?')[0]!;
      const method = req.method === 'HEAD' ? 'GET' : req.method;
      const found = listeners.find(
        ({ route }) => (route.method ?? 'GET') === method && matches(route.path, path),
      );
      if (!found) return void res.writeHead(404).end('not found');
      found.listener(req, res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return {
      url: urlOf(server),
      invalidate: (options) => nodeCache.invalidate(options),
      close: () => closeServer(server),
    };
  },
};
