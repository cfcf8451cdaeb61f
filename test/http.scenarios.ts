/**
 * The behaviour every adapter shares, as one suite each adapter's test file runs: what is cached,
 * what never is, and what the headers say. Read top to bottom, it is the HTTP caching contract.
 */
import { randomUUID } from 'node:crypto';
import { get as httpGet } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { BackendError, createCache, type Cache } from '../src/index.js';
import { silentLogger } from '../src/core/logger.js';
import type { Store } from '../src/core/store.js';
import type {
  AppRequest,
  AppResponse,
  Harness,
  RouteCacheSpec,
  RouteSpec,
  TestServer,
} from './http.harness.js';

/** A fresh memory cache. */
export function memoryCache(): Cache {
  return createCache({ backend: 'memory', location: `http-${randomUUID()}`, logger: silentLogger });
}

/** A cache whose backend fails every operation. */
export function brokenCache(alias = 'broken'): Cache {
  const fail = () => {
    throw new Error('backend down');
  };
  const store = new Proxy({ capabilities: { sync: false } } as Store, {
    get: (target, property) => (property === 'capabilities' ? target.capabilities : fail),
  });
  return createCache({ backend: () => store, logger: silentLogger, circuitBreaker: false }, alias);
}

/** A cache whose backend answers every read with "absent" and fails every write. */
export function writeFailingCache(): Cache {
  const fail = () => {
    throw new Error('disk full');
  };
  const reads: Record<string, unknown> = {
    capabilities: { sync: false },
    get: async () => undefined,
    getMany: async () => new Map(),
    has: async () => false,
  };
  const store = new Proxy({} as Store, {
    get: (_target, property) =>
      typeof property === 'string' && property in reads ? reads[property] : fail,
  });
  return createCache(
    { backend: () => store, logger: silentLogger, circuitBreaker: false },
    'write-failing',
  );
}

/** A response as it came over the wire: header field lines in order, as sent. */
interface RawResponse {
  status: number;
  /** `[name (lower-case), value]` per field line. */
  lines: Array<[string, string]>;
  body: string;
}

/** A GET over a fresh connection, reading the raw field lines (fetch would merge them). */
function rawGet(url: string, headers: Record<string, string> = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const request = httpGet(url, { headers, agent: false }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const lines: Array<[string, string]> = [];
        for (let i = 0; i < response.rawHeaders.length; i += 2) {
          lines.push([response.rawHeaders[i]!.toLowerCase(), response.rawHeaders[i + 1]!]);
        }
        resolve({
          status: response.statusCode ?? 0,
          lines,
          body: Buffer.concat(chunks).toString(),
        });
      });
      response.on('error', reject);
    });
    request.on('error', reject);
  });
}

/** The field lines of `names`, in order. */
function linesOf(response: RawResponse, names: readonly string[]): Array<[string, string]> {
  return response.lines.filter(([name]) => names.includes(name));
}

