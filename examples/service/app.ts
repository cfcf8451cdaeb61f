/**
 * The HTTP API (SPEC "Reference service"): Fastify, JSON in and out, bearer tokens.
 *
 * Request flow: `onRequest` authenticates (signature, then the token version from the cache), a
 * route with `config.permission` is checked against the user's roles' API lists, and only then
 * does the handler (or the HTTP cache, for the heavy report) run.
 */
import Fastify, { LogController, type FastifyInstance, type FastifyRequest } from 'fastify';
import skycache from '../../src/integrations/fastify/index.js';
import { BackendError } from '../../src/index.js';
import { closeCaches, openCaches, type ServiceCaches } from './caches.js';
import type { AppDatabase, DictOption } from './database.js';
import { leadStats, invalidateLeadStats, dictOptions, invalidateDictOptions } from './modules.js';
import {
  loadRolePermissions,
  loadUserRoles,
  PermissionReader,
  revokeTokens,
} from './permissions.js';
import { signToken, verifyToken } from './tokens.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Check the route's `METHOD pattern` against the user's API permissions. */
    permission?: boolean;
    /** Reachable without a token. */
    public?: boolean;
  }
  interface FastifyRequest {
    user: { id: number; permissions: PermissionReader };
  }
}

export interface AppOptions {
  db: AppDatabase;
  /** `CACHE_URL` */
  cacheUrl: string;
  tokenSecret: string;
  logLevel?: string;
  /** Longest a permission entry stays in a worker's L1, in seconds (Redis and PostgreSQL only). */
  l1TimeoutSeconds?: number;
  /** How long the heavy report takes to build, in ms (a stand-in for real work). */
  reportWorkMs?: number;
}

/** pino options: level names as the seed's logs print them (`WARNING`, not `40`). */
export function loggerOptions(level = 'info') {
  return {
    level,
    formatters: {
      level: (label: string) => ({ level: label === 'warn' ? 'WARNING' : label.toUpperCase() }),
    },
  };
}

function parseId(raw: string): number | undefined {
  const id = Number(raw);
  return Number.isSafeInteger(id) && id > 0 ? id : undefined;
}

/** Whether `body` is a list of objects whose `fields` are all strings (the PUT bodies). */
function isListOf<F extends string>(
  body: unknown,
  fields: readonly F[],
): body is Array<Record<F, string>> {
  return (
    Array.isArray(body) &&
    body.every(
      (item) =>
        typeof item === 'object' &&
        item !== null &&
        fields.every((field) => typeof (item as Record<string, unknown>)[field] === 'string'),
    )
  );
}

function isApiList(body: unknown): body is { method: string; path: string }[] {
  return isListOf(body, ['method', 'path']);
}

function isOptionList(body: unknown): body is DictOption[] {
  return isListOf(body, ['value', 'label']);
}

