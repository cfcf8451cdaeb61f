/**
 * How a built-in backend describes itself to configuration: its options (so that URLs, objects and
 * the original upper-case settings are validated the same way) and the factory that makes its
 * store. A backend module must not import its driver at the top level; the factory loads it.
 */
import type { BackendFactory } from '../core/store.js';

/** The type of one backend option, used to validate objects and coerce URL query strings. */
export type OptionSpec =
  | { kind: 'integer'; min?: number; max?: number }
  | { kind: 'number'; min?: number }
  | { kind: 'boolean' }
  | { kind: 'string' }
  | { kind: 'duration' }
  | { kind: 'enum'; values: readonly string[] }
  /** Anything at all (an existing client object, a nested driver config); not settable by URL. */
  | { kind: 'object' };

/** A built-in backend. */
export interface BackendDefinition {
  /** The name used in `backend:` and as the URL scheme's target. */
  readonly name: string;
  /** Whether its stores are synchronous (the `…Sync` API works). */
  readonly sync: boolean;
  /** Every option it accepts; anything else is a `ConfigError`. */
  readonly options: Readonly<Record<string, OptionSpec>>;
  /** URL query parameters that belong to the driver's own URL format and are passed through. */
  readonly driverQueryParameters?: readonly string[];
  /**
   * Extra checks across options, after each option was validated on its own.
   * @returns a problem description (`field: problem`) or `undefined`
   */
  validate?(options: Readonly<Record<string, unknown>>): string | undefined;
  /** Makes a store. */
  readonly factory: BackendFactory;
}
