/**
 * Durations and timeouts, the one place that knows their units.
 *
 * A `Duration` is a number of seconds or a string such as `'250ms'`, `'30s'`, `'5m'`, `'1.5h'`,
 * `'7d'` (a bare numeric string is seconds). A `Timeout` is a `Duration` or `null` (never
 * expires). Internally everything becomes milliseconds.
 */
import { ConfigError, InvalidValueError } from './errors.js';

/** Seconds as a number (fractions allowed), or `<number><unit>` with unit `ms`, `s`, `m`, `h`, `d`. */
export type Duration = number | string;

/** A {@link Duration}, or `null` for "never expires". `0` or less means "do not keep". */
export type Timeout = Duration | null;

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION_PATTERN = /^(-?(?:\d+(?:\.\d+)?|\.\d+))(ms|s|m|h|d)?$/;

/** What went wrong, phrased so callers can wrap it in the error class that fits their context. */
function durationProblem(value: unknown): string | undefined {
  if (typeof value === 'number') {
    return Number.isFinite(value) ? undefined : `expected a finite number of seconds, got ${value}`;
  }
  if (typeof value === 'string') {
    return DURATION_PATTERN.test(value)
      ? undefined
      : `expected seconds or a string like '250ms', '30s', '5m', '1.5h', '7d', got ${JSON.stringify(value)}`;
  }
  return `expected a duration (seconds or a string like '30s'), got ${describe(value)}`;
}

function toMilliseconds(value: number | string): number {
  if (typeof value === 'number') return value * 1000;
  const match = DURATION_PATTERN.exec(value) as RegExpExecArray;
  return Number(match[1]) * UNIT_MS[match[2] ?? 's']!;
}

/**
 * Parses a duration given in a call.
 * @returns milliseconds (may be zero or negative: callers decide what that means)
 * @throws InvalidValueError on anything that is not a duration
 */
export function durationToMs(value: Duration, what = 'duration'): number {
  const problem = durationProblem(value);
  if (problem) throw new InvalidValueError(`${what}: ${problem}`);
  return toMilliseconds(value);
}

/**
 * Parses a duration found in configuration.
 * @returns milliseconds
 * @throws ConfigError naming `where` (alias and field)
 */
export function configDurationToMs(value: unknown, where: string): number {
  const problem = durationProblem(value);
  if (problem) throw new ConfigError(`${where}: ${problem}`);
  return toMilliseconds(value as Duration);
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
