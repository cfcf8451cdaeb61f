/**
 * The framework-neutral core of HTTP caching, piece by piece: key normalization, header parsing,
 * the stored envelope, conditional requests and option validation. The adapter suites
 * (test/http.<adapter>.test.ts) cover the same rules end to end over real servers.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConfigError, createCache } from '../src/index.js';
import { silentLogger } from '../src/core/logger.js';
import { contentEtag, isNotModified } from '../src/integrations/http/conditional.js';
import {
  decodeStoredResponse,
  encodeStoredResponse,
  type StoredResponse,
} from '../src/integrations/http/envelope.js';
import { DecodedEntries } from '../src/integrations/http/serve.js';
import {
  HeaderMapView,
  type Exchange,
  type RequestView,
} from '../src/integrations/http/exchange.js';
import { parseCacheControl, parseTokenList } from '../src/integrations/http/header-values.js';
import { InvalidationRegistry } from '../src/integrations/http/invalidation.js';
import { resolveRouteOptions, type HttpCacheOptions } from '../src/integrations/http/options.js';
import {
  isTrackingParameter,
  normalizePath,
  normalizeQuery,
  normalizeVaryValue,
  parseCookies,
} from '../src/integrations/http/request-key.js';
import { HEADER, headerMask } from '../src/integrations/http/request-plan.js';
import { RouteCache } from '../src/integrations/http/route-cache.js';

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
    /** The entry `decode` reads from `bytes`, body included. */
    const read = (bytes: Buffer) => {
      const found = decoded.decode('k', bytes);
      if (found === undefined) return undefined;
      const { status, headers, etag, storedAt, expiresAt, varyNames, varyValues } = found;
      const body = bytes.subarray(found.bodyOffset);
      return { status, headers, body, etag, storedAt, expiresAt, varyNames, varyValues };
    };
    const first = decoded.decode('k', encodeStoredResponse(entry));
    expect(read(encodeStoredResponse(entry))).toEqual(entry);
    expect(decoded.decode('k', encodeStoredResponse(entry))).toBe(first);
    const changed = { ...entry, status: 404, body: Buffer.from('gone') };
    expect(read(encodeStoredResponse(changed))).toEqual(changed);
    expect(decoded.decode('k', Buffer.from('garbage'))).toBeUndefined();
  });

  it('groups a repeated stored header into one field with its values, in order', () => {
    const found = new DecodedEntries().decode('k', encodeStoredResponse(entry));
    expect(found?.fields).toEqual([
      ['content-type', 'text/plain'],
      ['link', ['</a.css>; rel=preload', '</b.js>; rel=preload']],
    ]);
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

describe('request header mask', () => {
  it('sees the headers that matter in one pass over a header map, or by name without one', () => {
    const headers = {
      host: 'example.com',
      cookie: 'a=1',
      'if-none-match': '"x"',
      'x-forwarded-proto': 'https',
    };
    const expected = HEADER.cookie | HEADER.conditional | HEADER.special;
    expect(headerMask(new HeaderMapView('GET', '/', '/', headers))).toBe(expected);
    expect(headerMask(view(headers))).toBe(expected);
    expect(headerMask(new HeaderMapView('GET', '/', '/', { host: 'a', accept: '*/*' }))).toBe(0);
  });
});

describe('route lookup on a memory cache', () => {
  const page = Buffer.from('{"items":[]}');
  const headers = { host: 'example.com' };

  /** A route over a fresh memory cache, its cache, and one request through it (stored if a miss). */
  /** What the route callbacks of these tests get as the request. */
  interface Caller {
    user?: string;
  }

  function setUp(options: Partial<HttpCacheOptions<Caller>> = {}) {
    const cache = createCache({
      backend: 'memory',
      location: `route-${randomUUID()}`,
      logger: silentLogger,
    });
    const registry = new InvalidationRegistry();
    const route = new RouteCache(
      { cache, ttl: '60s', scope: 'public', logger: silentLogger, ...options },
      registry,
    );
    const send = async (
      requestHeaders: Record<string, string> = headers,
      caller: Caller = {},
    ): Promise<{ exchange: Exchange; atOnce: boolean }> => {
      const requestView = new HeaderMapView('GET', '/items', '/items', requestHeaders);
      const begun = route.begin(requestView, caller);
      const exchange = await begun;
      if (exchange.kind === 'observe') {
        const responseHeaders = { 'content-type': 'application/json', vary: 'accept-language' };
        await exchange.observer.complete(200, responseHeaders, page);
      }
      return { exchange, atOnce: !(begun instanceof Promise) };
    };
    return { cache, registry, send };
  }

  it('answers a hit at once once the entry is stored, and counts one lookup per request', async () => {
    const { cache, send } = setUp();
    expect((await send()).exchange.kind).toBe('observe');
    for (let i = 0; i < 3; i++) {
      const { exchange, atOnce } = await send();
      expect(atOnce).toBe(true);
      expect(exchange.kind).toBe('serve');
      if (exchange.kind !== 'serve') return;
      expect(exchange.body).toEqual(page);
      expect(exchange.headers.map(([name]) => name)).toEqual([
        'age',
        'cache-status',
        'x-cache',
        'content-type',
        'etag',
        'vary',
        'content-length',
      ]);
    }
    expect(cache.stats()).toMatchObject({ hits: 3, misses: 1 });
  });

  it('counts a miss once after an invalidation (the next lookup goes through getOrSet)', async () => {
    const { cache, registry, send } = setUp();
    await send();
    await send();
    await registry.invalidate({ path: '/items' });
    const { exchange, atOnce } = await send();
    expect(atOnce).toBe(false);
    expect(exchange.kind).toBe('observe');
    expect(cache.stats()).toMatchObject({ hits: 1, misses: 2 });
  });

  it('serves each Vary variant its own entry, the first one at once', async () => {
    const { send } = setUp();
    await send({ ...headers, 'accept-language': 'en' });
    expect((await send({ ...headers, 'accept-language': 'fr' })).exchange.kind).toBe('observe');
    const english = await send({ ...headers, 'accept-language': 'en' });
    expect(english).toMatchObject({ atOnce: true, exchange: { kind: 'serve' } });
    const french = await send({ ...headers, 'accept-language': 'fr' });
    expect(french.exchange.kind).toBe('serve');
  });

  it('answers If-None-Match at once with a 304', async () => {
    const { send } = setUp();
    await send();
    const hit = (await send()).exchange;
    const etag = hit.kind === 'serve' ? hit.headers.find(([name]) => name === 'etag')?.[1] : '';
    const conditional = await send({ ...headers, 'if-none-match': etag as string });
    expect(conditional).toMatchObject({ atOnce: true, exchange: { status: 304, body: null } });
  });

  it('runs route callbacks that answer at once in the same turn, one entry per user', async () => {
    const { send } = setUp({ scope: 'user', userKey: (caller) => caller.user, tags: () => ['t'] });
    await send(headers, { user: 'alice' });
    expect((await send(headers, { user: 'bob' })).exchange.kind).toBe('observe');
    const alice = await send(headers, { user: 'alice' });
    expect(alice).toMatchObject({ atOnce: true, exchange: { kind: 'serve' } });
    const nobody = await send(headers, {});
    expect(nobody).toMatchObject({ atOnce: true, exchange: { kind: 'pass' } });
  });

  it('waits for async callbacks, and bypasses when a callback throws or rejects', async () => {
    const asyncUser = setUp({ scope: 'user', userKey: async (caller) => caller.user });
    await asyncUser.send(headers, { user: 'alice' });
    const again = await asyncUser.send(headers, { user: 'alice' });
    expect(again).toMatchObject({ atOnce: false, exchange: { kind: 'serve' } });
    const failing = [
      () => {
        throw new Error('no');
      },
      () => Promise.reject(new Error('no')),
    ];
    for (const bypass of failing) {
      const { exchange } = await setUp({ bypass }).send();
      expect(exchange.kind).toBe('pass');
      if (exchange.kind === 'pass') expect(exchange.headers).toContainEqual(['x-cache', 'BYPASS']);
    }
  });
});
