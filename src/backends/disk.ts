/**
 * The `disk` backend: a cache in a directory, shared by every process that opens it, kept in
 * SQLite through better-sqlite3 (loaded on first use) with large values in files beside the
 * database. Options, layout and guarantees: docs/disk.md.
 */
import type { BackendDefinition } from './definition.js';
import { DISK_OPTION_SPECS, validateDiskOptions } from './disk/options.js';
import { openDiskStore } from './disk/open.js';

export type { DiskStore } from './disk/store.js';
export { DISK_DEFAULTS, type EvictionPolicy } from './disk/options.js';

/** The `disk` backend definition. */
export const diskBackend: BackendDefinition = {
  name: 'disk',
  sync: true,
  options: DISK_OPTION_SPECS,
  validate: validateDiskOptions,
  factory: openDiskStore,
};
