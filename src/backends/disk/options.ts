/**
 * The disk backend's options: their specs (so URLs, objects and the original upper-case settings
 * are validated alike), the cross-option checks, and their resolved form with units applied.
 */
import { configDurationToMs, type Duration } from '../../core/duration.js';
import type { OptionSpec } from '../definition.js';

/** Which entries go first when a limit is reached. */
export type EvictionPolicy =
  'least-recently-stored' | 'least-recently-used' | 'least-frequently-used' | 'none';

export const EVICTION_POLICIES: readonly EvictionPolicy[] = [
  'least-recently-stored',
  'least-recently-used',
  'least-frequently-used',
  'none',
];

/** Defaults, in the units the options use. */
export const DISK_DEFAULTS = {
  /** Bytes (1 GiB). */
  sizeLimit: 1024 ** 3,
  /** Django's default: a cull removes a third of the entries. */
  cullFrequency: 3,
  evictionPolicy: 'least-recently-stored' as EvictionPolicy,
  /** Bytes (32 KiB): payloads at least this long are kept in files beside the database. */
  largeValueThreshold: 32 * 1024,
  /** Seconds a write waits for another process's transaction before failing. */
  busyTimeout: 5 as Duration,
};

/** The option specs of the disk backend (see docs/disk.md). */
export const DISK_OPTION_SPECS: Readonly<Record<string, OptionSpec>> = {
  sizeLimit: { kind: 'integer', min: 0 },
  maxEntries: { kind: 'integer', min: 1 },
  cullFrequency: { kind: 'integer', min: 0 },
  evictionPolicy: { kind: 'enum', values: EVICTION_POLICIES },
  // An integer payload (at most 17 characters) must stay inline, where `incr` works on it.
  largeValueThreshold: { kind: 'integer', min: 64, max: 1024 ** 3 },
  busyTimeout: { kind: 'duration' },
};

/** Checks across options, after each was validated on its own. */
export function validateDiskOptions(
  options: Readonly<Record<string, unknown>>,
): string | undefined {
  if (options.evictionPolicy === 'none') {
    const limits = ['sizeLimit', 'maxEntries'].filter((name) => options[name] !== undefined);
    if (limits.length > 0) {
      return `options.evictionPolicy: 'none' never evicts, so options.${limits.join(' and options.')} would be ignored; remove ${limits.length > 1 ? 'them' : 'it'} or choose another policy`;
    }
  }
  if (options.busyTimeout !== undefined) {
    const ms = configDurationToMs(options.busyTimeout, 'options.busyTimeout');
    if (ms < 0)
      return `options.busyTimeout: must not be negative, got ${String(options.busyTimeout)}`;
    // SQLite's busy timeout is an int of ms: refused rather than cut short or failing at open.
    if (ms > 2_147_483_647)
      return `options.busyTimeout: at most 2147483647 ms (about 24.8 days, SQLite's limit), got ${String(options.busyTimeout)}`;
  }
  return undefined;
}

/** Options with defaults applied and units resolved. */
export interface DiskOptions {
  /** Bytes of keys and values (files included); `0` = no size limit. */
  readonly sizeLimit: number;
  readonly maxEntries: number | undefined;
  readonly cullFrequency: number;
  readonly evictionPolicy: EvictionPolicy;
  /** Bytes. */
  readonly largeValueThreshold: number;
  /** Milliseconds. */
  readonly busyTimeoutMs: number;
}

/** Applies defaults to options already validated by the config layer (or given directly). */
export function resolveDiskOptions(options: Readonly<Record<string, unknown>>): DiskOptions {
  const evictionPolicy =
    (options.evictionPolicy as EvictionPolicy | undefined) ?? DISK_DEFAULTS.evictionPolicy;
  return {
    // 'none' enforces no limit, so the default size limit does not apply to it either.
    sizeLimit:
      evictionPolicy === 'none'
        ? 0
        : ((options.sizeLimit as number | undefined) ?? DISK_DEFAULTS.sizeLimit),
    maxEntries: evictionPolicy === 'none' ? undefined : (options.maxEntries as number | undefined),
    cullFrequency: (options.cullFrequency as number | undefined) ?? DISK_DEFAULTS.cullFrequency,
    evictionPolicy,
    largeValueThreshold:
      (options.largeValueThreshold as number | undefined) ?? DISK_DEFAULTS.largeValueThreshold,
    busyTimeoutMs: configDurationToMs(
      (options.busyTimeout as Duration | undefined) ?? DISK_DEFAULTS.busyTimeout,
      'options.busyTimeout',
    ),
  };
}
