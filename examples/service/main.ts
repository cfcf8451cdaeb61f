/**
 * The reference service's entry point: `npm start` (one process) or `WORKERS=4 npm start`
 * (node:cluster workers sharing the port). Configuration: environment only (config.ts).
 *
 * Start-up, as the seed does it: the leader of this start (the cluster primary, or the single
 * process) seeds the database on first start and deletes `app:init_lock` / `app:init_done`; then
 * every worker calls `runOnce('app:init', refreshAll)`, so the start-up refresh runs exactly once
 * per start across all workers, and again on every restart.
 */
import cluster from 'node:cluster';
import { BackendError } from '../../src/index.js';
import { buildApp } from './app.js';
import { closeCaches, openCaches } from './caches.js';
import { configFromEnvironment, type ServiceConfig } from './config.js';
import { openDatabase } from './database.js';
import { refreshAll } from './permissions.js';

const config = configFromEnvironment();

function redact(url: string): string {
  return url.replace(/\/\/([^/@]*)@/, '//***@');
}

function tokenSecret(fromDatabase: string | undefined): string {
  const secret = config.tokenSecret ?? fromDatabase;
  if (!secret) throw new Error('no TOKEN_SECRET and none in the database');
  return secret;
}

/** The leader's part: seed the database, clear the start-up flags of the previous start. */
async function prepareStart(): Promise<void> {
  openDatabase(config.databasePath).close();
  const caches = openCaches(config.cacheUrl, {
    warn: () => {},
    error: () => {},
    debug: () => {},
  });
  try {
    // Without this, a restart within the done flag's 120 s would skip the refresh.
    await caches.store.deleteMany(['app:init:lock', 'app:init:done']);
  } catch (error) {
    if (!(error instanceof BackendError)) throw error;
    console.warn(
      `cache unavailable at start-up (${error.message}); permissions will come from the database`,
    );
  } finally {
    await closeCaches(caches);
  }
}

/** One worker: the app, the start-up refresh (once across workers), then listen. */
async function runWorker(): Promise<() => Promise<void>> {
  const db = openDatabase(config.databasePath);
  const { app, caches } = await buildApp({
    db,
    cacheUrl: config.cacheUrl,
    tokenSecret: tokenSecret(db.setting('token_secret')),
    logLevel: config.logLevel,
    l1TimeoutSeconds: config.l1TimeoutSeconds,
  });
  try {
    await caches.store.runOnce(
      'app:init',
      async () => {
        const { roles, users } = await refreshAll(caches, db);
        app.log.info(
          `start-up refresh ran in process ${process.pid}: ${roles} roles, ${users} users`,
        );
      },
      { ttl: '120s' },
    );
  } catch (error) {
    if (!(error instanceof BackendError)) throw error;
    // The service still answers: permission reads fall back to the database and refill the cache.
    app.log.warn(`Redis unavailable, start-up refresh skipped: ${error.message}`);
  }
  await app.listen({ port: config.port, host: config.host });
  return async () => {
    await app.close();
    db.close();
  };
}

function banner(settings: ServiceConfig): string {
  const base = `http://${settings.host === '0.0.0.0' ? '127.0.0.1' : settings.host}:${settings.port}`;
  const json = "-H 'content-type: application/json'";
  return [
    `skycache reference service on ${base}`,
    `  cache ${redact(settings.cacheUrl)} · database ${settings.databasePath} · ${settings.workers} worker(s)`,
    '',
    'Try (users: admin/admin123, hr/hr123, alice/alice123):',
    `  curl -s ${base}/health`,
    `  TOKEN=$(curl -s -X POST ${base}/auth/login ${json} -d '{"username":"hr","password":"hr123"}' | node -pe 'JSON.parse(require("fs").readFileSync(0)).token')`,
    `  curl -s ${base}/api/me -H "authorization: Bearer $TOKEN"`,
    `  curl -s ${base}/api/users -H "authorization: Bearer $TOKEN"                 # 200: hr has GET /api/users`,
    `  curl -s ${base}/api/dictionaries/gender/options -H "authorization: Bearer $TOKEN"`,
    `  curl -s ${base}/api/leads/stats -H "authorization: Bearer $TOKEN"`,
    `  curl -si ${base}/api/reports/heavy -H "authorization: Bearer $TOKEN" | grep -i x-cache   # MISS, then HIT`,
    `  curl -s -X POST ${base}/api/users/2/logout-all -H "authorization: Bearer $TOKEN"  # then the old token gets 401`,
    '',
  ].join('\n');
}

if (cluster.isPrimary) {
  await prepareStart();
  if (config.workers === 1) {
    const stop = await runWorker();
    console.log(banner(config));
    const shutdown = () => void stop().then(() => process.exit(0));
    process.once('SIGINT', shutdown);
    process.once('SIGTERM', shutdown);
  } else {
    let listening = 0;
    let stopping = false;
    cluster.on('listening', () => {
      if (++listening === config.workers) console.log(banner(config));
    });
    cluster.on('exit', (worker, code, signal) => {
      if (stopping) return;
      console.warn(`worker ${worker.process.pid} exited (${signal ?? code}); starting another`);
      cluster.fork();
    });
    for (let i = 0; i < config.workers; i++) cluster.fork();
    const shutdown = () => {
      stopping = true;
      for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGTERM');
      const done = () => {
        if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
      };
      cluster.on('exit', done);
      done();
    };
    process.once('SIGINT', shutdown);
    process.once('SIGTERM', shutdown);
  }
} else {
  const stop = await runWorker();
  process.once('SIGTERM', () => void stop().then(() => process.exit(0)));
  process.once('SIGINT', () => {}); // the primary decides; Ctrl-C reaches every process in the group
}
