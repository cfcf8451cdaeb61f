/**
 * `skycache/dashboard/express`: the dashboard as an Express router-style middleware.
 *
 * ```ts
 * import { dashboard } from 'skycache/dashboard/express';
 * app.use('/admin/cache', requireAdmin, dashboard({ readOnly: true }));
 * ```
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { fromNode, serveNode } from './index.js';
import type { DashboardOptions } from './options.js';

export type { DashboardOptions } from './options.js';

/** Mount with `app.use(path, dashboard(options))`; Express supplies the mount path. */
export function dashboard(options: DashboardOptions = {}): RequestHandler {
  return (req: Request, res: Response, _next: NextFunction) => {
    // Express strips the mount path from `req.url` and keeps it in `req.baseUrl`.
    const path = req.url.startsWith('/') ? req.url : `/${req.url}`;
    serveNode(res, fromNode(req, req.baseUrl, path), options);
  };
}
