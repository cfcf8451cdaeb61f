/**
 * The framework-neutral dashboard: one function from a {@link DashboardRequest} to a
 * {@link DashboardResponse}. Adapters (node:http, Fastify, Express, Hono) only translate.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { redactSecrets } from '../../config/redact.js';
import { change, failure, listCachesReport, listKeys, readEntry, type ApiResult } from './api.js';
import { authorized, loginCookie, refuseChange } from './auth.js';
import { CLIENT_SCRIPT } from './client-script.js';
import {
  listCaches,
  type DashboardOptions,
  type DashboardRequest,
  type DashboardResponse,
} from './options.js';
import { loginPage, mainPage, STYLESHEET } from './page.js';

/** Nothing from outside the origin, no inline script or style, no framing. */
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  // Not no-referrer: Chromium then sends `Origin: null` on same-origin POSTs, which the Origin check needs.
  'referrer-policy': 'same-origin',
  'cache-control': 'no-store',
  'x-frame-options': 'DENY',
};

/** uPlot's files, read once from the installed package and served from the dashboard's origin. */
let uplot: { js: string; css: string } | undefined;
function uplotAssets(): { js: string; css: string } {
  if (!uplot) {
    const require = createRequire(import.meta.url);
    uplot = {
      js: readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8'),
      css: readFileSync(require.resolve('uplot/dist/uPlot.min.css'), 'utf8'),
    };
  }
  return uplot;
}

function respond(
  status: number,
  type: string,
  body: string | Buffer,
  extra: Record<string, string> = {},
): DashboardResponse {
  return { status, headers: { ...SECURITY_HEADERS, 'content-type': type, ...extra }, body };
}

function json(result: ApiResult): DashboardResponse {
  return respond(result.status, 'application/json; charset=utf-8', JSON.stringify(result.body));
}

const JS = 'text/javascript; charset=utf-8';
const CSS = 'text/css; charset=utf-8';
const HTML = 'text/html; charset=utf-8';

/** Parses a JSON object body; `undefined` if it is not one. */
async function jsonBody(request: DashboardRequest): Promise<Record<string, unknown> | undefined> {
  if (!(request.headers['content-type'] ?? '').startsWith('application/json')) return undefined;
  try {
    const parsed: unknown = JSON.parse((await request.body()).toString('utf8'));
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

async function login(
  request: DashboardRequest,
  options: DashboardOptions,
): Promise<DashboardResponse> {
  const refused = refuseChange({ ...request }, { ...options, readOnly: false });
  if (refused) return respond(403, 'text/plain; charset=utf-8', refused);
  const form = new URLSearchParams((await request.body()).toString('utf8'));
  const token = options.token ?? '';
  const given = form.get('token') ?? '';
  const next = `${request.basePath}/`;
  if (!token) return respond(303, HTML, '', { location: next });
  const probe = { ...request, headers: { authorization: `Bearer ${given}` } };
  if (!given || !authorized(probe, options))
    return respond(200, HTML, loginPage(request.basePath, 'Wrong token.'));
  return respond(303, HTML, '', { location: next, 'set-cookie': loginCookie(token, request) });
}

/** Handles one request. Never throws: failures become JSON errors. */
export async function handleDashboard(
  request: DashboardRequest,
  options: DashboardOptions,
): Promise<DashboardResponse> {
  const { method, path } = request;
  if (method === 'GET' && path === '/assets/app.js') return respond(200, JS, CLIENT_SCRIPT);
  if (method === 'GET' && path === '/assets/app.css') return respond(200, CSS, STYLESHEET);
  if (method === 'GET' && path === '/assets/uplot.js') return respond(200, JS, uplotAssets().js);
  if (method === 'GET' && path === '/assets/uplot.css') return respond(200, CSS, uplotAssets().css);
  if (method === 'POST' && path === '/login') return login(request, options);
  const allowed = authorized(request, options);
  if (method === 'GET' && (path === '/' || path === '')) {
    return allowed
      ? respond(200, HTML, mainPage(request.basePath, options.readOnly === true))
      : // 200, not 401: the login form is a normal page (API requests without the token get 401).
        respond(200, HTML, loginPage(request.basePath));
  }
  if (!path.startsWith('/api/')) return respond(404, 'text/plain; charset=utf-8', 'not found');
  if (!allowed) return json({ status: 401, body: { error: 'token required' } });
  try {
    const named = listCaches(options.caches);
    if (method === 'GET' && path === '/api/caches') return json(listCachesReport(named));
    const alias = request.query.get('cache') ?? undefined;
    const find = (name: unknown) => named.find((entry) => entry.alias === name)?.cache;
    if (method === 'GET' && path === '/api/keys') {
      const cache = find(alias);
      return json(cache ? await listKeys(cache, request.query) : noCache(alias));
    }
    if (method === 'GET' && path === '/api/entry') {
      const cache = find(alias);
      const key = request.query.get('key');
      if (!key) return json({ status: 400, body: { error: 'key is required' } });
      return json(cache ? await readEntry(cache, key) : noCache(alias));
    }
    if (method === 'POST') {
      const refused = refuseChange(request, options);
      if (refused) return json({ status: 403, body: { error: refused } });
      const input = await jsonBody(request);
      if (!input) return json({ status: 415, body: { error: 'send a JSON object' } });
      const cache = find(input.cache);
      return json(cache ? await change(cache, path.slice(5), input) : noCache(input.cache));
    }
    return json({ status: 405, body: { error: `${method} ${path} is not supported` } });
  } catch (error) {
    const result = failure(error);
    const body = result.body as { error: string };
    return json({ ...result, body: { ...body, error: redactSecrets(body.error) } });
  }
}

function noCache(alias: unknown): ApiResult {
  return { status: 404, body: { error: `no cache with alias ${JSON.stringify(alias ?? null)}` } };
}
