/**
 * The framework-neutral core of HTTP caching, piece by piece: key normalization, header parsing,
 * the stored envelope, conditional requests and option validation. The adapter suites
 * (test/http.<adapter>.test.ts) cover the same rules end to end over real servers.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../src/index.js';
import { contentEtag, isNotModified } from '../src/integrations/http/conditional.js';
import {
  DecodedEntries,
  decodeStoredResponse,
  encodeStoredResponse,
  type StoredResponse,
} from '../src/integrations/http/envelope.js';
import type { RequestView } from '../src/integrations/http/exchange.js';
import { parseCacheControl, parseTokenList } from '../src/integrations/http/header-values.js';
import { resolveRouteOptions } from '../src/integrations/http/options.js';
import {
  isTrackingParameter,
  normalizePath,
  normalizeQuery,
  normalizeVaryValue,
  parseCookies,
} from '../src/integrations/http/request-key.js';

function view(headers: Record<string, string> = {}): RequestView {
  return { method: 'GET', url: '/', route: '/', header: (name) => headers[name] };
}

describe('query normalization', () => {
  it('sorts parameters by name and keeps the order of repeated values', () => {
    expect(normalizeQuery('b=2&a=1&a=0', 'all')).toBe('a=1&a=0&b=2');
  });

  it('drops tracking parameters before anything else, under a list too', () => {
    expect(normalizeQuery('utm_source=x&page=2&fbclid=y&GCLID=z', 'all')).toBe('page=2');
    expect(normalizeQuery('utm_medium=x&page=2', new Set(['page']))).toBe('page=2');
    expect(isTrackingParameter('UTM_Campaign')).toBe(true);
    expect(isTrackingParameter('utmost')).toBe(false);
  });

  it('returns undefined (bypass) for a parameter outside the list', () => {
    expect(normalizeQuery('page=2&sort=x', new Set(['page']))).toBeUndefined();
  });

  it('encodes canonically: + and %20 are one key, a flag differs from an empty value', () => {
    expect(normalizeQuery('q=a+b', 'all')).toBe(normalizeQuery('q=a%20b', 'all'));
    expect(normalizeQuery('flag', 'all')).not.toBe(normalizeQuery('flag=', 'all'));
    expect(normalizeQuery('q=%E0%A4%A', 'all')).toBe('q=%25E0%25A4%25A');
  });
});

describe('path normalization', () => {
  it('decodes unreserved percent-encodings and upper-cases the others', () => {
    expect(normalizePath('/%7euser/a%2fb/%41')).toBe('/~user/a%2Fb/A');
  });

  it('keeps dot segments and repeated slashes (a router may treat them differently)', () => {
    expect(normalizePath('/a/../b//c')).toBe('/a/../b//c');
  });
});

describe('Vary value normalization', () => {
  it('keys Accept-Encoding as the set of accepted codings', () => {
    expect(normalizeVaryValue('accept-encoding', 'gzip, deflate, br')).toBe(
      normalizeVaryValue('accept-encoding', 'br,x-gzip,deflate;q=0.5'),
    );
    expect(normalizeVaryValue('accept-encoding', 'gzip, br;q=0')).toBe('gzip');
  });

  it('keys Accept-Language in preference order, lower-cased', () => {
    expect(normalizeVaryValue('accept-language', 'fr;q=0.5, EN-us')).toBe('en-us,fr');
  });

  it('tells an absent header from an empty one', () => {
    expect(normalizeVaryValue('x-a', undefined)).not.toBe(normalizeVaryValue('x-a', ''));
  });
});

describe('header parsing', () => {
  it('reads Cache-Control directives, quoted values with commas included', () => {
    const directives = parseCacheControl('public, no-cache="Set-Cookie, X-A", max-age=60');
    expect([...directives.keys()]).toEqual(['public', 'no-cache', 'max-age']);
    expect(directives.get('no-cache')).toBe('Set-Cookie, X-A');
  });

  it('reads Vary as lower-case tokens', () => {
    expect(parseTokenList('Accept-Encoding, accept-encoding ,Origin')).toEqual([
      'accept-encoding',
      'origin',
    ]);
  });

  it('reads cookies', () => {
    expect(parseCookies('a=1; b = 2;c')).toEqual([
      ['a', '1'],
      ['b', ' 2'],
      ['', 'c'],
    ]);
  });
});

describe('conditional requests', () => {
  const etag = contentEtag(Buffer.from('page'));

  it('makes a quoted, stable content-hash ETag', () => {
    expect(etag).toMatch(/^"[\w-]{27}"$/);
    expect(contentEtag(Buffer.from('page'))).toBe(etag);
    expect(contentEtag(Buffer.from('other'))).not.toBe(etag);
  });

  it('compares If-None-Match weakly, with lists and *', () => {
    expect(isNotModified(view({ 'if-none-match': `W/${etag}` }), etag, undefined)).toBe(true);
    expect(isNotModified(view({ 'if-none-match': `"x", ${etag}` }), etag, undefined)).toBe(true);
    expect(isNotModified(view({ 'if-none-match': '*' }), etag, undefined)).toBe(true);
    expect(isNotModified(view({ 'if-none-match': '"x"' }), etag, undefined)).toBe(false);
  });

  it('ignores If-Modified-Since when If-None-Match is present', () => {
    const date = 'Wed, 21 Oct 2015 07:28:00 GMT';
    expect(isNotModified(view({ 'if-modified-since': date }), etag, date)).toBe(true);
    expect(
      isNotModified(view({ 'if-none-match': '"x"', 'if-modified-since': date }), etag, date),
    ).toBe(false);
    expect(isNotModified(view({ 'if-modified-since': 'garbage' }), etag, date)).toBe(false);
  });
});

describe('stored envelope', () => {
  const entry: StoredResponse = {
    status: 200,
    headers: [
      ['content-type', 'text/plain'],
      ['link', '</a.css>; rel=preload'],
      ['link', '</b.js>; rel=preload'],
    ],
    body: Buffer.from([0, 1, 2, 255]),
    etag: '"abc"',
    storedAt: 1_700_000_000_000,
    expiresAt: null,
    varyNames: ['accept-language'],
    varyValues: ['en'],
  };

  it('round-trips status, repeated headers, binary body, times and Vary values', () => {
    expect(decodeStoredResponse(encodeStoredResponse(entry))).toEqual(entry);
  });

  it('treats anything else as a miss, never as an error', () => {
    const encoded = encodeStoredResponse(entry);
    expect(decodeStoredResponse('a string')).toBeUndefined();
    expect(decodeStoredResponse(Buffer.from('SKH1'))).toBeUndefined();
    expect(decodeStoredResponse(encoded.subarray(0, 20))).toBeUndefined();
    const tampered = Buffer.from(encoded);
    tampered.write('{"s":200,"h":[["set-cookie","x=1"]]', 8);
    expect(decodeStoredResponse(tampered)).toBeUndefined();
  });

  it('reuses a parsed header only while the stored bytes are the same', () => {
    const decoded = new DecodedEntries();
    expect(decoded.decode('k', encodeStoredResponse(entry))).toEqual(entry);
    expect(decoded.decode('k', encodeStoredResponse(entry))).toEqual(entry);
    const changed = { ...entry, status: 404, body: Buffer.from('gone') };
    expect(decoded.decode('k', encodeStoredResponse(changed))).toEqual(changed);
    expect(decoded.decode('k', Buffer.from('garbage'))).toBeUndefined();
  });

  it('refuses stored headers outside the allowlist (a tampered shared store cannot add Set-Cookie)', () => {
    const forged = encodeStoredResponse({ ...entry, headers: [['set-cookie', 'session=evil']] });
    expect(decodeStoredResponse(forged)).toBeUndefined();
  });
});

describe('route options', () => {
  const where = 'test route';

  it.each([
    [{}, /ttl.*required/],
    [{ ttl: '1 minute' }, /ttl/],
    [{ ttl: 60, scope: 'user' }, /userKey.*required/],
    [{ ttl: 60, scope: 'everyone' }, /scope/],
    [{ ttl: 60, statuses: [206] }, /206/],
    [{ ttl: 60, statuses: [500] }, /500/],
    [{ ttl: 60, scope: 'public', vary: ['Authorization'] }, /credentials/],
    [{ ttl: 60, vary: ['bad header'] }, /header name/],
    [{ ttl: 60, ttL: 5 }, /unknown option/],
    [{ ttl: 60, maxBodyBytes: -1 }, /maxBodyBytes/],
    [{ ttl: 60, staleIfError: 'soon' }, /staleIfError/],
  ])('rejects %j', (options, message) => {
    expect(() => resolveRouteOptions(options as never, where)).toThrow(ConfigError);
    expect(() => resolveRouteOptions(options as never, where)).toThrow(message);
  });

  it('applies the defaults', () => {
    const rules = resolveRouteOptions({ ttl: '60s' }, where);
    expect(rules.scope).toBe('anonymous');
    expect(rules.query).toBe('all');
    expect([...rules.statuses]).toEqual([200]);
    expect(rules.maxBodyBytes).toBe(1024 * 1024);
    expect(rules.statusHeader).toBe('x-cache');
    expect(rules.load).toEqual({ timeout: 60 });
  });

  it('accepts ttl null (kept until invalidated) and passes the stale windows to getOrSet', () => {
    const rules = resolveRouteOptions(
      { ttl: null, staleWhileRevalidate: '30s', staleIfError: 600 },
      where,
    );
    expect(rules.load).toEqual({ timeout: null, staleWhileRevalidate: '30s', staleIfError: 600 });
  });
});
