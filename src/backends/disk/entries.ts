/**
 * An entry's payload on its way in and out: inline in the row, or in a value file beside the
 * database for large payloads (see files.ts), and the read that copes with a file another process
 * replaced meanwhile.
 */
import type { Payload } from '../../core/store.js';
import { MissingValueFile, type ValueFiles } from './files.js';
import type { Housekeeping } from './housekeeping.js';
import type { DiskOptions } from './options.js';
import { firstRow, type DiskStatements, type EntryRow } from './statements.js';
import type { PreparedEntry } from './transactions.js';

/** Reads of a value file that vanished (replaced by another process meanwhile) before giving up. */
const FILE_READ_ATTEMPTS = 3;

export class Entries {
  readonly #sql: DiskStatements;
  readonly #files: ValueFiles;
  readonly #options: DiskOptions;
  readonly #now: () => number;
  readonly #housekeeping: Housekeeping;
  /** Whether reads update the entry (LRU, LFU): then they are writes, and wait for the lock. */
  readonly #readsWrite: boolean;

  constructor(
    sql: DiskStatements,
    files: ValueFiles,
    options: DiskOptions,
    now: () => number,
    housekeeping: Housekeeping,
  ) {
    this.#sql = sql;
    this.#files = files;
    this.#options = options;
    this.#now = now;
    this.#housekeeping = housekeeping;
    const policy = options.evictionPolicy;
    this.#readsWrite = policy === 'least-recently-used' || policy === 'least-frequently-used';
  }

  /** The live payload under `key`, reading its file if it has one. */
  read(key: string): Payload | undefined {
    if (!this.#readsWrite) {
      // The common case in one plucked value: an inline payload, or a miss. `null` means the
      // payload is in a file: the full read below.
      const value = this.#sql.readValue.get(key, this.#now()) as Payload | null | undefined;
      if (value !== null) return value;
    }
    for (let attempt = 1; ; attempt++) {
      let row: EntryRow | undefined;
      if (this.#readsWrite) {
        const now = this.#now();
        row = firstRow(this.#sql.readEntry.all(now, key, now)) as EntryRow | undefined;
      } else {
        row = this.#sql.selectEntry.get(key) as EntryRow | undefined;
        if (row !== undefined && row[2] !== null && row[2] <= this.#now()) return undefined;
      }
      if (row === undefined) return undefined;
      const file = row[1];
      if (file === null) return row[0]!;
      try {
        return this.#files.read(file, row[3] - Buffer.byteLength(key));
      } catch (error) {
        if (!(error instanceof MissingValueFile)) throw error;
        // Another process replaced or removed the entry after our read and unlinked its file:
        // reading again finds the new state. A file that stays missing (removed by hand, or cut
        // off by a power loss) makes the entry a miss, and the row goes.
        if (attempt < FILE_READ_ATTEMPTS) continue;
        this.#housekeeping.dropDangling(key, file);
        return undefined;
      }
    }
  }

  /**
   * Decides where a payload goes, writing its file when it is large.
   * @returns `undefined` if the entry alone is larger than `sizeLimit` (it cannot be kept)
   */
  prepare(key: string, value: Payload): PreparedEntry | undefined {
    const valueBytes = typeof value === 'string' ? Buffer.byteLength(value) : value.length;
    const size = Buffer.byteLength(key) + valueBytes;
    const { sizeLimit, largeValueThreshold } = this.#options;
    if (sizeLimit > 0 && size > sizeLimit) return undefined;
    if (valueBytes < largeValueThreshold) return { key, inline: value, file: null, size };
    return { key, inline: null, file: this.#files.write(value), size };
  }
}
