/**
 * Turns SQLite and file-system failures into `BackendError`s whose message says what happened and
 * what to do about it. Every failing operation has already been rolled back when this runs.
 */
import { BackendError, CacheError } from '../../core/errors.js';

/** Where the failing store lives, for messages. */
export interface DiskPlace {
  readonly alias: string;
  readonly directory: string;
  readonly databaseFile: string;
  readonly busyTimeoutMs: number;
}

/** `SQLITE_IOERR_WRITE` → `SQLITE_IOERR`; file-system codes (`ENOSPC`) stay as they are. */
function errorFamily(code: string): string {
  const match = /^SQLITE_[A-Z]+/.exec(code);
  return match ? match[0] : code;
}

function advice(family: string, code: string, place: DiskPlace, path: string): string | undefined {
  switch (family) {
    case 'SQLITE_FULL':
    case 'ENOSPC':
    case 'EDQUOT':
      return `the disk holding ${place.directory} is full (${code}); nothing was changed. Free some space, lower options.sizeLimit, or clear the cache`;
    case 'SQLITE_CORRUPT':
    case 'SQLITE_NOTADB':
      return `${place.databaseFile} is damaged or is not a skycache database (${code}). It holds only cached data: stop the processes using it and delete it with its -wal and -shm files (or the whole directory), or point location at another directory`;
    case 'SQLITE_READONLY':
    case 'SQLITE_CANTOPEN':
    case 'SQLITE_PERM':
    case 'SQLITE_AUTH':
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return `cannot write to ${path} (${code}). The disk backend needs read and write access to the directory and everything in it (SQLite keeps -wal and -shm files beside the database): fix the permissions or point location at a writable directory`;
    case 'SQLITE_BUSY':
    case 'SQLITE_LOCKED':
      return `the database in ${place.directory} stayed locked for longer than options.busyTimeout (${place.busyTimeoutMs} ms) because another connection held a long transaction; raise busyTimeout or find that process`;
    case 'SQLITE_IOERR':
    case 'EIO':
      return `an I/O error occurred in ${place.directory} (${code}); check the disk and the file system. Entries already stored were not changed`;
    case 'ENOENT':
      return `${path} cannot be created (${code}): the file system there does not hold ordinary directories, or a parent was removed meanwhile; point location at a directory on a writable local file system`;
    case 'ENOTDIR':
    case 'EEXIST':
      return `${path} cannot be used: part of that path is a file where the disk backend needs a directory (${code}); point location at a directory, or move the file away`;
    default:
      return undefined;
  }
}

/**
 * The error to throw for a failure during `operation`: skycache's own errors pass through, the
 * rest become a `BackendError` with advice and the original error as `cause`.
 */
export function diskError(error: unknown, operation: string, place: DiskPlace): CacheError {
  if (error instanceof CacheError) return error;
  const { code, path } = (error ?? {}) as { code?: unknown; path?: unknown };
  const reason = error instanceof Error ? error.message : String(error);
  // File-system errors name the file or folder; SQLite's concern the directory.
  const where = typeof path === 'string' ? path : place.directory;
  const what = typeof code === 'string' ? advice(errorFamily(code), code, place, where) : undefined;
  return new BackendError(
    `cache "${place.alias}": disk ${operation} failed: ${what ?? `${reason} (in ${place.directory})`}`,
    { cause: error },
  );
}
