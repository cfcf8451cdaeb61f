/**
 * `skycache/dashboard/hono`: the dashboard as a Hono app to mount with `app.route()`.
 *
 * ```ts
 * import { dashboard } from 'skycache/dashboard/hono';
 * app.route('/admin/cache', dashboard({ token: process.env.DASHBOARD_TOKEN }));
 * ```
 */
import { Hono, type Context } from 'hono';
import { handleDashboard } from './handler.js';
import type { DashboardOptions, DashboardRequest } from './options.js';

export type { DashboardOptions } from './options.js';

function toRequest(c: Context): DashboardRequest {
  const url = new URL(c.req.url);
  // The mount point: the matched route pattern without its trailing wildcard.
  const basePath = c.req.routePath.replace(/\/?\*$/, '').replace(/\/$/, '');
  const headers: Record<string, string | undefined> = {};
  c.req.raw.headers.forEach((value, name) => {
    headers[name] = value;
  });
  return {
    method: c.req.method,
    path: url.pathname.slice(basePath.length) || '/',
    query: url.searchParams,
    headers,
    basePath,
    protocol: url.protocol.replace(/:$/, ''),
    body: async () => Buffer.from(await c.req.raw.arrayBuffer()),
  };
}

/** A Hono app serving the dashboard; mount it with `app.route(path, dashboard(options))`. */
export function dashboard(options: DashboardOptions = {}): Hono {
  const app = new Hono();
  app.all('*', async (c) => {
    const response = await handleDashboard(toRequest(c), options);
    return new Response(response.body, { status: response.status, headers: response.headers });
  });
  return app;
}
