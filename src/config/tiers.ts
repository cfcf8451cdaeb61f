/**
 * The `l1` and `bus` fields: an in-process first tier in front of a shared store, and the
 * invalidation bus that keeps the first tiers of all processes coherent (README "Two tiers").
 */
import { configDurationToMs } from '../core/duration.js';
import { ConfigError } from '../core/errors.js';
import { redactSecrets } from './redact.js';

/** Backends whose store is shared between processes (an L1 makes sense in front of them). */
const SHARED_BACKENDS = new Set(['redis', 'postgres', 'disk', 'custom']);

/** `l1` defaults: entries, and ms. */
export const L1_DEFAULTS = { maxEntries: 10_000, timeoutMs: 30_000 } as const;

/** The first tier, resolved. */
export interface ResolvedL1 {
  readonly maxEntries: number;
  /** Bytes (keys + payloads); `undefined` = no byte limit. */
  readonly maxSize: number | undefined;
  /** Longest an L2 value is kept in L1, in ms (> 0). */
  readonly timeoutMs: number;
}

/** Where the bus runs. */
export interface ResolvedBus {
  /** `redis://…` or `postgres://…` (`''` for a store without a location: its client or PG env). */
  readonly url: string;
  /** The bus is the store's own server: connect with the store's backend options. */
  readonly own: boolean;
  /** `'redis'` or `'postgres'`. */
  readonly kind: 'redis' | 'postgres';
}

/** URL query parameters that set `l1` fields. */
export const L1_URL_PARAMETERS: Readonly<Record<string, 'maxEntries' | 'maxSize' | 'timeout'>> = {
  l1MaxEntries: 'maxEntries',
  l1MaxSize: 'maxSize',
  l1Timeout: 'timeout',
};

function fail(alias: string, field: string, problem: string): never {
  throw new ConfigError(`cache "${alias}": field "${field}": ${problem}`);
}

function positiveInteger(value: unknown, alias: string, field: string): number {
  const number = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof number !== 'number' || !Number.isSafeInteger(number) || number < 1) {
    fail(alias, field, `expected an integer ≥ 1, got ${JSON.stringify(value) ?? String(value)}`);
  }
  return number;
}

/**
 * Resolves `l1` and `bus`.
 * @param backendName the built-in backend's name, or `'custom'`
 * @param location the store's location (the default bus for redis and postgres)
 * @throws ConfigError naming the alias and the field
 */
export function resolveTiers(
  l1: unknown,
  bus: unknown,
  backendName: string,
  location: string,
  alias: string,
): { l1: ResolvedL1 | undefined; bus: ResolvedBus | undefined } {
  if (l1 === undefined || l1 === false || l1 === 'false') {
    if (bus !== undefined && bus !== false && bus !== 'false') {
      fail(
        alias,
        'bus',
        'a bus keeps L1 copies coherent; it needs l1 (set l1: { … } or bus: false)',
      );
    }
    return { l1: undefined, bus: undefined };
  }
  if (l1 === null || typeof l1 !== 'object' || Array.isArray(l1)) {
    fail(alias, 'l1', 'expected { maxEntries?, maxSize?, timeout? } or false');
  }
  if (!SHARED_BACKENDS.has(backendName)) {
    fail(
      alias,
      'l1',
      `the ${backendName} backend is in-process already; l1 goes in front of redis, postgres or disk`,
    );
  }
  const { maxEntries, maxSize, timeout, ...rest } = l1 as Record<string, unknown>;
  const unknown = Object.keys(rest)[0];
  if (unknown !== undefined) {
    fail(alias, `l1.${unknown}`, 'unknown field; expected maxEntries, maxSize, timeout');
  }
  let timeoutMs: number = L1_DEFAULTS.timeoutMs;
  if (timeout !== undefined) {
    if (timeout === null) fail(alias, 'l1.timeout', 'expected a positive duration, got null');
    timeoutMs = configDurationToMs(timeout, `cache "${alias}": field "l1.timeout"`);
    if (!(timeoutMs > 0)) {
      fail(alias, 'l1.timeout', `expected a positive duration, got ${JSON.stringify(timeout)}`);
    }
  }
  const resolved: ResolvedL1 = {
    maxEntries:
      maxEntries === undefined
        ? L1_DEFAULTS.maxEntries
        : positiveInteger(maxEntries, alias, 'l1.maxEntries'),
    maxSize: maxSize === undefined ? undefined : positiveInteger(maxSize, alias, 'l1.maxSize'),
    timeoutMs,
  };

  if (bus === false || bus === 'false') return { l1: resolved, bus: undefined };
  if (bus === undefined) {
    // The store's own server carries the bus; disk (and custom stores) have none by default.
    if (backendName !== 'redis' && backendName !== 'postgres')
      return { l1: resolved, bus: undefined };
    return { l1: resolved, bus: { url: location, own: true, kind: backendName } };
  }
  if (typeof bus !== 'string' || !/^(redis|rediss|postgres|postgresql):\/\//i.test(bus)) {
    fail(
      alias,
      'bus',
      `expected a redis://, rediss:// or postgres:// URL, or false, got ${typeof bus === 'string' ? JSON.stringify(redactSecrets(bus)) : typeof bus}`,
    );
  }
  return {
    l1: resolved,
    bus: { url: bus, own: false, kind: /^redis/i.test(bus) ? 'redis' : 'postgres' },
  };
}
