/**
 * Signed bearer tokens carrying the user's token version (`tv`). A token is valid while `tv` equals
 * the user's current `token_version:{uid}`: INCR-ing that key revokes every older token at once.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export interface TokenClaims {
  /** user id */
  uid: number;
  /** token version at issue time */
  tv: number;
  /** expiry, seconds since the epoch */
  exp: number;
}

/** How long a token lives, in seconds. */
export const TOKEN_LIFETIME_S = 24 * 3600;

export function signToken(secret: string, claims: Omit<TokenClaims, 'exp'>): string {
  const body = Buffer.from(
    JSON.stringify({ ...claims, exp: Math.floor(Date.now() / 1000) + TOKEN_LIFETIME_S }),
  ).toString('base64url');
  return `${body}.${createHmac('sha256', secret).update(body).digest('base64url')}`;
}

/** The claims of a well-signed, unexpired token, else `undefined`. */
export function verifyToken(secret: string, token: string): TokenClaims | undefined {
  const dot = token.indexOf('.');
  if (dot <= 0) return undefined;
  const body = token.slice(0, dot);
  const given = Buffer.from(token.slice(dot + 1), 'base64url');
  const expected = createHmac('sha256', secret).update(body).digest();
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as TokenClaims;
    if (!Number.isInteger(claims.uid) || !Number.isInteger(claims.tv)) return undefined;
    return claims.exp > Date.now() / 1000 ? claims : undefined;
  } catch {
    return undefined;
  }
}
