/**
 * Durations and timeouts, the one place that knows their units.
 *
 * A `Duration` is a number of seconds or a string such as `'250ms'`, `'30s'`, `'5m'`, `'1.5h'`,
 * `'7d'` (a bare numeric string is seconds). A `Timeout` is a `Duration` or `null` (never
 * expires). Internally everything becomes milliseconds.
 *
 * Every duration, timeouts and the others alike (`operationTimeout`, `hardTimeout`, lock `ttl`,
 * stale windows, …), is bounded above by {@link MAX_DURATION_MS} (1,000 years): that much works on
 * every backend and with every timer, and anything larger (`1e308`, `'9999999999999d'`) is a
 * mistake rather than a wish, so it is rejected before any store is touched instead of being
 * clamped (a clamp would fire early) or sent to a store that fails on it (Redis answers "value is
 * not an integer or out of range", which would count as a backend failure). Negative values have
 * no lower bound: they all mean "already over" (a timeout of `-1e12` discards).
 */
import { ConfigError, InvalidValueError } from './errors.js';

/** Seconds as a number (fractions allowed), or `<number><unit>` with unit `ms`, `s`, `m`, `h`, `d`. */
export type Duration = number | string;

/** A {@link Duration}, or `null` for "never expires". `0` or less means "do not keep". */
export type Timeout = Duration | null;

/**
 * The longest duration skycache accepts, in ms: 1,000 years of 365.25 days (about 3.16e13 ms).
 * Well inside every store's range (Redis `PX`, PostgreSQL timestamps, a float expiry) and exact in
 * a double, so `now + duration` never loses precision.
 */
export const MAX_DURATION_MS = 1000 * 365.25 * 86_400_000;

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION_PATTERN = /^(-?(?:\d+(?:\.\d+)?|\.\d+))(ms|s|m|h|d)?$/;

/**
 * Milliseconds, or what went wrong as a string phrased so that callers can wrap it in the error
 * class that fits their context.
 */
function parse(value: unknown): number | string {
  let ms: number;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return `expected a finite number of seconds, got ${value}`;
    ms = value * 1000;
  } else if (typeof value === 'string') {
    const match = DURATION_PATTERN.exec(value);
    if (!match) {
      return `expected seconds or a string like '250ms', '30s', '5m', '1.5h', '7d', got ${JSON.stringify(value)}`;
    }
    ms = Number(match[1]) * UNIT_MS[match[2] ?? 's']!;
  } else {
    return `expected a duration (seconds or a string like '30s'), got ${describe(value)}`;
  }
  if (ms > MAX_DURATION_MS) {
    return `${typeof value === 'string' ? JSON.stringify(value) : `${value} s`} is longer than the limit of 1,000 years`;
  }
  // A huge negative number overflows to -Infinity in ms; it still only means "already over".
  return Number.isFinite(ms) ? ms : -Number.MAX_VALUE;
}

/**
 * Parses a duration given in a call.
 * @returns milliseconds, at most {@link MAX_DURATION_MS} (may be zero or negative: callers decide
 *   what that means)
 * @throws InvalidValueError on anything that is not a duration, and on one longer than 1,000 years
 */
export function durationToMs(value: Duration, what = 'duration'): number {
  const ms = parse(value);
  if (typeof ms === 'string') throw new InvalidValueError(`${what}: ${ms}`);
  return ms;
}

/**
 * Parses a duration found in configuration.
 * @returns milliseconds, at most {@link MAX_DURATION_MS}
 * @throws ConfigError naming `where` (alias and field), also for one longer than 1,000 years
 */
export function configDurationToMs(value: unknown, where: string): number {
  const ms = parse(value);
  if (typeof ms === 'string') throw new ConfigError(`${where}: ${ms}`);
  return ms;
}

/**
 * The expiry a storing call asks for, resolved against the cache's default.
 * - `undefined` → the default (itself a timeout in ms, or `null`);
 * - `null` → never expires;
 * - zero or negative → `'discard'`: keep nothing and remove what is there;
 * - positive → that many milliseconds from now.
 */
export type ResolvedTimeout = number | null | 'discard';

/**
 * Turns a call's timeout into milliseconds-from-now, `null` (forever) or `'discard'`.
 * @param defaultMs the cache's default timeout in ms, or `null` for "forever"
 */
export function resolveTimeout(
  timeout: Timeout | undefined,
  defaultMs: number | null,
): ResolvedTimeout {
  if (timeout === undefined)
    return defaultMs === null ? null : defaultMs > 0 ? defaultMs : 'discard';
  if (timeout === null) return null;
  const ms = durationToMs(timeout, 'timeout');
  return ms > 0 ? ms : 'discard';
}

/**
 * Absolute expiry (ms since the epoch, as `now` counts them) for a positive relative timeout.
 * Large timeouts stay relative to now: 100 years is `now + 3.15e12`, far below the float limits
 * and never used with `setTimeout`, so nothing overflows.
 */
export function expiryFrom(now: number, resolved: number | null): number | null {
  return resolved === null ? null : now + resolved;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value);
  return typeof value === 'object' ? 'an object' : `${typeof value} ${String(value)}`;
}
