/**
 * `skycache/dashboard/fastify`: the dashboard as a Fastify plugin.
 *
 * ```ts
 * import dashboard from 'skycache/dashboard/fastify';
 * await app.register(dashboard, { prefix: '/admin/cache', token: process.env.DASHBOARD_TOKEN });
 * ```
 */
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { handleDashboard } from './handler.js';
import { fromNode } from './index.js';
import type { DashboardOptions } from './options.js';

export type { DashboardOptions } from './options.js';

/** Plugin options: the dashboard's plus Fastify's `prefix`. */
export type DashboardPluginOptions = DashboardOptions & { prefix?: string };

/**
 * Registers the dashboard under the plugin's `prefix`. It is encapsulated on purpose (not wrapped
 * in fastify-plugin): its body handling does not leak into the application's routes.
 */
export const dashboardPlugin: FastifyPluginAsync<DashboardPluginOptions> = async (
  app: FastifyInstance,
  options,
) => {
  const { prefix: _prefix, ...dashboardOptions } = options;
  // The dashboard reads its own (small) bodies: keep Fastify's parsers away from them.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: 64 * 1024 }, (_req, body, done) =>
    done(null, body),
  );
  const basePath = app.prefix.replace(/\/$/, '');
  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    const rest = request.url.slice(basePath.length) || '/';
    const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    const response = await handleDashboard(
      fromNode(request.raw, basePath, rest.startsWith('/') ? rest : `/${rest}`, () =>
        Promise.resolve(body),
      ),
      dashboardOptions,
    );
    return reply.code(response.status).headers(response.headers).send(response.body);
  };
  app.route({ method: ['GET', 'POST'], url: '/', handler });
  app.route({ method: ['GET', 'POST'], url: '/*', handler });
};

export default dashboardPlugin;
