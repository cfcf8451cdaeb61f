/**
 * Connections: better-sqlite3 loaded on first use, and one connection per directory in the
 * process, shared by the stores opened on it and closed with the last of them.
 *
 * Sharing makes the connection the store's identity (`client`), so that caches on one directory
 * share in-process work such as `getOrSet` single-flight; it also saves file handles and page
 * cache. Connections are keyed by busy timeout too, a per-connection setting.
 */
import { mkdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { ConfigError } from '../../core/errors.js';
import type { DiskPlace } from './errors.js';
import { prepareDatabase, type Database } from './schema.js';

let driver: typeof BetterSqlite3 | undefined;

/** Loads better-sqlite3 on first use: importing skycache never does. */
export function loadDriver(alias: string): typeof BetterSqlite3 {
  if (driver) return driver;
  try {
    driver = createRequire(import.meta.url)('better-sqlite3') as typeof BetterSqlite3;
  } catch (error) {
    throw new ConfigError(
      `cache "${alias}": the disk backend needs the better-sqlite3 package (^12); install it with npm install better-sqlite3`,
      { cause: error },
    );
  }
  return driver;
}

/**
 * Creates `path` and its missing parents, failing fast: each level is tried at most twice.
 * (Node's `mkdirSync(…, { recursive: true })` retries for ever where `mkdir` answers ENOENT for a
 * parent that exists, as under `/proc`, and so hangs the event loop.)
 */
function makeDirectory(path: string): void {
  try {
    makeOneDirectory(path);
  } catch (error) {
    const parent = dirname(path);
    if ((error as { code?: unknown }).code !== 'ENOENT' || parent === path) throw error;
    makeDirectory(parent);
    makeOneDirectory(path);
  }
}

/** `mkdir` of one level; a directory that exists already (maybe made by another process) is fine. */
function makeOneDirectory(path: string): void {
  try {
    mkdirSync(path);
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'EEXIST' || !statSync(path).isDirectory())
      throw error;
  }
}

/** A connection and how many open stores use it. */
export interface SharedConnection {
  readonly id: string;
  readonly db: Database;
  users: number;
}

const connections = new Map<string, SharedConnection>();

/** The directory's connection, opened (and the directory and schema created) if needed. */
export function acquireConnection(
  place: DiskPlace,
  Driver: typeof BetterSqlite3,
): SharedConnection {
  const id = `${place.busyTimeoutMs}:${place.directory}`;
  const existing = connections.get(id);
  // A connection closed behind our back (through `client`) is replaced.
  if (existing?.db.open) {
    existing.users++;
    return existing;
  }
  let db: Database | undefined;
  try {
    makeDirectory(place.directory);
    db = new Driver(place.databaseFile, { timeout: place.busyTimeoutMs });
    prepareDatabase(db, place);
  } catch (error) {
    try {
      db?.close();
    } catch {
      // Reporting the open failure matters more.
    }
    throw error;
  }
  const shared = { id, db, users: 1 };
  connections.set(id, shared);
  return shared;
}

/** Gives back one store's use of a connection; the last one closes it. */
export function releaseConnection(shared: SharedConnection): void {
  if (--shared.users > 0) return;
  if (connections.get(shared.id) === shared) connections.delete(shared.id);
  shared.db.close();
}
