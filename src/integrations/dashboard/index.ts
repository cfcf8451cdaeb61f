/**
 * `skycache/dashboard`: a web dashboard for the configured caches, as a `node:http` handler.
 *
 * ```ts
 * import http from 'node:http';
 * import { dashboard } from 'skycache/dashboard';
 *
 * http.createServer(dashboard({ token: process.env.DASHBOARD_TOKEN })).listen(8100, '127.0.0.1');
 * ```
 *
 * Mounts for frameworks: `skycache/dashboard/fastify` (plugin, `prefix`), `skycache/dashboard/express`
 * and `skycache/dashboard/hono`; `skycache dashboard` runs it alone. See docs/dashboard.md.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { handleDashboard } from './handler.js';
import {
  readBody,
  type DashboardOptions,
  type DashboardRequest,
  type DashboardResponse,
} from './options.js';

export type { DashboardOptions } from './options.js';

/** A node:http request handler; `next` (Express/Connect style) is called for paths outside `basePath`. */
export type DashboardHandler = (
  req: IncomingMessage,
  res: ServerResponse,
  next?: (error?: unknown) => void,
) => void;

/** The framework-neutral request of a node:http request, `basePath` already stripped. */
export function fromNode(
  req: IncomingMessage,
  basePath: string,
  path: string,
  read: () => Promise<Buffer> = () => readBody(req),
): DashboardRequest {
  const url = new URL(path, 'http://x');
  const headers: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(req.headers))
    headers[name] = Array.isArray(value) ? value.join(', ') : value;
  return {
    method: req.method ?? 'GET',
    path: url.pathname,
    query: url.searchParams,
    headers,
    basePath,
    protocol: (req.socket as TLSSocket).encrypted ? 'https' : 'http',
    body: read,
  };
}

/** Writes a dashboard response to a node:http response. */
export function toNode(res: ServerResponse, response: DashboardResponse): void {
  res.writeHead(response.status, response.headers);
  res.end(response.body);
}

/** Serves `request` and writes the answer; a failure becomes a 500 without details. */
export function serveNode(
  res: ServerResponse,
  request: DashboardRequest,
  options: DashboardOptions,
): void {
  handleDashboard(request, options).then(
    (response) => toNode(res, response),
    () => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('dashboard error');
    },
  );
}

/**
 * The dashboard as a node:http handler: every cache (alias, backend, redacted location, prefix,
 * version, breaker state, live hit rate), a key browser, and deletes of a key, a pattern (after
 * showing the count) or a tag. Changes need a same-origin `Origin` header; `readOnly` refuses them.
 */
export function dashboard(options: DashboardOptions = {}): DashboardHandler {
  const basePath = (options.basePath ?? '').replace(/\/$/, '');
  return (req, res, next) => {
    const url = req.url ?? '/';
    if (
      basePath &&
      url !== basePath &&
      !url.startsWith(`${basePath}/`) &&
      !url.startsWith(`${basePath}?`)
    ) {
      if (next) next();
      else
        toNode(res, { status: 404, headers: { 'content-type': 'text/plain' }, body: 'not found' });
      return;
    }
    const rest = url.slice(basePath.length);
    serveNode(res, fromNode(req, basePath, rest.startsWith('/') ? rest : `/${rest}`), options);
  };
}
