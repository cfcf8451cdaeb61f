/**
 * HTTP response caching on Fastify, measured with autocannon over loopback.
 *
 * Run: npm run bench -- http     (or: npx tsx bench/http.ts)
 *
 * The server runs in a child process (so autocannon and Fastify do not share one event loop), with
 * one route per contender, each in its own encapsulated context:
 *
 * - `constant`: the handler returns the page at once, nothing cached: the ceiling for a hit;
 * - `skycache hit`: skycache (`scope: 'public'`, memory cache), in front of a 5 ms handler; after
 *   the warm-up every request is a hit, so this is the cost of a hit, headers and all;
 * - `uncached 5 ms`: the same handler without a cache: what caching saves;
 * - `@fastify/caching`: its abstract-cache (in-memory) used the way its README shows, `get` in the
 *   handler and `set` on a miss; it sends no Age/ETag/Cache-Status and applies no rules;
 * - `URL-keyed hook`: a NestJS `CacheInterceptor` equivalent (cache-manager keyed by the URL
 *   only, a preHandler lookup and an onSend store), the unsafe design skycache replaces.
 *
 * Method: each route is warmed up, then `ROUNDS` rounds run every route for `SECONDS` in turn
 * (round-robin, so machine drift hits all alike); req/s is the median round, p99 from the same
 * round. The server also reports the CPU time it spent per request (user + system, median round):
 * on a small machine autocannon itself can be the bottleneck, and CPU per request then shows the
 * server-side cost that req/s hides. Ratios are against `constant` in the same run (for CPU,
 * constant's CPU / the route's, so higher is better in both).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { machineLine } from './harness.js';

const ROUNDS = 5;
const SECONDS = 3;
const WARMUP_SECONDS = 1;
const CONNECTIONS = 50;
const HANDLER_MS = 5;
const PAGE = {
  items: Array.from({ length: 20 }, (_, i) => ({ id: i, name: `item ${i}`, price: i * 1.5 })),
};
const SERVER_ROLE = 'SKYCACHE_BENCH_HTTP_SERVER';

const ROUTES = [
  { name: 'constant (no cache)', path: '/constant' },
  { name: 'skycache hit', path: '/skycache' },
  { name: `uncached ${HANDLER_MS} ms handler`, path: '/uncached' },
  { name: '@fastify/caching (get/set in handler)', path: '/fastify-caching' },
  { name: 'URL-keyed hook (Nest-style interceptor)', path: '/url-keyed' },
] as const;

interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p99: number };
  non2xx: number;
  errors: number;
}
type Autocannon = (options: {
  url: string;
  connections: number;
  duration: number;
}) => Promise<AutocannonResult>;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The benchmark server: every contender on one Fastify instance, each encapsulated. */
async function serve(): Promise<void> {
  const { default: Fastify } = await import('fastify');
  const { default: fastifyCaching } = await import('@fastify/caching');
  const { createCache: createCacheManager } = await import('cache-manager');
  const { default: skycache } = await import('../src/integrations/fastify/index.js');
  const { createCache } = await import('../src/index.js');

  const app = Fastify();
  const slowPage = async () => {
    await sleep(HANDLER_MS);
    return PAGE;
  };
  app.get('/constant', async () => PAGE);
  app.get('/uncached', slowPage);

  await app.register(async (scope) => {
    await scope.register(skycache, {
      cache: createCache({ backend: 'memory', location: 'bench-http' }),
    });
    scope.get('/skycache', { config: { cache: { ttl: '1h', scope: 'public' } } }, slowPage);
  });

  await app.register(async (scope) => {
    await scope.register(fastifyCaching, {});
    scope.get('/fastify-caching', (request, reply) => {
      scope.cache.get<typeof PAGE>(request.url, (error, cached) => {
        if (!error && cached) return void reply.send(cached.item);
        void slowPage().then((page) => {
          scope.cache.set(request.url, page, 3_600_000, () => reply.send(page));
        });
      });
    });
  });

  await app.register(async (scope) => {
    const manager = createCacheManager();
    scope.addHook('preHandler', async (request, reply) => {
      const hit = await manager.get<string>(request.url);
      if (hit !== undefined) {
        reply.header('content-type', 'application/json; charset=utf-8');
        return reply.send(hit);
      }
    });
    scope.addHook('onSend', async (request, reply, payload) => {
      if (reply.statusCode === 200 && typeof payload === 'string') {
        await manager.set(request.url, payload, 3_600_000);
      }
      return payload;
    });
    scope.get('/url-keyed', slowPage);
  });

  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  process.send?.({ port: typeof address === 'object' && address ? address.port : 0 });
  // The parent asks for the CPU time used so far, to report CPU per request.
  process.on('message', () => {
    const { user, system } = process.cpuUsage();
    process.send?.({ cpuMicros: user + system });
  });
  process.on('disconnect', () => void app.close().then(() => process.exit(0)));
}

