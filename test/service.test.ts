/**
 * The reference service (examples/service), run as real processes: four cluster workers on a
 * private redis-server (stopped and started by these tests; the shared 6379 server is never
 * touched), and once on the embedded default (disk cache, SQLite database in ./var).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  call,
  login,
  PrivateRedis,
  ServiceProcess,
  waitUntil,
} from '../examples/service/driver.js';
import { describeWithService, probeService } from './support/services.js';

const REDIS_SERVER = await probeService(async () => {
  execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
});

const WORKERS = 4;
const FALLBACK_LINE = 'Redis unavailable, loading permissions from database for user';

/** `count` calls on fresh connections; the cluster spreads them over its workers. */
async function everyWorker(base: string, path: string, token: string, count = 4 * WORKERS) {
  const answers = [];
  for (let i = 0; i < count; i++) answers.push(await call(base, 'GET', path, { token }));
  const workers = new Set(answers.map((answer) => answer.headers['x-worker-pid']));
  return { answers, workers };
}

describeWithService('redis-server', REDIS_SERVER, 'reference service: 4 workers on Redis', () => {
  let redis: PrivateRedis;
  let dir: string;
  let service: ServiceProcess;
  let env: Record<string, string>;

  beforeAll(async () => {
    redis = await PrivateRedis.start();
    dir = mkdtempSync(join(tmpdir(), 'skycache-service-'));
    env = {
      CACHE_URL: redis.url,
      DATABASE_PATH: join(dir, 'app.db'),
      WORKERS: String(WORKERS),
      // Edits made behind the service's back reach a worker's L1 (once tiering is live) within this.
      PERMISSIONS_L1_TIMEOUT: '2',
    };
    service = await ServiceProcess.start({ env, cwd: dir });
  }, 180_000);

  afterAll(async () => {
    await service?.stop();
    await redis?.kill();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('ran the start-up refresh once across the four workers', async () => {
    await waitUntil(
      'every worker listening',
      () => service.lines('Server listening').length === WORKERS,
    );
    expect(service.lines('start-up refresh ran')).toHaveLength(1);
    expect(await redis.cli('get', 'app:init_done')).toBe('true');
    expect(JSON.parse(await redis.cli('get', 'user:2:roles'))).toEqual(['R_HR_ADMIN']);
    expect(JSON.parse(await redis.cli('get', 'constant_routes'))).toContainEqual(
      expect.objectContaining({ name: 'login' }),
    );
  });

  it('logs in, allows and denies API calls by the cached permissions', async () => {
    const base = service.base;
    expect(
      (await call(base, 'POST', '/auth/login', { body: { username: 'hr', password: 'x' } })).status,
    ).toBe(401);
    expect((await call(base, 'GET', '/api/me')).status).toBe(401);
    const login1 = await call(base, 'POST', '/auth/login', {
      body: { username: 'hr', password: 'hr123' },
    });
    expect(login1.status).toBe(200);
    expect(login1.body).toMatchObject({ user: { id: 2, username: 'hr', roles: ['R_HR_ADMIN'] } });
    const hr = (login1.body as { token: string }).token;
    const alice = await login(base, 'alice', 'alice123');
    expect((await call(base, 'GET', '/api/me', { token: hr })).body).toEqual({
      id: 2,
      username: 'hr',
      roles: ['R_HR_ADMIN'],
      buttons: ['user:add', 'user:edit'],
      home: 'manage_user',
    });
    expect((await call(base, 'GET', '/api/users', { token: hr })).status).toBe(200);
    expect((await call(base, 'GET', '/api/users', { token: alice })).status).toBe(403);
    expect(
      (await call(base, 'PUT', '/api/roles/R_USER/apis', { token: hr, body: [] })).status,
    ).toBe(403);
    const health = await call(base, 'GET', '/health');
    expect(health.body).toEqual({ status: 'ok', cache: { backend: 'redis', ok: true } });
  });

  it('makes a role change and a role assignment visible at once in every worker', async () => {
    const base = service.base;
    const admin = await login(base, 'admin', 'admin123');
    const alice = await login(base, 'alice', 'alice123');
    const put = await call(base, 'PUT', '/api/roles/R_USER/apis', {
      token: admin,
      body: [{ method: 'GET', path: '/api/users' }],
    });
    expect(put.status).toBe(200);
    expect(JSON.parse(await redis.cli('get', 'role:R_USER:apis'))).toEqual([
      { method: 'GET', path: '/api/users', status: 'enabled' },
    ]);
    const allowed = await everyWorker(base, '/api/users', alice);
    expect(allowed.answers.map((answer) => answer.status)).toEqual(allowed.answers.map(() => 200));
    expect(allowed.workers.size).toBeGreaterThan(1);

    expect(
      (await call(base, 'PUT', '/api/roles/R_USER/apis', { token: admin, body: [] })).status,
    ).toBe(200);
    const denied = await everyWorker(base, '/api/users', alice);
    expect(denied.answers.map((answer) => answer.status)).toEqual(denied.answers.map(() => 403));

    const hr = await login(base, 'hr', 'hr123');
    const assign = await call(base, 'PUT', '/api/users/3/roles', {
      token: hr,
      body: ['R_USER', 'R_HR_ADMIN'],
    });
    expect(assign.status).toBe(200);
    const me = await everyWorker(base, '/api/me', alice);
    for (const answer of me.answers) {
      expect(answer.body).toMatchObject({
        roles: ['R_HR_ADMIN', 'R_USER'],
        buttons: ['user:add', 'user:edit'],
      });
    }
    expect(
      (await call(base, 'PUT', '/api/users/3/roles', { token: hr, body: ['R_NOPE'] })).status,
    ).toBe(400);
    expect(
      (await call(base, 'PUT', '/api/users/3/roles', { token: hr, body: ['R_USER'] })).status,
    ).toBe(200);
    expect(JSON.parse(await redis.cli('get', 'user:3:roles'))).toEqual(['R_USER']);
  });

  it('revokes old tokens on logout-all and on `redis-cli incr token_version:{uid}`', async () => {
    const base = service.base;
    const old = await login(base, 'alice', 'alice123');
    const hr = await login(base, 'hr', 'hr123');
    expect((await call(base, 'POST', '/api/users/3/logout-all', { token: hr })).status).toBe(403);
    const out = await call(base, 'POST', '/api/users/3/logout-all', { token: old });
    expect(out.status).toBe(200);
    const version = (out.body as { tokenVersion: number }).tokenVersion;
    expect(await redis.cli('get', 'token_version:3')).toBe(String(version));
    const revoked = await everyWorker(base, '/api/me', old);
    expect(revoked.answers.map((answer) => answer.status)).toEqual(revoked.answers.map(() => 401));

    const fresh = await login(base, 'alice', 'alice123');
    expect((await call(base, 'GET', '/api/me', { token: fresh })).status).toBe(200);
    // The seed's debugging trick, as written: redis-cli incr "token_version:3".
    expect(await redis.shell('redis-cli incr "token_version:3"')).toBe(String(version + 1));
    expect((await call(base, 'GET', '/api/me', { token: fresh })).status).toBe(401);
    const admin = await login(base, 'admin', 'admin123');
    const bySuper = await call(base, 'POST', '/api/users/3/logout-all', { token: admin });
    expect(bySuper.body).toEqual({ tokenVersion: version + 2 });
  });

  it("runs the seed's redis-cli commands against the service's data", async () => {
    const base = service.base;
    const hr = await login(base, 'hr', 'hr123');
    const apis = JSON.parse(
      await redis.shell('redis-cli get "role:R_HR_ADMIN:apis" | jq'),
    ) as unknown[];
    expect(apis).toContainEqual({ method: 'GET', path: '/api/users', status: 'enabled' });
    expect(await redis.shell('redis-cli get "app:init_done"')).toBe('true');

    const gender = await call(base, 'GET', '/api/dictionaries/gender/options', { token: hr });
    expect(gender.body).toEqual([
      { value: 'male', label: 'Male' },
      { value: 'female', label: 'Female' },
      { value: 'unknown', label: 'Unknown' },
    ]);
    // penetration defence: an unknown type answers [] and is remembered as null, briefly
    expect((await call(base, 'GET', '/api/dictionaries/nope/options', { token: hr })).body).toEqual(
      [],
    );
    expect(await redis.cli('get', 'dict_options:nope')).toBe('null');
    const ttl = Number(await redis.cli('ttl', 'dict_options:nope'));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(30);
    expect(JSON.parse(await redis.cli('get', 'dict_options:gender'))).toHaveLength(3);
    await redis.shell('redis-cli --scan --pattern "dict_options:*" | xargs redis-cli del');
    expect(await redis.cli('--scan', '--pattern', 'dict_options:*')).toBe('');
    expect(
      (await call(base, 'GET', '/api/dictionaries/gender/options', { token: hr })).body,
    ).toHaveLength(3);
    expect(await redis.cli('exists', 'dict_options:gender')).toBe('1');

    // active invalidation: a PUT deletes the key before answering; a new type is created
    const put = await call(base, 'PUT', '/api/dictionaries/nope/options', {
      token: hr,
      body: [{ value: 'y', label: 'Yes' }],
    });
    expect(put.status).toBe(200);
    expect(await redis.cli('exists', 'dict_options:nope')).toBe('0');
    expect((await call(base, 'GET', '/api/dictionaries/nope/options', { token: hr })).body).toEqual(
      [{ value: 'y', label: 'Yes' }],
    );

    // a permission key deleted behind the service's back is reloaded by a read (within the L1's
    // timeout where the permission cache has one)
    await redis.cli('del', 'user:2:roles');
    await waitUntil(
      'user:2:roles reloaded',
      async () => {
        expect((await call(base, 'GET', '/api/users', { token: hr })).status).toBe(200);
        return (await redis.cli('get', 'user:2:roles')) === '["R_HR_ADMIN"]';
      },
      15_000,
    );
  });

  it('caches module statistics for 5 minutes per scope and drops them on change', async () => {
    const base = service.base;
    const admin = await login(base, 'admin', 'admin123');
    const hr = await login(base, 'hr', 'hr123');
    const all = await call(base, 'GET', '/api/leads/stats', { token: admin });
    expect(all.body).toMatchObject({ scope: 'all' });
    const dept = await call(base, 'GET', '/api/leads/stats', { token: hr });
    expect(dept.body).toMatchObject({ scope: 'dept_42' });
    const ttl = Number(await redis.cli('ttl', 'crm_lead_cnt:all'));
    expect(ttl).toBeGreaterThan(200); // 300 s less at most 10 % jitter
    expect(ttl).toBeLessThanOrEqual(300);
    const before = (all.body as { counts: Record<string, number> }).counts.won ?? 0;
    expect(
      (await call(base, 'POST', '/api/leads', { token: admin, body: { status: 'won', amount: 5 } }))
        .status,
    ).toBe(201);
    expect(await redis.cli('--scan', '--pattern', 'crm_lead_cnt:*')).toBe('');
    const after = await call(base, 'GET', '/api/leads/stats', { token: admin });
    expect((after.body as { counts: Record<string, number> }).counts.won).toBe(before + 1);
  });

  it('memoizes the heavy report in the namespace reports with hashed keys', async () => {
    const base = service.base;
    const token = await login(base, 'alice', 'alice123');
    const first = await call(base, 'GET', '/api/reports/heavy', { token });
    expect(first.status).toBe(200);
    const second = await call(base, 'GET', '/api/reports/heavy', { token });
    expect(second.headers['x-cache']).toBe('HIT');
    expect(second.body).toEqual(first.body);
    expect((await call(base, 'GET', '/api/reports/heavy')).status).toBe(401); // a hit never skips auth
    const keys = (await redis.cli('--scan', '--pattern', 'reports:*')).split('\n').filter(Boolean);
    expect(keys.length).toBeGreaterThan(0);
    for (const key of keys) expect(key).not.toContain('/api/');
  });

  it('answers correctly while Redis is down, logging the WARNING, and refills after it is back', async () => {
    const base = service.base;
    const hr = await login(base, 'hr', 'hr123');
    const alice = await login(base, 'alice', 'alice123');
    await redis.kill();
    for (let i = 0; i < 2 * WORKERS; i++) {
      expect((await call(base, 'GET', '/api/users', { token: hr })).status).toBe(200);
      expect((await call(base, 'GET', '/api/users', { token: alice })).status).toBe(403);
      const me = await call(base, 'GET', '/api/me', { token: alice });
      expect(me.body).toMatchObject({ id: 3, roles: ['R_USER'], home: 'home' });
    }
    expect(
      (await call(base, 'GET', '/api/dictionaries/gender/options', { token: hr })).body,
    ).toHaveLength(3);
    expect((await call(base, 'GET', '/api/reports/heavy', { token: hr })).status).toBe(200);
    const during = await login(base, 'admin', 'admin123'); // login works too
    expect((await call(base, 'GET', '/api/me', { token: during })).status).toBe(200);
    expect((await call(base, 'GET', '/health')).body).toEqual({
      status: 'ok',
      cache: { backend: 'redis', ok: false },
    });
    const warnings = service.lines(FALLBACK_LINE);
    expect(warnings.some((line) => line.includes(`${FALLBACK_LINE} 2"`))).toBe(true);
    expect(warnings.some((line) => line.includes(`${FALLBACK_LINE} 3"`))).toBe(true);
    for (const line of warnings) expect(JSON.parse(line)).toMatchObject({ level: 'WARNING' });

    await redis.restart(); // empty: the cache refills from the database as requests come
    await waitUntil(
      'the service seeing Redis again',
      async () =>
        ((await call(base, 'GET', '/health')).body as { cache: { ok: boolean } }).cache.ok,
    );
    await waitUntil('the permission keys refilled', async () => {
      const answer = await call(base, 'GET', '/api/users', { token: hr });
      expect(answer.status).toBe(200);
      return (await redis.cli('get', 'user:2:roles')) === '["R_HR_ADMIN"]';
    });
    expect(JSON.parse(await redis.cli('get', 'role:R_HR_ADMIN:apis'))).toContainEqual(
      expect.objectContaining({ path: '/api/users' }),
    );
    // tokens issued before and during the outage still carry the right version
    expect((await call(base, 'GET', '/api/me', { token: alice })).status).toBe(200);
  }, 120_000);

  it('runs the start-up refresh again, once, on a restart', async () => {
    await service.stop();
    // The previous start's flag would still be valid for 120 s; the leader clears it first.
    await redis.cli('set', 'app:init_done', 'true', 'EX', '120');
    service = await ServiceProcess.start({ env, cwd: dir });
    await waitUntil(
      'every worker listening',
      () => service.lines('Server listening').length === WORKERS,
    );
    expect(service.lines('start-up refresh ran')).toHaveLength(1);
    expect(JSON.parse(await redis.cli('get', 'role:R_SUPER:buttons'))).toContain('user:delete');
  }, 180_000);
});

describe('reference service on the embedded default (npm start)', () => {
  let dir: string;
  let service: ServiceProcess;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'skycache-service-default-'));
    service = await ServiceProcess.start({
      env: { CACHE_URL: '', DATABASE_PATH: '', WORKERS: '' },
      cwd: dir,
    });
  }, 120_000);

  afterAll(async () => {
    await service?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('uses disk://./var/cache and ./var/app.db, and prints what to try', async () => {
    expect(service.output).toContain('cache disk://./var/cache · database ./var/app.db');
    expect(service.output).toContain('curl -s');
    expect(existsSync(join(dir, 'var', 'app.db'))).toBe(true);
    expect(existsSync(join(dir, 'var', 'cache'))).toBe(true);
    expect((await call(service.base, 'GET', '/health')).body).toEqual({
      status: 'ok',
      cache: { backend: 'disk', ok: true },
    });
    const token = await login(service.base, 'hr', 'hr123');
    expect((await call(service.base, 'GET', '/api/users', { token })).status).toBe(200);
    const first = await call(service.base, 'GET', '/api/reports/heavy', { token });
    expect(first.headers['x-cache']).toBe('MISS');
    expect(
      (await call(service.base, 'GET', '/api/reports/heavy', { token })).headers['x-cache'],
    ).toBe('HIT');
  });
});
