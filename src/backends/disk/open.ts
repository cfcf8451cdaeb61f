/**
 * Opening a disk store: the directory resolved and made, the shared connection, the store.
 */
import { join, resolve } from 'node:path';
import { ConfigError } from '../../core/errors.js';
import type { BackendContext } from '../../core/store.js';
import {
  acquireConnection,
  loadDriver,
  releaseConnection,
  type SharedConnection,
} from './connection.js';
import { diskError, type DiskPlace } from './errors.js';
import { resolveDiskOptions } from './options.js';
import { DATABASE_FILE } from './schema.js';
import { DiskStore } from './store.js';

/**
 * Opens (creating if needed) the disk store in `context.location`, a directory resolved against
 * the working directory.
 * @throws ConfigError without a location or without better-sqlite3; BackendError if the
 *   directory or database cannot be used (the message says why and what to do)
 */
export function openDiskStore(context: BackendContext): DiskStore {
  if (context.location === '') {
    throw new ConfigError(
      `cache "${context.alias}": field "location": the disk backend needs a directory (disk:///abs/dir or disk://./rel/dir)`,
    );
  }
  const options = resolveDiskOptions(context.options);
  const directory = resolve(context.location);
  const place: DiskPlace = {
    alias: context.alias,
    directory,
    databaseFile: join(directory, DATABASE_FILE),
    busyTimeoutMs: options.busyTimeoutMs,
  };
  const Driver = loadDriver(context.alias);
  let shared: SharedConnection | undefined;
  try {
    shared = acquireConnection(place, Driver);
    return new DiskStore(shared, options, place, context.now, context.logger);
  } catch (error) {
    if (shared) releaseConnection(shared);
    throw diskError(error, 'open', place);
  }
}
