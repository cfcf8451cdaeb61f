/**
 * `keys()` and `deleteMatching()`: pages of keys in key order, so that nothing stays open between
 * pages (the caller may use the cache, even delete these keys, while iterating; no read
 * transaction pins the WAL) and no transaction holds other writers up for long.
 */
import type { SqlKeyFilter } from './glob.js';
import type { Database } from './schema.js';
import { deleteRangeSql, keyPageParameters, keyPageSql, PAGE_ROWS } from './statements.js';

/**
 * The live keys `filter` selects, a page of PAGE_ROWS at a time.
 * @param fail turns a driver error into the error to throw
 */
export function* matchingKeys(
  db: Database,
  filter: SqlKeyFilter,
  now: () => number,
  fail: (error: unknown) => Error,
): Iterable<string> {
  const first = db.prepare(keyPageSql(filter, false, true)).pluck();
  const next = db.prepare(keyPageSql(filter, true, true)).pluck();
  let after: string | undefined;
  for (;;) {
    let page: string[];
    try {
      const parameters = keyPageParameters(filter, after, now());
      page = (after === undefined ? first : next).all(...parameters) as string[];
    } catch (error) {
      throw fail(error);
    }
    yield* page;
    if (page.length < PAGE_ROWS) return;
    after = page[page.length - 1];
  }
}

/**
 * Removes the live and expired entries `filter` selects, in batches of PAGE_ROWS keys, one
 * IMMEDIATE transaction each: select a page of keys, then delete the matching keys in that range.
 * @param trashed called when removed rows had files (now in the trash)
 * @returns how many live entries went
 */
export function deleteMatchingKeys(
  db: Database,
  filter: SqlKeyFilter,
  now: number,
  trashed: () => void,
): number {
  const first = db.prepare(keyPageSql(filter, false, false)).pluck();
  const next = db.prepare(keyPageSql(filter, true, false)).pluck();
  const remove = db.prepare(deleteRangeSql(filter)).raw();
  const glob = filter.glob === undefined ? [] : [filter.glob];
  let removed = 0;
  const batch = db.transaction((after: string | undefined) => {
    const keys = (after === undefined ? first : next).all(
      ...keyPageParameters(filter, after),
    ) as string[];
    if (keys.length === 0) return undefined;
    const last = keys[keys.length - 1]!;
    const rows = remove.all(keys[0], last, ...glob, now) as Array<[number, number]>;
    for (const [live, hasFile] of rows) {
      if (live) removed++;
      if (hasFile) trashed();
    }
    return keys.length < PAGE_ROWS ? undefined : last;
  });
  let after: string | undefined;
  do {
    after = batch.immediate(after);
  } while (after !== undefined);
  return removed;
}
