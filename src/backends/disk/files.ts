/**
 * Large values, kept as files beside the database: `values/<2 hex>/<30 hex>.txt|.bin`.
 *
 * A file is written once under a fresh random name (temp file + rename, so no reader ever sees a
 * partial file) before the row that names it is committed, and is never changed afterwards. A
 * removed or replaced row puts its file in the `trash` table (by trigger, in the same transaction);
 * whoever commits drains the trash and unlinks the files. Files a crash left behind (written but
 * never committed, or trashed but never unlinked) are found by {@link ValueFiles.sweep}.
 */
import { randomBytes } from 'node:crypto';
import {
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import type { Payload } from '../../core/store.js';

/** The folder, inside the cache directory, holding value files. */
export const VALUES_FOLDER = 'values';

const SUBFOLDER = /^[0-9a-f]{2}$/;
const VALUE_FILE = /^[0-9a-f]{30}\.(?:txt|bin)$/;
const TEMP_FILE = /^[0-9a-f]{30}\.(?:txt|bin)\.\d+\.tmp$/;

/** A value file that is gone or shorter than its row says (see {@link ValueFiles.read}). */
export class MissingValueFile extends Error {}

function errorCode(error: unknown): unknown {
  return (error as { code?: unknown } | null)?.code;
}

/** Unlinks a file, ignoring one that is already gone. */
function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch (error) {
    if (errorCode(error) !== 'ENOENT') throw error;
  }
}

/** The value files of one cache directory. */
export class ValueFiles {
  readonly root: string;
  /** Subfolders known to exist, so a write does not stat its folder every time. */
  readonly #folders = new Set<string>();

  constructor(directory: string) {
    this.root = join(directory, VALUES_FOLDER);
  }

  /**
   * Writes `payload` to a new file, atomically.
   * @returns the file's name relative to {@link root}, for the row's `file` column
   */
  write(payload: Payload): string {
    const id = randomBytes(16).toString('hex');
    const folder = id.slice(0, 2);
    const name = `${folder}/${id.slice(2)}.${typeof payload === 'string' ? 'txt' : 'bin'}`;
    const path = join(this.root, name);
    const temp = `${path}.${process.pid}.tmp`;
    for (let attempt = 0; ; attempt++) {
      try {
        if (!this.#folders.has(folder)) {
          mkdirSync(join(this.root, folder), { recursive: true });
          this.#folders.add(folder);
        }
        writeFileSync(temp, payload, { flag: 'wx' });
        renameSync(temp, path);
        return name;
      } catch (error) {
        this.#folders.delete(folder);
        try {
          unlinkQuietly(temp);
        } catch {
          // The write's own error is the one worth reporting.
        }
        // ENOENT: the folder was removed behind our back (by hand); make it again, once.
        if (attempt > 0 || errorCode(error) !== 'ENOENT') throw error;
      }
    }
  }

  /**
   * Reads a value file.
   * @param expectedBytes the payload length recorded in the row; a shorter file (cut off by a
   *   power loss, say) is reported as missing rather than returned torn
   * @throws MissingValueFile if the file is gone or has the wrong length
   */
  read(name: string, expectedBytes: number): Payload {
    let bytes: Buffer;
    try {
      bytes = readFileSync(join(this.root, name));
    } catch (error) {
      if (errorCode(error) === 'ENOENT') throw new MissingValueFile(name);
      throw error;
    }
    if (bytes.length !== expectedBytes) throw new MissingValueFile(name);
    return name.endsWith('.txt') ? bytes.toString('utf8') : bytes;
  }

  /** Removes a value file; one already gone is fine. */
  remove(name: string): void {
    unlinkQuietly(join(this.root, name));
  }

  /**
   * Removes files no row refers to: temp files and unreferenced value files whose last change is
   * older than `graceMs` (younger ones may belong to a write another process has not committed
   * yet). Touches nothing but files named like skycache's own.
   * @returns how many files were removed
   */
  sweep(isReferenced: (name: string) => boolean, graceMs: number): number {
    let folders: string[];
    try {
      folders = readdirSync(this.root);
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return 0;
      throw error;
    }
    const cutoff = Date.now() - graceMs;
    let removed = 0;
    for (const folder of folders) {
      if (!SUBFOLDER.test(folder)) continue;
      let names: string[];
      try {
        names = readdirSync(join(this.root, folder));
      } catch {
        continue;
      }
      for (const file of names) {
        const isTemp = TEMP_FILE.test(file);
        if (!isTemp && !VALUE_FILE.test(file)) continue;
        const path = join(this.root, folder, file);
        try {
          if (statSync(path).mtimeMs > cutoff) continue;
          if (!isTemp && isReferenced(`${folder}/${file}`)) continue;
          unlinkQuietly(path);
          removed++;
        } catch (error) {
          if (errorCode(error) !== 'ENOENT') throw error;
        }
      }
    }
    return removed;
  }
}