export async function buildApp(
  options: AppOptions,
): Promise<{ app: FastifyInstance; caches: ServiceCaches }> {
  const { db, tokenSecret } = options;
  const app = Fastify({
    logger: loggerOptions(options.logLevel),
    // One line per request would drown the lines this example is about (refresh, fallback).
    logController: new LogController({ disableRequestLogging: true }),
  });
  const log = app.log;
  const caches = openCaches(options.cacheUrl, log, options.l1TimeoutSeconds);
  const store = caches.store;
  app.addHook('onClose', async () => {
    await closeCaches(caches);
  });

  app.decorateRequest('user', undefined as unknown as FastifyRequest['user']);
  // Which worker answered: shows that a change made through one worker is seen by all of them.
  app.addHook('onSend', async (_request, reply) => {
    reply.header('x-worker-pid', process.pid);
  });

  // Authentication for every route but the public ones. The version check is what makes
  // `redis-cli incr token_version:{uid}` (or logout-all) revoke older tokens at once.
  app.addHook('onRequest', async (request, reply) => {
    if (request.routeOptions.config?.public || !request.routeOptions.url) return;
    const header = request.headers.authorization ?? '';
    const claims = header.startsWith('Bearer ')
      ? verifyToken(tokenSecret, header.slice(7))
      : undefined;
    if (!claims) return reply.code(401).send({ error: 'missing or invalid token' });
    const permissions = new PermissionReader(caches, db, claims.uid, log);
    if ((await permissions.tokenVersion()) !== claims.tv) {
      return reply.code(401).send({ error: 'token revoked' });
    }
    request.user = { id: claims.uid, permissions };
  });

  app.addHook('preHandler', async (request, reply) => {
    if (!request.routeOptions.config?.permission) return;
    const allowed = await request.user.permissions.canCall(
      request.method,
      request.routeOptions.url ?? '',
    );
    if (!allowed) {
      return reply
        .code(403)
        .send({ error: `no permission for ${request.method} ${request.routeOptions.url}` });
    }
  });

  // The endpoint cache (the seed's fastapi-cache2 `@cache(namespace="reports")`). Registered before
  // the routes; its lookup runs after the hooks above, so a hit never skips authentication.
  await app.register(skycache, { cache: caches.reports });

  app.get('/health', { config: { public: true } }, async () => {
    let ok = true;
    try {
      await store.has('health:probe');
    } catch (error) {
      if (!(error instanceof BackendError)) throw error;
      ok = false;
    }
    return { status: 'ok', cache: { backend: store.backend, ok } };
  });

  app.post('/auth/login', { config: { public: true } }, async (request, reply) => {
    const body = (request.body ?? {}) as { username?: unknown; password?: unknown };
    const user =
      typeof body.username === 'string' && typeof body.password === 'string'
        ? db.authenticate(body.username, body.password)
        : undefined;
    if (!user) return reply.code(401).send({ error: 'bad username or password' });
    const permissions = new PermissionReader(caches, db, user.id, log);
    const token = signToken(tokenSecret, { uid: user.id, tv: await permissions.tokenVersion() });
    return {
      token,
      user: { id: user.id, username: user.username, roles: await permissions.roles() },
    };
  });

  app.get('/api/me', async (request) => {
    const { id, permissions } = request.user;
    return {
      id,
      username: db.user(id)?.username,
      roles: await permissions.roles(),
      buttons: await permissions.buttons(),
      home: await permissions.home(),
    };
  });

  app.get('/api/users', { config: { permission: true } }, async () =>
    db.users().map(({ id, username }) => ({ id, username })),
  );

  app.put<{ Params: { code: string } }>(
    '/api/roles/:code/apis',
    { config: { permission: true } },
    async (request, reply) => {
      if (!isApiList(request.body)) {
        return reply.code(400).send({ error: 'expected [{"method","path"}…]' });
      }
      const apis = request.body.map(({ method, path }) => ({ method: method.toUpperCase(), path }));
      if (!db.setRoleApis(request.params.code, apis)) {
        return reply.code(404).send({ error: `no role ${request.params.code}` });
      }
      // Incremental refresh: this role's keys, before answering (every worker reads the store).
      await loadRolePermissions(caches.permissions, db, request.params.code);
      return { code: request.params.code, apis: db.rolePermissions(request.params.code)?.apis };
    },
  );

  app.put<{ Params: { id: string } }>(
    '/api/users/:id/roles',
    { config: { permission: true } },
    async (request, reply) => {
      const id = parseId(request.params.id);
      const body = request.body;
      if (!Array.isArray(body) || !body.every((code) => typeof code === 'string')) {
        return reply.code(400).send({ error: 'expected ["R_…"…]' });
      }
      const result = id === undefined ? 'no-user' : db.setUserRoles(id, body);
      if (result === 'no-user')
        return reply.code(404).send({ error: `no user ${request.params.id}` });
      if (result !== true)
        return reply.code(400).send({ error: `unknown roles: ${result.join(', ')}` });
      await loadUserRoles(caches.permissions, db, id!);
      return { id, roles: db.userRoles(id!) };
    },
  );

  app.post<{ Params: { id: string } }>('/api/users/:id/logout-all', async (request, reply) => {
    const id = parseId(request.params.id);
    if (id === undefined || !db.user(id)) return reply.code(404).send({ error: 'no such user' });
    const self = id === request.user.id;
    if (!self && !(await request.user.permissions.roles()).includes('R_SUPER')) {
      return reply.code(403).send({ error: 'only the user or R_SUPER may do that' });
    }
    return { tokenVersion: await revokeTokens(store, db, id, log) };
  });

  app.get<{ Params: { type: string } }>('/api/dictionaries/:type/options', async (request) =>
    dictOptions(store, db, request.params.type),
  );

  app.put<{ Params: { type: string } }>(
    '/api/dictionaries/:type/options',
    { config: { permission: true } },
    async (request, reply) => {
      if (!isOptionList(request.body)) {
        return reply.code(400).send({ error: 'expected [{"value","label"}…]' });
      }
      db.setDictOptions(request.params.type, request.body);
      await invalidateDictOptions(store, request.params.type);
      return db.dictOptions(request.params.type) ?? [];
    },
  );

  // Module statistics, cached per data scope for 5 minutes (`crm_lead_cnt:all`, `:dept_42`, …).
  app.get('/api/leads/stats', async (request) => {
    const { id, permissions } = request.user;
    const user = db.user(id)!;
    return leadStats(store, db, await permissions.dataScope(), user);
  });

  app.post('/api/leads', { config: { permission: true } }, async (request, reply) => {
    const body = (request.body ?? {}) as { status?: unknown; amount?: unknown };
    if (typeof body.status !== 'string' || typeof body.amount !== 'number') {
      return reply.code(400).send({ error: 'expected {"status","amount"}' });
    }
    const user = db.user(request.user.id)!;
    const id = db.addLead({
      departmentId: user.departmentId,
      ownerId: user.id,
      status: body.status,
      amount: body.amount,
    });
    await invalidateLeadStats(store);
    return reply.code(201).send({ id });
  });

  // The heavy report, memoized per endpoint by the HTTP cache for 60 s. `scope: 'public'`: one
  // entry for every signed-in user (the report does not depend on who asks; the hooks above still
  // run on every request).
  app.get(
    '/api/reports/heavy',
    { config: { cache: { ttl: '60s', scope: 'public' } } },
    async () => {
      await new Promise((resolve) => setTimeout(resolve, options.reportWorkMs ?? 300));
      return { generatedAt: new Date().toISOString(), byDepartment: db.revenueByDepartment() };
    },
  );

  return { app, caches };
}
