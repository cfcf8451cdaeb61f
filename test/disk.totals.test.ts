/**
 * The totals a `set` goes by (to keep the limits) and the trash it drains: writes by another
 * connection (as another process would make them), by another store on the same connection, and
 * entries kept in files, replaced inline at the same size or left in the trash by a crash.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DiskFixtures, makeClock, valueFiles } from './fixtures/disk-helpers.js';

const fixtures = new DiskFixtures();
afterEach(() => fixtures.cleanUp());

/** Another busy timeout: another connection to the same directory, as another process has. */
const OTHER_CONNECTION = { busyTimeout: 4 };

describe('disk store: the totals a set sees', () => {
  it('counts entries another connection added: maxEntries culls at the exact count', () => {
    const directory = fixtures.directory();
    const limited = fixtures.open(directory, { maxEntries: 10, cullFrequency: 3 });
    const other = fixtures.open(directory, OTHER_CONNECTION);
    expect(limited.client).not.toBe(other.client);
    for (let i = 0; i < 5; i++) limited.set(`a${i}`, 'v', null);
    for (let i = 0; i < 5; i++) other.set(`b${i}`, 'v', null);
    limited.set('a0', 'replaced', null);
    expect(limited.totals().entries).toBe(10);
    // The 11th entry: Django's cull removes max(11 − 10, ⌊11 / 3⌋) = 3.
    limited.set('c', 'v', null);
    expect(limited.totals().entries).toBe(8);
    expect(limited.get('c')).toBe('v');
  });

  it('counts entries another store on the same connection added, in a batch or one by one', () => {
    const directory = fixtures.directory();
    const limited = fixtures.open(directory, { maxEntries: 10, cullFrequency: 0 });
    const other = fixtures.open(directory);
    expect(limited.client).toBe(other.client);
    limited.set('first', 'v', null);
    other.setMany(
      Array.from({ length: 5 }, (_, i) => [`batch${i}`, 'v'] as const),
      null,
    );
    for (let i = 0; i < 4; i++) other.set(`one${i}`, 'v', null);
    limited.set('first', 'again', null);
    expect(limited.totals().entries).toBe(10);
    // cullFrequency 0: reaching the limit empties the cache but for the entry just written.
    limited.set('last', 'v', null);
    expect(limited.totals()).toEqual({ entries: 1, bytes: 'last'.length + 1 });
  });

  it('keeps sizeLimit over inserts and resizes alike', () => {
    const store = fixtures.open(fixtures.directory(), { sizeLimit: 2000 });
    for (let i = 0; i < 10; i++) store.set(`k${i}`, 'v'.repeat(98), null); // 100 bytes each
    expect(store.totals()).toEqual({ entries: 10, bytes: 1000 });
    for (let i = 0; i < 10; i++) store.set(`k${i}`, 'v'.repeat(178), null); // 180 bytes each
    expect(store.totals()).toEqual({ entries: 10, bytes: 1800 });
    store.set('k0', 'v'.repeat(398), null); // 2,200 bytes: evicts down to 90 %, keeping k0
    const { bytes } = store.totals();
    expect(bytes).toBeLessThanOrEqual(1800);
    expect(store.get('k0')).toBe('v'.repeat(398));
  });

  it('removes a file another store on the connection stored over an entry of the same size', () => {
    // Same key, same size, once inline and once in a file: the upsert that stores the file
    // changes one row and fires no trigger, so only the file write itself tells the tally.
    const clock = makeClock();
    const directory = fixtures.directory();
    const inline = fixtures.open(directory, { largeValueThreshold: 1024 }, clock.read);
    const files = fixtures.open(directory, { largeValueThreshold: 64 }, clock.read);
    expect(inline.client).toBe(files.client);
    inline.set('other', 'v', null);
    inline.set('k', 'i'.repeat(500), clock.now + 10);
    clock.advance(10);
    expect(files.add('k', 'f'.repeat(500), null)).toBe(true);
    expect(valueFiles(directory)).toHaveLength(1);
    inline.set('other', 'w', null);
    // Inline again at the same size: the upsert and the trash trigger, two changes, as an insert.
    inline.set('k', 'j'.repeat(500), null);
    expect(valueFiles(directory)).toHaveLength(0);
    expect(inline.get('k')).toBe('j'.repeat(500));
  });

  it('removes the file of an entry replaced inline at the same size', () => {
    const directory = fixtures.directory();
    const inline = fixtures.open(directory, { largeValueThreshold: 1024 });
    const files = fixtures.open(directory, { largeValueThreshold: 64 });
    inline.set('k', 'i'.repeat(500), null);
    files.set('k', 'f'.repeat(500), null);
    expect(valueFiles(directory)).toHaveLength(1);
    inline.set('k', 'j'.repeat(500), null);
    expect(valueFiles(directory)).toHaveLength(0);
    inline.set('k', 'i'.repeat(500), null);
    expect(inline.totals()).toEqual({ entries: 1, bytes: 501 });
  });

  it('removes the file of an entry another connection stored in a file', () => {
    const directory = fixtures.directory();
    const store = fixtures.open(directory, { largeValueThreshold: 64 });
    const other = fixtures.open(directory, { ...OTHER_CONNECTION, largeValueThreshold: 64 });
    store.set('warm', 'v', null);
    store.set('warm', 'w', null);
    other.set('k', 'f'.repeat(500), null);
    expect(valueFiles(directory)).toHaveLength(1);
    store.set('k', 'v', null);
    expect(valueFiles(directory)).toHaveLength(0);
  });

  it('drains files a crashed writer left in the trash on the next set', () => {
    const directory = fixtures.directory();
    const store = fixtures.open(directory, { largeValueThreshold: 64 });
    const other = fixtures.open(directory, { ...OTHER_CONNECTION, largeValueThreshold: 64 });
    store.set('warm', 'v', null);
    other.set('k', 'f'.repeat(500), null);
    // As if the other process died between removing the row and unlinking its file.
    other.client.prepare("DELETE FROM entries WHERE key = 'k'").run();
    expect(valueFiles(directory)).toHaveLength(1);
    store.set('warm', 'w', null);
    expect(valueFiles(directory)).toHaveLength(0);
  });
});