/** How many HTTP entries the cache holds. */
export async function entryCount(cache: Cache): Promise<number> {
  let count = 0;
  for await (const _key of cache.keys('skycache-http:p*')) count++;
  return count;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `count` requests, `concurrency` at a time. */
async function hammer(
  count: number,
  concurrency: number,
  request: (i: number) => Promise<unknown>,
) {
  let next = 0;
  const worker = async () => {
    while (next < count) await request(next++);
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

export interface ScenarioOptions {
  /** Makes the cache of each test. Default: a fresh memory cache. */
  makeCache?: () => Cache;
  /** Label of the cache kind in the suite's name. Default `'memory'`. */
  cacheName?: string;
  /**
   * How many unique query strings the key-explosion case sends (the figure is 10,000; the
   * rule lives in the shared core, so one adapter runs it in full and the others a sample).
   */
  uniqueQueries?: number;
}

/** The scenarios, against one adapter and one kind of cache. */
export function describeHttpCaching(harness: Harness, options: ScenarioOptions = {}): void {
  const makeCache = options.makeCache ?? memoryCache;
  const uniqueQueries = options.uniqueQueries ?? 500;
  describe(`${harness.name} (${options.cacheName ?? 'memory'} cache): HTTP response caching`, () => {
    let server: TestServer | undefined;
    let cache: Cache;

    afterEach(async () => {
      await server?.close();
      server = undefined;
      // Leaves nothing behind in a shared store (each test's cache has a prefix or location of its own).
      await cache
        ?.clear()
        .then(() => cache.close())
        .catch(() => {});
    });

    async function start(routes: RouteSpec[]): Promise<TestServer> {
      cache = makeCache();
      server = await harness.start(routes, cache);
      return server;
    }

    function request(path: string, init: RequestInit = {}): Promise<Response> {
      return fetch(server!.url + path, init);
    }

    /** A GET route counting its handler runs. */
    function counted(
      spec: RouteCacheSpec,
      respond: (request: AppRequest, calls: number) => AppResponse | Promise<AppResponse>,
      path = '/page',
    ) {
      const state = { calls: 0 };
      const route: RouteSpec = {
        path,
        cache: spec,
        handler: (appRequest) => respond(appRequest, ++state.calls),
      };
      return { state, route };
    }

    const ttl = '60s';

    describe('what is cached', () => {
      it('stores a GET response and answers the next request from the cache, with Age and Cache-Status', async () => {
        const { state, route } = counted({ ttl }, (_r, calls) => ({
          body: `render ${calls}`,
          headers: { 'content-type': 'text/plain' },
        }));
        await start([route]);
        const first = await request('/page');
        expect(first.status).toBe(200);
        expect(await first.text()).toBe('render 1');
        expect(first.headers.get('x-cache')).toBe('MISS');
        expect(first.headers.get('cache-status')).toBe('skycache; fwd=uri-miss; stored');

        const second = await request('/page');
        expect(await second.text()).toBe('render 1');
        expect(second.headers.get('x-cache')).toBe('HIT');
        expect(second.headers.get('cache-status')).toMatch(/^skycache; hit; ttl=(59|60)$/);
        expect(second.headers.get('age')).toMatch(/^[01]$/);
        expect(second.headers.get('content-type')).toMatch(/^text\/plain/);
        expect(second.headers.get('etag')).toBe(first.headers.get('etag'));
        expect(state.calls).toBe(1);
      });

      it('collapses concurrent misses for one key into one handler run', async () => {
        const { state, route } = counted({ ttl }, async (_r, calls) => {
          await sleep(300);
          return { body: `render ${calls}` };
        });
        await start([route]);
        const responses = await Promise.all(Array.from({ length: 5 }, () => request('/page')));
        expect(state.calls).toBe(1);
        expect(await Promise.all(responses.map((r) => r.text()))).toEqual(
          Array(5).fill('render 1'),
        );
        const outcomes = responses.map(
          (r) => `${r.headers.get('x-cache')} ${r.headers.get('cache-status')}`,
        );
        expect(outcomes.filter((o) => o === 'MISS skycache; fwd=uri-miss; stored')).toHaveLength(1);
        // The others waited for that run; on a loaded machine one may arrive once it is stored.
        for (const outcome of outcomes) {
          expect(outcome).toMatch(
            /^(MISS skycache; fwd=uri-miss; (stored|collapsed)|HIT skycache; hit; ttl=\d+)$/,
          );
        }
        expect(outcomes.filter((o) => o.includes('collapsed')).length).toBeGreaterThanOrEqual(1);
      });

      it('runs every waiting request itself when the shared run turns out not storable', async () => {
        const { state, route } = counted({ ttl }, async (_r, calls) => {
          await sleep(100);
          return { body: `render ${calls}`, headers: { 'set-cookie': `visit=${calls}` } };
        });
        await start([route]);
        const responses = await Promise.all(Array.from({ length: 3 }, () => request('/page')));
        expect(state.calls).toBe(3);
        const bodies = await Promise.all(responses.map((r) => r.text()));
        expect(new Set(bodies).size).toBe(3);
      });

      it('answers HEAD from the GET entry without running the handler', async () => {
        const { state, route } = counted({ ttl }, () => ({ body: 'twelve bytes' }));
        await start([route]);
        await request('/page');
        const head = await request('/page', { method: 'HEAD' });
        expect(head.status).toBe(200);
        expect(head.headers.get('x-cache')).toBe('HIT');
        expect(head.headers.get('content-length')).toBe('12');
        expect(await head.text()).toBe('');
        expect(state.calls).toBe(1);
      });

      it('runs the handler for a HEAD miss and stores nothing', async () => {
        const { state, route } = counted({ ttl }, () => ({ body: 'page' }));
        await start([route]);
        const head = await request('/page', { method: 'HEAD' });
        expect(head.headers.get('x-cache')).toBe('MISS');
        expect(await entryCount(cache)).toBe(0);
        expect((await request('/page')).headers.get('x-cache')).toBe('MISS');
        expect(state.calls).toBe(2);
      });

      it('keys the query sorted, without tracking parameters', async () => {
        const { state, route } = counted({ ttl }, (r) => ({ body: r.url }));
        await start([route]);
        await request('/page?b=2&a=1');
        const same = await request('/page?a=1&utm_source=news&b=2&fbclid=xyz');
        expect(same.headers.get('x-cache')).toBe('HIT');
        expect((await request('/page?a=1&b=3')).headers.get('x-cache')).toBe('MISS');
        expect(state.calls).toBe(2);
      });

      it('with a query list, keys the listed parameters and bypasses on any other', async () => {
        const { state, route } = counted({ ttl, query: ['page'] }, (r) => ({ body: r.url }));
        await start([route]);
        expect((await request('/page?page=2')).headers.get('x-cache')).toBe('MISS');
        expect((await request('/page?page=2&utm_campaign=x')).headers.get('x-cache')).toBe('HIT');
        const other = await request('/page?page=2&sort=price');
        expect(other.headers.get('x-cache')).toBe('BYPASS');
        expect(other.headers.get('cache-status')).toBe('skycache; fwd=bypass');
        expect(state.calls).toBe(2);
        expect(await entryCount(cache)).toBe(1);
      });

      it('stores one variant per value of the headers the response varies on (normalized)', async () => {
        const { state, route } = counted({ ttl }, (r) => ({
          body: `lang ${r.headers['accept-language']} enc ${r.headers['accept-encoding']}`,
          headers: { vary: 'Accept-Language, Accept-Encoding' },
        }));
        await start([route]);
        const en = { 'accept-language': 'en-US,en;q=0.9', 'accept-encoding': 'gzip, br' };
        const fr = { 'accept-language': 'fr', 'accept-encoding': 'gzip, br' };
        expect(await (await request('/page', { headers: en })).text()).toContain('en-US');
        expect(await (await request('/page', { headers: fr })).text()).toContain('fr');
        const enAgain = await request('/page', {
          headers: { 'accept-language': 'en-us, en;q=0.9', 'accept-encoding': 'br,gzip' },
        });
        expect(enAgain.headers.get('x-cache')).toBe('HIT');
        expect(await enAgain.text()).toContain('en-US');
        const frAgain = await request('/page', { headers: fr });
        expect(frAgain.headers.get('x-cache')).toBe('HIT');
        expect(await frAgain.text()).toContain('fr');
        expect(state.calls).toBe(2);
      });

      it('keys the route vary headers and adds them to the Vary header', async () => {
        const { state, route } = counted({ ttl, vary: ['X-Tenant'] }, (r) => ({
          body: `tenant ${r.headers['x-tenant']}`,
        }));
        await start([route]);
        const a = await request('/page', { headers: { 'x-tenant': 'a' } });
        expect(a.headers.get('vary')?.toLowerCase()).toContain('x-tenant');
        await request('/page', { headers: { 'x-tenant': 'b' } });
        const again = await request('/page', { headers: { 'x-tenant': 'a' } });
        expect(await again.text()).toBe('tenant a');
        expect(again.headers.get('x-cache')).toBe('HIT');
        expect(again.headers.get('vary')?.toLowerCase()).toContain('x-tenant');
        expect(state.calls).toBe(2);
      });

      it('stores a streamed body that ends within maxBodyBytes', async () => {
        const { state, route } = counted({ ttl, maxBodyBytes: 1000 }, () => ({
          chunks: ['a'.repeat(100), 'b'.repeat(100), 'c'.repeat(100)],
          chunkDelayMs: 5,
        }));
        await start([route]);
        const first = await (await request('/page')).text();
        const second = await request('/page');
        expect(second.headers.get('x-cache')).toBe('HIT');
        expect(await second.text()).toBe(first);
        expect(first).toHaveLength(300);
        expect(state.calls).toBe(1);
      });

      it('stores listed statuses only (200 by default)', async () => {
        const missing = counted({ ttl }, () => ({ status: 404, body: 'no such page' }), '/missing');
        const gone = counted(
          { ttl, statuses: [200, 404] },
          () => ({ status: 404, body: 'no such page' }),
          '/gone',
        );
        await start([missing.route, gone.route]);
        await request('/missing');
        expect((await request('/missing')).headers.get('x-cache')).toBe('MISS');
        await request('/gone');
        const hit = await request('/gone');
        expect(hit.status).toBe(404);
        expect(hit.headers.get('x-cache')).toBe('HIT');
        expect([missing.state.calls, gone.state.calls]).toEqual([2, 1]);
      });

      it('expires an entry after ttl', async () => {
        const { state, route } = counted({ ttl: '200ms' }, (_r, calls) => ({
          body: `render ${calls}`,
        }));
        await start([route]);
        await request('/page');
        await sleep(300);
        expect(await (await request('/page')).text()).toBe('render 2');
        expect(state.calls).toBe(2);
      });

      it('uses a custom key (still per path)', async () => {
        const { state, route } = counted(
          { ttl, key: (r) => new URL(r.url, 'http://x').searchParams.get('q') ?? '' },
          (r) => ({ body: r.url }),
          '/search',
        );
        await start([route]);
        await request('/search?q=cats&session=1');
        expect((await request('/search?q=cats&session=2')).headers.get('x-cache')).toBe('HIT');
        expect((await request('/search?q=dogs')).headers.get('x-cache')).toBe('MISS');
        expect((await request('/search')).headers.get('x-cache')).toBe('BYPASS');
        expect(state.calls).toBe(3);
      });
    });

    describe('what is never cached', () => {
      it('never stores a 500', async () => {
        const { state, route } = counted({ ttl }, () => ({ fail: true }));
        await start([route]);
        expect((await request('/page')).status).toBe(500);
        expect((await request('/page')).status).toBe(500);
        expect(state.calls).toBe(2);
        expect(await entryCount(cache)).toBe(0);
      });

      it('never serves a Set-Cookie response from the cache', async () => {
        const { state, route } = counted({ ttl }, (_r, calls) => ({
          body: `hello ${calls}`,
          headers: { 'set-cookie': `session=s${calls}; HttpOnly` },
        }));
        await start([route]);
        const first = await request('/page');
        expect(first.headers.get('set-cookie')).toContain('session=s1');
        const second = await request('/page');
        expect(second.headers.get('x-cache')).toBe('MISS');
        expect(second.headers.get('set-cookie')).toContain('session=s2');
        expect(state.calls).toBe(2);
        expect(await entryCount(cache)).toBe(0);
      });

      it.each([
        'private',
        'no-store',
        'no-cache',
        'private, max-age=60',
        'no-cache, no-cache="X-A"',
      ])('never stores a response with Cache-Control: %s', async (directive) => {
        const { state, route } = counted({ ttl }, () => ({
          body: 'mine',
          headers: { 'cache-control': directive },
        }));
        await start([route]);
        await request('/page');
        expect((await request('/page')).headers.get('x-cache')).toBe('MISS');
        expect(state.calls).toBe(2);
        expect(await entryCount(cache)).toBe(0);
      });

      it('never stores a response with Vary: *', async () => {
        const { state, route } = counted({ ttl }, () => ({ body: 'x', headers: { vary: '*' } }));
        await start([route]);
        await request('/page');
        await request('/page');
        expect(state.calls).toBe(2);
      });

      it('never stores text/event-stream', async () => {
        const { state, route } = counted({ ttl }, () => ({
          headers: { 'content-type': 'text/event-stream' },
          chunks: ['data: 1\n\n', 'data: 2\n\n'],
        }));
        await start([route]);
        expect(await (await request('/page')).text()).toBe('data: 1\n\ndata: 2\n\n');
        await request('/page');
        expect(state.calls).toBe(2);
      });

      it('serves a streamed body over maxBodyBytes whole, and does not store it', async () => {
        const { state, route } = counted({ ttl, maxBodyBytes: 1000 }, () => ({
          chunks: Array.from({ length: 10 }, (_, i) => String(i).repeat(200)),
          chunkDelayMs: 2,
        }));
        await start([route]);
        const first = await (await request('/page')).text();
        expect(first).toBe(Array.from({ length: 10 }, (_, i) => String(i).repeat(200)).join(''));
        const second = await request('/page');
        expect(second.headers.get('x-cache')).toBe('MISS');
        expect(await second.text()).toBe(first);
        expect(state.calls).toBe(2);
        expect(await entryCount(cache)).toBe(0);
      });

      it('does not store a complete body over maxBodyBytes', async () => {
        const { state, route } = counted({ ttl, maxBodyBytes: 10 }, () => ({
          body: 'x'.repeat(11),
        }));
        await start([route]);
        expect(await (await request('/page')).text()).toHaveLength(11);
        await request('/page');
        expect(state.calls).toBe(2);
      });

      it('never answers a Range request from the cache', async () => {
        const { state, route } = counted({ ttl }, () => ({ body: 'abcdef' }));
        await start([route]);
        await request('/page');
        const ranged = await request('/page', { headers: { range: 'bytes=0-1' } });
        expect(ranged.headers.get('x-cache')).toBe('BYPASS');
        expect(state.calls).toBe(2);
      });

      it('honours a request no-store by not storing; the cache may still answer it', async () => {
        const { state, route } = counted({ ttl }, (_r, calls) => ({ body: `render ${calls}` }));
        await start([route]);
        const noStore = { 'cache-control': 'no-store' };
        expect((await request('/page', { headers: noStore })).headers.get('x-cache')).toBe('MISS');
        expect(await entryCount(cache)).toBe(0);
        await request('/page');
        expect((await request('/page', { headers: noStore })).headers.get('x-cache')).toBe('HIT');
        expect(state.calls).toBe(2);
      });

      it('does not let a client force origin work with no-cache or max-age=0', async () => {
        const { state, route } = counted({ ttl }, () => ({ body: 'page' }));
        await start([route]);
        await request('/page');
        for (const value of ['no-cache', 'max-age=0']) {
          expect(
            (
              await request('/page', { headers: { 'cache-control': value, pragma: 'no-cache' } })
            ).headers.get('x-cache'),
          ).toBe('HIT');
        }
        expect(state.calls).toBe(1);
      });

      it('bypasses when the bypass predicate says so', async () => {
        const { state, route } = counted(
          { ttl, bypass: (r) => r.headers['x-admin'] === '1' },
          (_r, calls) => ({ body: `render ${calls}` }),
        );
        await start([route]);
        await request('/page');
        const admin = await request('/page', { headers: { 'x-admin': '1' } });
        expect(admin.headers.get('x-cache')).toBe('BYPASS');
        expect(await admin.text()).toBe('render 2');
        expect((await request('/page')).headers.get('x-cache')).toBe('HIT');
        expect(state.calls).toBe(2);
      });
    });

    describe('leaks that must not happen', () => {
      const greeting = (r: AppRequest): AppResponse => ({ body: `hello ${r.user ?? 'nobody'}` });

      it("never serves Alice's authenticated page to Bob (anonymous scope: credentials bypass)", async () => {
        const { route } = counted({ ttl }, greeting);
        await start([route]);
        const alice = await request('/page', { headers: { authorization: 'Bearer alice' } });
        expect(await alice.text()).toBe('hello alice');
        expect(alice.headers.get('x-cache')).toBe('BYPASS');
        expect(await (await request('/page')).text()).toBe('hello nobody');
        expect(await (await request('/page')).text()).toBe('hello nobody');
        const bob = await request('/page', { headers: { authorization: 'Bearer bob' } });
        expect(await bob.text()).toBe('hello bob');
        expect(await entryCount(cache)).toBe(1);
      });

      it("keeps one entry per user with scope 'user'", async () => {
        const { state, route } = counted({ ttl, scope: 'user', userKey: (r) => r.user }, greeting);
        await start([route]);
        const as = (user: string) =>
          request('/page', { headers: { authorization: `Bearer ${user}` } });
        expect(await (await as('alice')).text()).toBe('hello alice');
        expect(await (await as('bob')).text()).toBe('hello bob');
        const aliceAgain = await as('alice');
        expect(aliceAgain.headers.get('x-cache')).toBe('HIT');
        expect(await aliceAgain.text()).toBe('hello alice');
        expect(await (await as('bob')).text()).toBe('hello bob');
        expect(state.calls).toBe(2);
        // No user key (anonymous, or userKey returned nothing): bypass.
        expect((await request('/page')).headers.get('x-cache')).toBe('BYPASS');
      });

      it('never lets a cached page skip authorization', async () => {
        const { route } = counted({ ttl, scope: 'public' }, () => ({ body: 'members only' }));
        await start([route]);
        await request('/page');
        const mallory = await request('/page', { headers: { authorization: 'Bearer mallory' } });
        expect(mallory.status).toBe(403);
        expect(await mallory.text()).not.toContain('members only');
      });

      it('bypasses requests carrying a cookie that is not allowlisted; keys allowlisted ones by value', async () => {
        const { state, route } = counted({ ttl, cookies: ['theme'] }, (r) => ({
          body: `cookies: ${r.headers.cookie ?? ''}`,
        }));
        await start([route]);
        const session = await request('/page', { headers: { cookie: 'session=alice-secret' } });
        expect(session.headers.get('x-cache')).toBe('BYPASS');
        await request('/page', { headers: { cookie: 'theme=dark' } });
        await request('/page', { headers: { cookie: 'theme=light' } });
        const dark = await request('/page', { headers: { cookie: 'theme=dark' } });
        expect(dark.headers.get('x-cache')).toBe('HIT');
        expect(await dark.text()).toBe('cookies: theme=dark');
        expect(
          (await request('/page', { headers: { cookie: 'theme=dark; session=x' } })).headers.get(
            'x-cache',
          ),
        ).toBe('BYPASS');
        expect(state.calls).toBe(4);
      });

      it('respects Vary: Authorization (public scope does not store it; user scope keys it)', async () => {
        const varying = (r: AppRequest): AppResponse => ({
          body: `hello ${r.user ?? 'nobody'}`,
          headers: { vary: 'Authorization' },
        });
        const publicRoute = counted({ ttl, scope: 'public' }, varying, '/public');
        const userRoute = counted({ ttl, scope: 'user', userKey: (r) => r.user }, varying, '/user');
        await start([publicRoute.route, userRoute.route]);
        const alice = { authorization: 'Bearer alice' };
        const bob = { authorization: 'Bearer bob' };
        expect(await (await request('/public', { headers: alice })).text()).toBe('hello alice');
        expect(await (await request('/public', { headers: bob })).text()).toBe('hello bob');
        expect(publicRoute.state.calls).toBe(2);
        await request('/user', { headers: alice });
        expect(await (await request('/user', { headers: bob })).text()).toBe('hello bob');
        const aliceAgain = await request('/user', { headers: alice });
        expect(aliceAgain.headers.get('x-cache')).toBe('HIT');
        expect(await aliceAgain.text()).toBe('hello alice');
      });

      it('cannot be poisoned through an unkeyed X-Forwarded-Host', async () => {
        const { route } = counted({ ttl }, (r) => ({
          body: `<script src="//${r.headers['x-forwarded-host'] ?? 'app.example'}/app.js">`,
        }));
        await start([route]);
        const attack = await request('/page', { headers: { 'x-forwarded-host': 'evil.example' } });
        expect(attack.headers.get('x-cache')).toBe('BYPASS');
        expect(await entryCount(cache)).toBe(0);
        await request('/page');
        const victim = await request('/page');
        expect(victim.headers.get('x-cache')).toBe('HIT');
        expect(await victim.text()).not.toContain('evil');
      });

      it('accepts a forwarded host from the hosts list, keyed', async () => {
        const { state, route } = counted({ ttl, hosts: ['127.0.0.1', 'cdn.example'] }, (r) => ({
          body: `host ${r.headers['x-forwarded-host'] ?? '-'}`,
        }));
        await start([route]);
        const viaCdn = { 'x-forwarded-host': 'cdn.example' };
        await request('/page', { headers: viaCdn });
        expect(await (await request('/page')).text()).toBe('host -');
        const again = await request('/page', { headers: viaCdn });
        expect(again.headers.get('x-cache')).toBe('HIT');
        expect(await again.text()).toBe('host cdn.example');
        expect(state.calls).toBe(2);
        const evil = await request('/page', { headers: { 'x-forwarded-host': 'evil.example' } });
        expect(evil.headers.get('x-cache')).toBe('BYPASS');
      });

      it('does not make /account/x.css on a private /account/:id route cacheable (cache deception)', async () => {
        const { route } = counted(
          { ttl },
          (r) => ({
            body: `account page of ${r.headers.cookie ?? 'nobody'}`,
            headers: { 'content-type': 'text/css' },
          }),
          '/account/:id',
        );
        await start([route]);
        const alice = await request('/account/x.css', { headers: { cookie: 'session=alice' } });
        expect(alice.headers.get('x-cache')).toBe('BYPASS');
        expect(await entryCount(cache)).toBe(0);
        const attacker = await request('/account/x.css');
        expect(await attacker.text()).toBe('account page of nobody');
      });

      it(`does not create an entry per unique query string with unallowlisted parameters (${uniqueQueries})`, async () => {
        const { state, route } = counted(
          { ttl, query: ['page'] },
          () => ({ body: 'list' }),
          '/list',
        );
        await start([route]);
        await hammer(uniqueQueries, 64, async (i) => {
          const response = await request(`/list?page=1&cachebuster=${i}`);
          await response.arrayBuffer();
        });
        expect(await entryCount(cache)).toBe(0);
        expect(state.calls).toBe(uniqueQueries);
        // Tracking parameters never multiply entries either, under the default query: 'all'.
        const tracked = counted({ ttl }, () => ({ body: 'landing' }), '/landing');
        await server!.close();
        await start([tracked.route]);
        await hammer(300, 32, async (i) =>
          (await request(`/landing?utm_source=${i}&gclid=${i}`)).arrayBuffer(),
        );
        expect(await entryCount(cache)).toBe(1);
        expect(tracked.state.calls).toBe(1);
        // Thousands of real requests: generous on a loaded machine.
      }, 180_000);
    });

    describe('conditional requests', () => {
      it('answers If-None-Match from the entry with 304 and the headers RFC 9110 requires', async () => {
        const { state, route } = counted({ ttl }, () => ({
          body: 'page',
          headers: {
            'cache-control': 'public, max-age=5',
            vary: 'Accept-Language',
            'content-type': 'text/plain',
          },
        }));
        await start([route]);
        const first = await request('/page', { headers: { 'accept-language': 'en' } });
        const etag = first.headers.get('etag')!;
        expect(etag).toMatch(/^"[\w-]{27}"$/);
        const conditional = (value: string) =>
          request('/page', { headers: { 'accept-language': 'en', 'if-none-match': value } });
        for (const value of [etag, `W/${etag}`, `"other", ${etag}`, '*']) {
          const response = await conditional(value);
          expect(response.status).toBe(304);
          expect(response.headers.get('etag')).toBe(etag);
          expect(response.headers.get('vary')).toBe('Accept-Language');
          expect(response.headers.get('cache-control')).toBe('public, max-age=5');
          expect(response.headers.get('x-cache')).toBe('HIT');
          expect(response.headers.get('content-type')).toBeNull();
          expect(await response.text()).toBe('');
        }
        const stale = await conditional('"something-else"');
        expect(stale.status).toBe(200);
        expect(await stale.text()).toBe('page');
        expect(state.calls).toBe(1);
      });

      it('gives the same content-hash ETag after the entry is made again', async () => {
        const { route } = counted({ ttl }, () => ({ body: 'stable' }));
        await start([route]);
        const before = (await request('/page')).headers.get('etag');
        await server!.invalidate({ path: '/page' });
        const after = await request('/page');
        expect(after.headers.get('x-cache')).toBe('MISS');
        expect(after.headers.get('etag')).toBe(before);
      });

      it('answers 304 on a miss whose fresh ETag matches If-None-Match', async () => {
        const { route } = counted({ ttl }, () => ({ body: 'page' }));
        await start([route]);
        const etag = (await request('/page')).headers.get('etag')!;
        await server!.invalidate({ path: '/page' });
        const miss = await request('/page', { headers: { 'if-none-match': etag } });
        expect(miss.status).toBe(304);
        expect(miss.headers.get('cache-status')).toBe('skycache; fwd=uri-miss; stored');
        // The full response was stored all the same.
        expect(await (await request('/page')).text()).toBe('page');
      });

      it('keeps an ETag the app set', async () => {
        const { route } = counted({ ttl }, () => ({ body: 'page', headers: { etag: '"v1"' } }));
        await start([route]);
        expect((await request('/page')).headers.get('etag')).toBe('"v1"');
        const hit = await request('/page');
        expect(hit.headers.get('etag')).toBe('"v1"');
        expect((await request('/page', { headers: { 'if-none-match': 'W/"v1"' } })).status).toBe(
          304,
        );
      });

      it('answers If-Modified-Since against the stored Last-Modified', async () => {
        const lastModified = 'Wed, 21 Oct 2015 07:28:00 GMT';
        const { route } = counted({ ttl }, () => ({
          body: 'page',
          headers: { 'last-modified': lastModified },
        }));
        await start([route]);
        await request('/page');
        expect(
          (await request('/page', { headers: { 'if-modified-since': lastModified } })).status,
        ).toBe(304);
        expect(
          (
            await request('/page', {
              headers: { 'if-modified-since': 'Tue, 20 Oct 2015 07:28:00 GMT' },
            })
          ).status,
        ).toBe(200);
      });
    });

    describe('headers', () => {
      it("leaves the app's Cache-Control alone: the server TTL is not what clients are told", async () => {
        const { state, route } = counted({ ttl }, () => ({
          body: 'page',
          headers: { 'cache-control': 'max-age=0, must-revalidate' },
        }));
        await start([route]);
        expect((await request('/page')).headers.get('cache-control')).toBe(
          'max-age=0, must-revalidate',
        );
        const hit = await request('/page');
        expect(hit.headers.get('cache-control')).toBe('max-age=0, must-revalidate');
        expect(state.calls).toBe(1);
      });

      it('sends the cacheControl option when the app sets none, on cacheable responses only', async () => {
        const { route } = counted({ ttl, cacheControl: 'public, max-age=30' }, () => ({
          body: 'page',
        }));
        await start([route]);
        expect((await request('/page')).headers.get('cache-control')).toBe('public, max-age=30');
        expect((await request('/page')).headers.get('cache-control')).toBe('public, max-age=30');
        const bypassed = await request('/page', { headers: { authorization: 'Bearer alice' } });
        expect(bypassed.headers.get('cache-control')).not.toBe('public, max-age=30');
      });

      it('names the status header as configured, or sends none', async () => {
        const renamed = counted(
          { ttl, statusHeader: 'X-Page-Cache' },
          () => ({ body: 'a' }),
          '/renamed',
        );
        const silent = counted({ ttl, statusHeader: false }, () => ({ body: 'b' }), '/silent');
        await start([renamed.route, silent.route]);
        await request('/renamed');
        expect((await request('/renamed')).headers.get('x-page-cache')).toBe('HIT');
        await request('/silent');
        const hit = await request('/silent');
        expect(hit.headers.get('x-cache')).toBeNull();
        expect(hit.headers.get('cache-status')).toMatch(/^skycache; hit/);
      });
    });

    describe('replaying the response as it was sent', () => {
      /** Headers a handler sends that a hit must send again, field line for field line. */
      const replayed = ['x-total-count', 'link', 'x-multi', 'content-language', 'x-custom-meta'];

      it('replays every header the handler sent, multi-valued ones line for line, except hop-by-hop, Date and omitHeaders', async () => {
        const { state, route } = counted({ ttl, omitHeaders: ['X-Debug'] }, (_r, calls) => ({
          body: `[${calls}]`,
          headers: {
            'content-type': 'application/json',
            'x-total-count': '42',
            link: '</items?page=2>; rel="next", </items?page=9>; rel="last"',
            'x-multi': ['one', 'two, three'],
            'content-language': 'fr',
            'x-custom-meta': 'a=1;b=2',
            'x-debug': `render ${calls}`,
            date: 'Wed, 21 Oct 2015 07:28:00 GMT',
            connection: 'keep-alive, X-Hop',
            'x-hop': 'hop-by-hop',
          },
        }));
        await start([route]);
        const miss = await rawGet(`${server!.url}/page`);
        expect(miss.body).toBe('[1]');
        expect(linesOf(miss, ['x-total-count'])).toEqual([['x-total-count', '42']]);
        expect(linesOf(miss, ['x-hop'])).toEqual([['x-hop', 'hop-by-hop']]);
        const hit = await rawGet(`${server!.url}/page`);
        expect(linesOf(hit, ['x-cache'])).toEqual([['x-cache', 'HIT']]);
        expect(hit.body).toBe('[1]');
        expect(linesOf(hit, replayed)).toEqual(linesOf(miss, replayed));
        expect(linesOf(hit, ['content-type'])).toEqual(linesOf(miss, ['content-type']));
        // Never replayed: the field Connection named, the omitted header, the old Date.
        expect(linesOf(hit, ['x-hop', 'x-debug'])).toEqual([]);
        expect(linesOf(hit, ['connection'])).not.toContainEqual([
          'connection',
          'keep-alive, X-Hop',
        ]);
        const date = linesOf(hit, ['date']);
        expect(date).toHaveLength(1);
        expect(date[0]![1]).not.toContain('2015');
        expect(state.calls).toBe(1);
      });

      it('never stores a Set-Cookie response, whatever else it carries', async () => {
        const { state, route } = counted({ ttl }, (_r, calls) => ({
          body: `hello ${calls}`,
          headers: { 'x-total-count': '1', 'set-cookie': ['a=1', `b=${calls}`] },
        }));
        await start([route]);
        await request('/page');
        const second = await request('/page');
        expect(second.headers.get('x-cache')).toBe('MISS');
        expect(second.headers.get('set-cookie')).toContain('b=2');
        expect(state.calls).toBe(2);
        expect(await entryCount(cache)).toBe(0);
      });

      it('stores a response whose Cache-Control names fields (private="…", no-cache="…") without them', async () => {
        const { state, route } = counted({ ttl }, (_r, calls) => ({
          body: `page ${calls}`,
          headers: {
            'cache-control': 'max-age=5, private="X-User", no-cache="X-Trace, X-Other"',
            'x-user': `alice ${calls}`,
            'x-trace': `trace ${calls}`,
            'x-other': 'other',
            'x-kept': 'kept',
          },
        }));
        await start([route]);
        await request('/page');
        const hit = await request('/page');
        expect(hit.headers.get('x-cache')).toBe('HIT');
        expect(await hit.text()).toBe('page 1');
        expect(hit.headers.get('x-kept')).toBe('kept');
        expect(hit.headers.get('x-user')).toBeNull();
        expect(hit.headers.get('x-trace')).toBeNull();
        expect(hit.headers.get('x-other')).toBeNull();
        expect(state.calls).toBe(1);
      });

      it('never answers a request keyed or ruled otherwise with a page its URL already has hot', async () => {
        const { state, route } = counted({ ttl }, (r, calls) => ({
          body: `render ${calls} proto ${r.headers['x-forwarded-proto'] ?? '-'}`,
        }));
        await start([route]);
        const cacheOf = async (headers: Record<string, string> = {}) =>
          (await request('/page', { headers })).headers.get('x-cache');
        // Hot: the plan and the entry of /page are known, and hits are answered at once.
        expect([await cacheOf(), await cacheOf(), await cacheOf()]).toEqual(['MISS', 'HIT', 'HIT']);
        expect(await cacheOf({ cookie: 'session=alice' })).toBe('BYPASS');
        expect(await cacheOf({ authorization: 'Bearer alice' })).toBe('BYPASS');
        expect(await cacheOf({ range: 'bytes=0-1' })).toBe('BYPASS');
        expect(await cacheOf({ 'x-forwarded-host': 'evil.example' })).toBe('BYPASS');
        expect(await cacheOf({ 'x-http-method-override': 'DELETE' })).toBe('BYPASS');
        const https = await request('/page', { headers: { 'x-forwarded-proto': 'https' } });
        expect(https.headers.get('x-cache')).toBe('MISS');
        expect(await https.text()).toBe('render 7 proto https');
        const plain = await request('/page');
        expect(plain.headers.get('x-cache')).toBe('HIT');
        expect(await plain.text()).toBe('render 1 proto -');
        expect(state.calls).toBe(7);
      });

      it('keys the Host exactly as the handler sees it: a differently spelled host never gets its page', async () => {
        const { state, route } = counted({ ttl }, (r) => ({ body: `host ${r.headers.host}` }));
        await start([route]);
        const port = new URL(server!.url).port;
        const shouting = await rawGet(`${server!.url}/page`, { host: `LOCALHOST:${port}` });
        expect(shouting.body).toBe(`host LOCALHOST:${port}`);
        const normal = await rawGet(`${server!.url}/page`, { host: `localhost:${port}` });
        expect(normal.body).toBe(`host localhost:${port}`);
        expect(linesOf(normal, ['x-cache'])).toEqual([['x-cache', 'MISS']]);
        const again = await rawGet(`${server!.url}/page`, { host: `LOCALHOST:${port}` });
        expect(linesOf(again, ['x-cache'])).toEqual([['x-cache', 'HIT']]);
        expect(again.body).toBe(`host LOCALHOST:${port}`);
        expect(state.calls).toBe(2);
      });
    });

    describe('invalidation', () => {
      it('lets a 2xx/3xx POST, PUT, PATCH or DELETE invalidate the cached entries of its path', async () => {
        const { state, route } = counted(
          { ttl },
          (_r, calls) => ({ body: `render ${calls}` }),
          '/items/:id',
        );
        let writeStatus = 201;
        const writes = (['POST', 'PUT', 'PATCH', 'DELETE'] as const).map((method): RouteSpec => ({
          method,
          path: '/items/:id',
          cache: { ttl },
          handler: () => ({ status: writeStatus, body: 'ok' }),
        }));
        await start([route, ...writes]);
        await request('/items/1');
        await request('/items/1?view=full');
        await request('/items/2');
        const post = await request('/items/1', { method: 'POST' });
        expect(post.headers.get('x-cache')).toBe('BYPASS');
        expect(post.headers.get('cache-status')).toBe('skycache; fwd=method');
        expect((await request('/items/1')).headers.get('x-cache')).toBe('MISS');
        expect((await request('/items/1?view=full')).headers.get('x-cache')).toBe('MISS');
        expect((await request('/items/2')).headers.get('x-cache')).toBe('HIT');
        for (const method of ['PUT', 'PATCH', 'DELETE']) {
          await request('/items/2', { method });
          expect((await request('/items/2')).headers.get('x-cache')).toBe('MISS');
        }
        writeStatus = 400;
        await request('/items/2', { method: 'POST' });
        expect((await request('/items/2')).headers.get('x-cache')).toBe('HIT');
        expect(state.calls).toBe(3 + 2 + 3);
      });

      it('invalidate({ path }) removes every variant of that path', async () => {
        const { route } = counted(
          { ttl, scope: 'user', userKey: (r) => r.user },
          (r) => ({ body: `${r.user} ${r.url}` }),
          '/items/:id',
        );
        await start([route]);
        const alice = { authorization: 'Bearer alice' };
        const bob = { authorization: 'Bearer bob' };
        for (const headers of [alice, bob]) {
          await request('/items/1?a=1', { headers });
          await request('/items/2', { headers });
        }
        await server!.invalidate({ path: '/items/1?ignored=1' });
        expect((await request('/items/1?a=1', { headers: alice })).headers.get('x-cache')).toBe(
          'MISS',
        );
        expect((await request('/items/1?a=1', { headers: bob })).headers.get('x-cache')).toBe(
          'MISS',
        );
        expect((await request('/items/2', { headers: bob })).headers.get('x-cache')).toBe('HIT');
      });

      it('invalidate({ tags }) makes every entry carrying a tag miss', async () => {
        const list = counted({ ttl, tags: ['items'] }, () => ({ body: 'list' }), '/items');
        const item = counted(
          { ttl, tags: (r) => ['items', `item:${r.url.split('/')[2]}`] },
          (r) => ({ body: r.url }),
          '/items/:id',
        );
        const other = counted({ ttl, tags: ['users'] }, () => ({ body: 'users' }), '/users');
        await start([list.route, item.route, other.route]);
        for (const path of ['/items', '/items/1', '/items/2', '/users']) await request(path);
        await server!.invalidate({ tags: ['item:1'], cache });
        expect((await request('/items/1')).headers.get('x-cache')).toBe('MISS');
        expect((await request('/items/2')).headers.get('x-cache')).toBe('HIT');
        await server!.invalidate({ tags: ['items'], cache });
        expect((await request('/items')).headers.get('x-cache')).toBe('MISS');
        expect((await request('/items/2')).headers.get('x-cache')).toBe('MISS');
        expect((await request('/users')).headers.get('x-cache')).toBe('HIT');
      });
      it("uses the cache's tags: the app's own deleteByTag reaches tagged pages, which never come back", async () => {
        const { state, route } = counted(
          { ttl, tags: ['products'] },
          (_r, calls) => ({ body: `products ${calls}` }),
          '/products',
        );
        await start([route]);
        await request('/products');
        expect((await request('/products')).headers.get('x-cache')).toBe('HIT');
        await cache.deleteByTag('products');
        const after = await request('/products');
        expect(after.headers.get('x-cache')).toBe('MISS');
        expect(await after.text()).toBe('products 2');
        await server!.invalidate({ tags: ['products'], cache });
        await server!.invalidate({ tags: ['products'], cache });
        expect(await (await request('/products')).text()).toBe('products 3');
        const hit = await request('/products');
        expect(hit.headers.get('x-cache')).toBe('HIT');
        expect(await hit.text()).toBe('products 3');
        expect(state.calls).toBe(3);
      });
    });

    describe('resilience', () => {
      it('staleWhileRevalidate: one request refreshes an expired entry while the others get the stale copy', async () => {
        const { state, route } = counted(
          { ttl: '200ms', staleWhileRevalidate: '10s' },
          async (_r, calls) => {
            if (calls > 1) await sleep(150);
            return { body: `render ${calls}` };
          },
        );
        await start([route]);
        await request('/page');
        await sleep(300);
        const responses = await Promise.all(Array.from({ length: 4 }, () => request('/page')));
        const bodies = await Promise.all(responses.map((r) => r.text()));
        expect(bodies.filter((body) => body === 'render 2')).toHaveLength(1);
        expect(bodies.filter((body) => body === 'render 1')).toHaveLength(3);
        const stale = responses.filter((r) => r.headers.get('x-cache') === 'HIT');
        expect(stale).toHaveLength(3);
        expect(stale[0]!.headers.get('cache-status')).toMatch(/^skycache; hit; ttl=-\d+$/);
        const fresh = await request('/page');
        expect(fresh.headers.get('x-cache')).toBe('HIT');
        expect(await fresh.text()).toBe('render 2');
        expect(state.calls).toBe(2);
      });

      it('staleIfError: a 5xx after expiry is replaced by the stale copy', async () => {
        let failing = false;
        const { route } = counted({ ttl: '200ms', staleIfError: '10s' }, (_r, calls) =>
          failing ? { fail: true } : { body: `render ${calls}` },
        );
        const plain = counted(
          { ttl: '200ms' },
          (_r, calls) => (failing ? { fail: true } : { body: `render ${calls}` }),
          '/plain',
        );
        await start([route, plain.route]);
        await request('/page');
        await request('/plain');
        await sleep(300);
        failing = true;
        const rescued = await request('/page');
        expect(rescued.status).toBe(200);
        expect(await rescued.text()).toBe('render 1');
        expect(rescued.headers.get('x-cache')).toBe('HIT');
        expect((await request('/plain')).status).toBe(500);
      });

      it('fails open: with the backend down the handler runs and the response is served', async () => {
        const broken = brokenCache();
        const plain = counted(
          { ttl, cache: broken },
          (_r, calls) => ({ body: `render ${calls}` }),
          '/plain',
        );
        const tagged = counted(
          { ttl, cache: broken, tags: ['t'] },
          (_r, calls) => ({ body: `tagged ${calls}` }),
          '/tagged',
        );
        await start([plain.route, tagged.route]);
        for (const path of ['/plain', '/tagged']) {
          const response = await request(path);
          expect(response.status).toBe(200);
          expect(response.headers.get('x-cache')).toBe('MISS');
        }
        expect(await (await request('/plain')).text()).toBe('render 2');
        expect(await (await request('/tagged')).text()).toBe('tagged 2');
        // Invalidation reports the failure to its caller.
        await expect(server!.invalidate({ path: '/plain', cache: broken })).rejects.toThrow();
        await broken.close().catch(() => {});
      });

      it('says stored only when the store acknowledged: backend-error when the write failed or the backend is down', async () => {
        const failingWrites = writeFailingCache();
        const down = brokenCache();
        const writes = counted(
          { ttl, cache: failingWrites },
          (_r, calls) => ({ body: `render ${calls}` }),
          '/writes',
        );
        const outage = counted(
          { ttl, cache: down },
          (_r, calls) => ({ body: `render ${calls}` }),
          '/outage',
        );
        const healthy = counted({ ttl }, () => ({ body: 'fine' }), '/healthy');
        await start([writes.route, outage.route, healthy.route]);
        try {
          for (const path of ['/writes', '/outage']) {
            for (let i = 0; i < 3; i++) {
              const response = await request(path);
              expect(response.status).toBe(200);
              expect(response.headers.get('x-cache')).toBe('MISS');
              expect(response.headers.get('cache-status')).toBe(
                'skycache; fwd=uri-miss; detail=backend-error',
              );
            }
          }
          expect([writes.state.calls, outage.state.calls]).toEqual([3, 3]);
          expect((await request('/healthy')).headers.get('cache-status')).toBe(
            'skycache; fwd=uri-miss; stored',
          );
        } finally {
          await Promise.all([failingWrites.close(), down.close()].map((p) => p.catch(() => {})));
        }
      });

      it('invalidate() tries every cache, reports the failed ones together, and forgets closed caches', async () => {
        const down = brokenCache('pages-down');
        const closedLater = brokenCache('pages-closed');
        const onDown = counted(
          { ttl, cache: down, tags: ['items'] },
          () => ({ body: 'x' }),
          '/down',
        );
        const onClosed = counted(
          { ttl, cache: closedLater, tags: ['items'] },
          () => ({ body: 'y' }),
          '/closed',
        );
        const healthy = counted(
          { ttl, tags: ['items'] },
          (_r, calls) => ({ body: `items ${calls}` }),
          '/items',
        );
        await start([onDown.route, onClosed.route, healthy.route]);
        try {
          for (const path of ['/down', '/closed', '/items', '/items']) await request(path);
          expect((await request('/items')).headers.get('x-cache')).toBe('HIT');
          const failure = await server!.invalidate({ tags: ['items'] }).then(
            () => undefined,
            (error: unknown) => error,
          );
          expect(failure).toBeInstanceOf(BackendError);
          expect((failure as Error).message).toContain('"pages-down"');
          expect((failure as Error).message).toContain('"pages-closed"');
          // The healthy cache was invalidated all the same.
          expect((await request('/items')).headers.get('x-cache')).toBe('MISS');
          expect(await (await request('/items')).text()).toBe('items 2');

          // A closed cache is forgotten (not reopened); the one still down is still reported.
          await closedLater.close().catch(() => {});
          const second = await server!.invalidate({ tags: ['items'] }).then(
            () => undefined,
            (error: unknown) => error,
          );
          expect((second as Error).message).toContain('"pages-down"');
          expect((second as Error).message).not.toContain('"pages-closed"');
          await down.close().catch(() => {});
          await server!.invalidate({ tags: ['items'] });
          expect((await request('/items')).headers.get('x-cache')).toBe('MISS');
          // Used again by a route, a closed cache is invalidated again.
          await request('/closed');
          await expect(server!.invalidate({ tags: ['items'] })).rejects.toThrow(/pages-closed/);
        } finally {
          await Promise.all([down.close(), closedLater.close()].map((p) => p.catch(() => {})));
        }
      });
    });
  });
}
