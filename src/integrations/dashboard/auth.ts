/**
 * Who may look and who may change: the token (Bearer header or login cookie) and the same-origin
 * rule for changes (no CSRF: a foreign page cannot make the browser delete keys).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { DashboardOptions, DashboardRequest } from './options.js';

/** The login cookie's name. */
export const COOKIE = 'skycache_dashboard';

/** The cookie value for a token: an HMAC of it, so the token itself is never stored in the browser. */
export function sessionFor(token: string): string {
  return createHmac('sha256', token).update('skycache dashboard session v1').digest('hex');
}

function sameSecret(given: string, expected: string): boolean {
  const a = createHmac('sha256', 'compare').update(given).digest();
  const b = createHmac('sha256', 'compare').update(expected).digest();
  return timingSafeEqual(a, b);
}

function cookie(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return rest.join('=');
  }
  return undefined;
}

/** Whether the request carries the token (or the session made from it); always true without one. */
export function authorized(request: DashboardRequest, options: DashboardOptions): boolean {
  const { token } = options;
  if (!token) return true;
  const header = request.headers.authorization;
  if (header?.startsWith('Bearer ')) return sameSecret(header.slice(7).trim(), token);
  const session = cookie(request.headers.cookie, COOKIE);
  return session !== undefined && sameSecret(session, sessionFor(token));
}

/** The dashboard's own origin: the `origin` option, else the request's scheme and Host. */
export function ownOrigin(
  request: DashboardRequest,
  options: DashboardOptions,
): string | undefined {
  if (options.origin) return options.origin.replace(/\/$/, '');
  const host = request.headers.host;
  return host ? `${request.protocol}://${host}` : undefined;
}

/** Why a change is refused (403), or `undefined` if it may go ahead. */
export function refuseChange(
  request: DashboardRequest,
  options: DashboardOptions,
): string | undefined {
  if (options.readOnly) return 'this dashboard is read-only';
  const origin = request.headers.origin;
  if (!origin) return 'changes need an Origin header (same-origin requests only)';
  if (origin !== ownOrigin(request, options)) return 'changes from another origin are refused';
  return undefined;
}

/** The `Set-Cookie` value of a login. */
export function loginCookie(token: string, request: DashboardRequest): string {
  const secure = request.protocol === 'https' ? '; Secure' : '';
  return `${COOKIE}=${sessionFor(token)}; Path=${request.basePath || '/'}; HttpOnly; SameSite=Strict${secure}`;
}
