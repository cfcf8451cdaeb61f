/**
 * `skycache about`: what is configured and whether each cache answers, like the original
 * framework's default container command. Exit code 1 if any alias is unreachable.
 */
import { randomUUID } from 'node:crypto';
import type { Cache } from '../core/cache.js';
import { silentLogger } from '../core/logger.js';
import { redactSecrets } from '../config/redact.js';
import { resolveConfig } from '../config/resolve.js';
import type { CacheConfigInput } from '../config/types.js';
import { configFromEnvironment } from '../core/registry.js';

/** What `about` found for one alias. */
export interface AliasReport {
  alias: string;
  backend: string;
  location: string;
  ok: boolean;
  /** Round trip (set, get, delete) in ms, when ok. */
  latencyMs?: number;
  error?: string;
}

/** How long the live check may take per alias, in ms. */
const CHECK_TIMEOUT_MS = 10_000;

/**
 * The per-operation limit of the check, in ms (at least): the first operation also opens the
 * connection, which the cache's 250 ms default is not meant to cover.
 */
const OPERATION_TIMEOUT_MS = 5000;

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function check(cache: Cache): Promise<number> {
  const key = `skycache:about:${randomUUID()}`;
  const started = performance.now();
  await cache.set(key, 'ok', 10);
  const value = await cache.get(key);
  await cache.delete(key);
  if (cache.backend !== 'dummy' && value !== 'ok')
    throw new Error('the value written was not read back');
  return performance.now() - started;
}

/** Checks every alias of `config` (default: the environment). */
export async function about(
  config: Record<string, CacheConfigInput> = configFromEnvironment(),
): Promise<AliasReport[]> {
  const reports: AliasReport[] = [];
  for (const [alias, entry] of Object.entries(config)) {
    let cache: Cache | undefined;
    try {
      const settings = resolveConfig(entry, alias);
      const resolved = {
        ...settings,
        logger: silentLogger,
        operationTimeoutMs: Math.max(settings.operationTimeoutMs, OPERATION_TIMEOUT_MS),
      };
      const { Cache: CacheClass } = await import('../core/cache.js');
      cache = new CacheClass(resolved);
      const latencyMs = await withTimeout(check(cache), CHECK_TIMEOUT_MS);
      reports.push({
        alias,
        backend: cache.backend,
        location: cache.redactedLocation,
        ok: true,
        latencyMs,
      });
    } catch (error) {
      const given = typeof entry === 'string' ? entry : undefined;
      reports.push({
        alias,
        backend: cache?.backend ?? given?.split(':')[0] ?? '?',
        location: cache?.redactedLocation ?? (given ? redactSecrets(given) : '?'),
        ok: false,
        error: (error as Error).message,
      });
    } finally {
      await cache?.close().catch(() => {});
    }
  }
  return reports;
}
