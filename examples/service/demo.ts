/**
 * `npm run demo`: starts the reference service, drives it through the seed's story and prints each
 * step: login, permission checks, the heavy report's MISS then HIT, a role change seen by every
 * worker, token revocation, and a cache outage with the database fallback. Exits 0 when every
 * answer was the expected one.
 *
 * With `redis-server` on the PATH the service runs on a private Redis (a free port, stopped and
 * started by the demo); without it, on the embedded default (disk), and the outage step is skipped.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { call, login, PrivateRedis, ServiceProcess, waitUntil, type Answer } from './driver.js';

let step = 0;
function say(title: string): void {
  console.log(`\n${++step}. ${title}`);
}
function show(what: string, answer: Answer): void {
  const cache = answer.headers['x-cache'] ? ` X-Cache: ${String(answer.headers['x-cache'])}` : '';
  const worker = answer.headers['x-worker-pid']
    ? ` (worker ${String(answer.headers['x-worker-pid'])})`
    : '';
  console.log(
    `   ${what} → ${answer.status}${cache}${worker} ${JSON.stringify(answer.body).slice(0, 110)}`,
  );
}
function expectStatus(answer: Answer, status: number, what: string): Answer {
  if (answer.status !== status)
    throw new Error(`${what}: expected ${status}, got ${answer.status}`);
  return answer;
}

function hasRedisServer(): boolean {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const dir = mkdtempSync(join(tmpdir(), 'skycache-demo-'));
const redis = hasRedisServer() ? await PrivateRedis.start() : undefined;
let service: ServiceProcess | undefined;
try {
  say(
    `start the service: 2 workers, cache ${redis ? `on a private Redis (port ${redis.port})` : 'disk://./var/cache'}`,
  );
  service = await ServiceProcess.start({
    cwd: dir,
    env: { WORKERS: '2', DATABASE_PATH: join(dir, 'app.db'), CACHE_URL: redis?.url ?? '' },
  });
  const base = service.base;
  await waitUntil('both workers listening', () => service!.lines('Server listening').length === 2);
  console.log(
    `   ${base}; start-up refresh ran ${service.lines('start-up refresh ran').length} time(s) across the workers`,
  );
  show('GET /health', await call(base, 'GET', '/health'));

  say('log in; permissions come from the cache');
  const hr = await login(base, 'hr', 'hr123');
  const alice = await login(base, 'alice', 'alice123');
  const admin = await login(base, 'admin', 'admin123');
  show(
    'hr GET /api/me',
    expectStatus(await call(base, 'GET', '/api/me', { token: hr }), 200, 'me'),
  );
  show(
    'hr GET /api/users',
    expectStatus(await call(base, 'GET', '/api/users', { token: hr }), 200, 'hr users'),
  );
  show(
    'alice GET /api/users',
    expectStatus(await call(base, 'GET', '/api/users', { token: alice }), 403, 'alice users'),
  );
  if (redis)
    console.log(
      `   redis-cli get "role:R_HR_ADMIN:apis" → ${await redis.cli('get', 'role:R_HR_ADMIN:apis')}`,
    );

  say('the heavy report, memoized per endpoint (namespace reports, hashed keys)');
  for (const attempt of ['first', 'again']) {
    const started = performance.now();
    const answer = expectStatus(
      await call(base, 'GET', '/api/reports/heavy', { token: alice }),
      200,
      'report',
    );
    show(
      `GET /api/reports/heavy (${attempt}, ${Math.round(performance.now() - started)} ms)`,
      answer,
    );
  }

  say('a role change, reloaded before the answer, seen by every worker');
  show(
    'admin PUT /api/roles/R_USER/apis [GET /api/users]',
    expectStatus(
      await call(base, 'PUT', '/api/roles/R_USER/apis', {
        token: admin,
        body: [{ method: 'GET', path: '/api/users' }],
      }),
      200,
      'role change',
    ),
  );
  for (let i = 0; i < 3; i++) {
    show(
      'alice GET /api/users',
      expectStatus(await call(base, 'GET', '/api/users', { token: alice }), 200, 'alice after'),
    );
  }

  say('token revocation: INCR token_version:{uid}');
  show(
    'alice POST /api/users/3/logout-all',
    expectStatus(
      await call(base, 'POST', '/api/users/3/logout-all', { token: alice }),
      200,
      'logout-all',
    ),
  );
  show(
    'alice (old token) GET /api/me',
    expectStatus(await call(base, 'GET', '/api/me', { token: alice }), 401, 'revoked'),
  );
  const alice2 = await login(base, 'alice', 'alice123');
  show(
    'alice (new token) GET /api/me',
    expectStatus(await call(base, 'GET', '/api/me', { token: alice2 }), 200, 'new token'),
  );

  if (redis) {
    say('cache outage: Redis is killed; permissions come from the database');
    await redis.kill();
    show(
      'hr GET /api/users',
      expectStatus(await call(base, 'GET', '/api/users', { token: hr }), 200, 'outage hr'),
    );
    show(
      'alice GET /api/me',
      expectStatus(await call(base, 'GET', '/api/me', { token: alice2 }), 200, 'outage alice'),
    );
    show('GET /health', await call(base, 'GET', '/health'));
    const warning = service.lines('Redis unavailable, loading permissions from database')[0];
    if (!warning) throw new Error('no WARNING line in the log');
    console.log(`   log: ${warning}`);

    say('Redis is back (empty); the cache refills as requests come');
    await redis.restart();
    await waitUntil('the cache answering', async () => {
      const health = await call(base, 'GET', '/health');
      return (health.body as { cache: { ok: boolean } }).cache.ok;
    });
    show(
      'hr GET /api/users',
      expectStatus(await call(base, 'GET', '/api/users', { token: hr }), 200, 'after outage'),
    );
    console.log(`   redis-cli get "user:2:roles" → ${await redis.cli('get', 'user:2:roles')}`);
  } else {
    say(
      'cache outage: skipped (no redis-server on this machine; run with Redis to see the fallback)',
    );
  }
  console.log('\nDone: every answer was the expected one.');
} finally {
  await service?.stop();
  await redis?.kill();
  rmSync(dir, { recursive: true, force: true });
}
