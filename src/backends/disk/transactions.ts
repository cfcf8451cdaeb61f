/**
 * The disk store's writes that run more than one statement, each a better-sqlite3 transaction the
 * store runs with `.immediate(…)`: `BEGIN IMMEDIATE` takes the write lock up front, so SQLite's
 * busy handler makes it wait for other writers instead of failing with SQLITE_BUSY halfway.
 * Inside, they report through {@link WriteHooks}: `afterWrite` keeps the limits (see upkeep.ts),
 * `trashed` says that removed rows may have left files in the trash.
 */
import type BetterSqlite3 from 'better-sqlite3';
import { InvalidValueError, KeyNotFoundError } from '../../core/errors.js';
import type { Payload } from '../../core/store.js';
import { parseIntegerPayload } from '../../serializers/codec.js';
import type { Database } from './schema.js';
import type { DeletedRow, DiskStatements, EntryRow } from './statements.js';
import { dropEvictionIndexes } from './upkeep.js';

type Transaction<F extends (...args: never[]) => unknown> = BetterSqlite3.Transaction<F>;

/** What a write stores: the payload inline, or the name of the file just written for it. */
export interface PreparedEntry {
  readonly key: string;
  readonly inline: Payload | null;
  readonly file: string | null;
  /** UTF-8 bytes of key + payload. */
  readonly size: number;
}

/** How a transaction tells the store what it did. */
export interface WriteHooks {
  /** The end of a write: limits and expiry, in the same transaction (sparing `protectKey`). */
  afterWrite(protectKey: string, now: number): void;
  /** Rows were removed or replaced: their files may be in the trash. */
  trashed(): void;
}

export interface DiskTransactions {
  /** Upserts `entries` and deletes `dropped` (entries too large to keep). */
  readonly setMany: Transaction<
    (
      entries: readonly PreparedEntry[],
      dropped: readonly string[],
      expiresAt: number | null,
      now: number,
    ) => void
  >;
  /** Stores only if absent or expired; `true` if stored. */
  readonly add: Transaction<
    (entry: PreparedEntry, expiresAt: number | null, now: number) => boolean
  >;
  /** How many live entries went. */
  readonly deleteMany: Transaction<(keys: readonly string[], now: number) => number>;
  /** The failed `incr`, again under the lock, to say why it failed (or succeed after all). */
  readonly incr: Transaction<(key: string, delta: number, now: number) => number>;
  /** `incrVersion`'s move; `false` if `from` is not live. */
  readonly move: Transaction<(from: string, to: string, now: number) => boolean>;
  /** After `clear()`: resets the totals and drops the eviction indexes if no entry is left. */
  readonly resetIfEmpty: Transaction<() => void>;
}

export function prepareTransactions(
  db: Database,
  sql: DiskStatements,
  hooks: WriteHooks,
): DiskTransactions {
  return {
    setMany: db.transaction(
      (
        entries: readonly PreparedEntry[],
        dropped: readonly string[],
        expiresAt: number | null,
        now: number,
      ) => {
        for (const { key, inline, file, size } of entries) {
          if (file === null && sql.upsertInline.run(key, inline, expiresAt, now, now, size).changes)
            continue;
          sql.upsert.run(key, inline, file, expiresAt, now, now, size);
        }
        for (const key of dropped) sql.deleteEntry.run(key);
        const last = entries[entries.length - 1];
        if (last) hooks.afterWrite(last.key, now);
        else hooks.trashed();
      },
    ),
    add: db.transaction((entry: PreparedEntry, expiresAt: number | null, now: number) => {
      const { changes } = sql.insertIfAbsent.run(
        entry.key,
        entry.inline,
        entry.file,
        expiresAt,
        now,
        now,
        entry.size,
        now,
      );
      if (changes === 0) return false;
      hooks.afterWrite(entry.key, now);
      return true;
    }),
    deleteMany: db.transaction((keys: readonly string[], now: number) => {
      let removed = 0;
      for (const key of keys) {
        const row = sql.deleteEntry.get(key) as DeletedRow | undefined;
        if (row === undefined) continue;
        if (row[0] === null || row[0] > now) removed++;
        if (row[1] !== null) hooks.trashed();
      }
      return removed;
    }),
    incr: db.transaction((key: string, delta: number, now: number) => {
      const value = sql.incr.get({ key, delta, now }) as string | undefined;
      if (value !== undefined) return Number(value);
      const row = sql.selectEntry.get(key) as EntryRow | undefined;
      if (row === undefined || (row[2] !== null && row[2] <= now)) {
        throw new KeyNotFoundError(`key "${key}" not found`);
      }
      if (row[1] !== null || parseIntegerPayload(row[0]) === undefined) {
        throw new InvalidValueError(`the value under "${key}" is not an integer`);
      }
      throw new InvalidValueError(`incr of "${key}" would leave the safe integer range`);
    }),
    move: db.transaction((from: string, to: string, now: number) => {
      // Inside the write lock: nobody changes `from` between this check and the rename.
      const expiresAt = sql.selectExpiry.get(from) as number | null | undefined;
      if (expiresAt === undefined || (expiresAt !== null && expiresAt <= now)) return false;
      if (from === to) return true;
      // `to` goes first (its file to the trash), then `from` takes its name, file and all.
      if (sql.deleteEntry.get(to) !== undefined) hooks.trashed();
      sql.rename.run(to, Buffer.byteLength(to) - Buffer.byteLength(from), from, now);
      hooks.afterWrite(to, now);
      return true;
    }),
    resetIfEmpty: db.transaction(() => {
      if (sql.anyEntry.get() !== undefined) return;
      // Counted by triggers, reset anyway; and an empty cache is back to cheap writes (no
      // eviction indexes) until it reaches a limit again.
      sql.resetTotals.run();
      dropEvictionIndexes(db);
    }),
  };
}
