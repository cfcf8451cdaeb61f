/**
 * The service's configuration, from the environment only (twelve-factor, like the seed's settings).
 *
 * | variable        | default               | meaning                                                    |
 * |-----------------|-----------------------|------------------------------------------------------------|
 * | `PORT`          | `8000`                | HTTP port                                                  |
 * | `HOST`          | `127.0.0.1`           | interface to bind (`0.0.0.0` in the container image)       |
 * | `CACHE_URL`     | `disk://./var/cache`  | the cache store: `disk://…`, `redis://…`, `postgres://…`   |
 * | `DATABASE_PATH` | `./var/app.db`        | the SQLite database, created and seeded on first start     |
 * | `WORKERS`       | `1`                   | node:cluster worker processes (1 = no cluster)             |
 * | `TOKEN_SECRET`  | generated at seeding  | HMAC key for tokens (stored in the database if not given)  |
 * | `LOG_LEVEL`     | `info`                | `debug`, `info`, `warn`, `error`                           |
 * | `PERMISSIONS_L1_TIMEOUT` | `10`         | seconds a permission entry may stay in a worker's L1       |
 */
import type { CacheConfig } from '../../src/index.js';

export interface ServiceConfig {
  port: number;
  host: string;
  cacheUrl: string;
  databasePath: string;
  workers: number;
  tokenSecret: string | undefined;
  logLevel: string;
  /** Seconds; Redis and PostgreSQL only (caches.ts). */
  l1TimeoutSeconds: number;
}

function positiveInteger(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0)
    throw new Error(`${name} must be an integer, got ${raw}`);
  return value;
}

export function configFromEnvironment(env: NodeJS.ProcessEnv = process.env): ServiceConfig {
  return {
    port: positiveInteger('PORT', env.PORT, 8000),
    host: env.HOST || '127.0.0.1',
    cacheUrl: env.CACHE_URL || 'disk://./var/cache',
    databasePath: env.DATABASE_PATH || './var/app.db',
    workers: Math.max(1, positiveInteger('WORKERS', env.WORKERS, 1)),
    tokenSecret: env.TOKEN_SECRET || undefined,
    logLevel: env.LOG_LEVEL || 'info',
    l1TimeoutSeconds: Math.max(
      1,
      positiveInteger('PERMISSIONS_L1_TIMEOUT', env.PERMISSIONS_L1_TIMEOUT, 10),
    ),
  };
}

const SCHEMES: Record<string, string> = {
  disk: 'disk',
  memory: 'memory',
  redis: 'redis',
  rediss: 'redis',
  'redis+cluster': 'redis',
  postgres: 'postgres',
  postgresql: 'postgres',
};

/**
 * A `CACHE_URL` as a config object, so that fields a URL cannot carry (a key function, a logger)
 * can be added: network URLs are the backend's location as they are (the driver reads its own
 * parameters, such as `sslmode`); `disk://` and `memory://` keep the part after the scheme and
 * take no query parameters here (the service sets the fields it needs itself).
 */
export function cacheConfigFromUrl(url: string): CacheConfig {
  const scheme = url.slice(0, url.indexOf('://'));
  const backend = SCHEMES[scheme];
  if (!backend) throw new Error(`CACHE_URL: unsupported scheme in ${scheme || url}`);
  if (backend === 'redis' || backend === 'postgres') return { backend, location: url };
  const rest = url.slice(scheme.length + 3);
  if (rest.includes('?')) throw new Error(`CACHE_URL: no query parameters on ${scheme}:// here`);
  return { backend, location: decodeURIComponent(rest) };
}