/** The server's CPU time so far (µs). */
function serverCpu(child: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    child.once('message', (message) => resolve((message as { cpuMicros: number }).cpuMicros));
    child.send('cpu');
  });
}

function startServer(): Promise<{ child: ChildProcess; base: string }> {
  const child = fork(fileURLToPath(import.meta.url), [], {
    env: { ...process.env, [SERVER_ROLE]: '1' },
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    child.once('message', (message) => {
      resolve({ child, base: `http://127.0.0.1:${(message as { port: number }).port}` });
    });
    child.once('exit', (code) => reject(new Error(`benchmark server exited with ${code}`)));
  });
}

function median(values: number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;
}

function formatRate(value: number): string {
  return value >= 1000 ? `${(value / 1000).toFixed(1)}k` : value.toFixed(0);
}

/** Runs the HTTP suite and prints its table. */
export async function benchHttp(): Promise<void> {
  const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;
  console.log(
    `\n## HTTP response caching (Fastify, autocannon)\n\n${machineLine([
      `${CONNECTIONS} connections`,
      `${ROUNDS} rounds × ${SECONDS} s per route`,
    ])}`,
  );
  const { child, base } = await startServer();
  try {
    const run = async (path: string, seconds: number) => {
      const before = await serverCpu(child);
      const result = await autocannon({
        url: base + path,
        connections: CONNECTIONS,
        duration: seconds,
      });
      const cpuPerRequest = ((await serverCpu(child)) - before) / result.requests.total;
      return { ...result, cpuPerRequest };
    };
    for (const route of ROUTES) await run(route.path, WARMUP_SECONDS);
    type Measured = Awaited<ReturnType<typeof run>>;
    const rounds = new Map<string, Measured[]>(ROUTES.map((route) => [route.path, []]));
    for (let round = 0; round < ROUNDS; round++) {
      for (const route of ROUTES) rounds.get(route.path)!.push(await run(route.path, SECONDS));
    }
    const rows = ROUTES.map((route) => {
      const results = rounds.get(route.path)!;
      const rate = median(results.map((result) => result.requests.average));
      const chosen = results.find((result) => result.requests.average === rate) ?? results[0]!;
      const failures = results.reduce((sum, result) => sum + result.non2xx + result.errors, 0);
      const cpu = median(results.map((result) => result.cpuPerRequest));
      return { name: route.name, rate, p99: chosen.latency.p99, cpu, failures };
    });
    const [baseline] = rows;
    console.log(
      `\n| route | req/s | p99 ms | server CPU µs/req | × constant (req/s) | × constant (CPU) |`,
    );
    console.log('|---|---:|---:|---:|---:|---:|');
    for (const row of rows) {
      const note = row.failures > 0 ? ` (${row.failures} errors)` : '';
      console.log(
        `| ${row.name}${note} | ${formatRate(row.rate)} | ${row.p99} | ${row.cpu.toFixed(1)} | ${(row.rate / baseline!.rate).toFixed(2)} | ${(baseline!.cpu / row.cpu).toFixed(2)} |`,
      );
    }
  } finally {
    child.disconnect();
  }
}

if (process.env[SERVER_ROLE] === '1') {
  await serve();
} else if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await benchHttp();
}
