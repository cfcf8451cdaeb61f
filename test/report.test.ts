/**
 * Warning folding (issue 12, item 8): at most one warning per cache and operation per second, the
 * count of the folded ones carried by the line that closes the second.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import type { Logger } from '../src/core/logger.js';
import { FOLD_WINDOW_MS, WarningFolder } from '../src/core/report.js';

interface Line {
  object: Record<string, unknown>;
  message: string | undefined;
}

function recordingLogger(): Logger & { lines: Line[] } {
  const lines: Line[] = [];
  return {
    lines,
    warn: (object, message) => lines.push({ object, message }),
    error: () => {},
    debug: () => {},
  };
}

describe('WarningFolder', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  const folderFor = (logger: Logger) => new WarningFolder(logger, FOLD_WINDOW_MS, () => Date.now());

  it('logs the first failure at once and folds a burst into one more line a second later', () => {
    const logger = recordingLogger();
    const folder = folderFor(logger);
    for (let i = 0; i < 1000; i++) folder.warn('get', { key: `k${i}` }, 'cache get problem');
    expect(logger.lines).toEqual([{ object: { key: 'k0' }, message: 'cache get problem' }]);
    vi.advanceTimersByTime(FOLD_WINDOW_MS);
    expect(logger.lines).toHaveLength(2);
    expect(logger.lines[1]!.object).toEqual({ key: 'k999', folded: 998 });
    expect(logger.lines[1]!.message).toContain('998 more');
    // Nothing more after the burst.
    vi.advanceTimersByTime(10 * FOLD_WINDOW_MS);
    expect(logger.lines).toHaveLength(2);
  });

  it('writes about one line a second, per operation, during a long outage', () => {
    const logger = recordingLogger();
    const folder = folderFor(logger);
    let failures = 0;
    // 10 s of failures on two operations, one every 2 ms each.
    for (let t = 0; t < 10_000; t += 2) {
      folder.warn('get', { key: 'a' }, 'cache get problem');
      folder.warn('set', { key: 'b' }, 'cache set problem');
      failures += 2;
      vi.advanceTimersByTime(2);
    }
    vi.advanceTimersByTime(2 * FOLD_WINDOW_MS);
    for (const operation of ['get', 'set']) {
      const lines = logger.lines.filter((line) => line.message?.includes(`cache ${operation}`));
      expect(lines.length).toBeGreaterThanOrEqual(9);
      expect(lines.length).toBeLessThanOrEqual(12);
      // Every failure is accounted for: the lines themselves plus what they folded.
      const accounted = lines.reduce((sum, line) => sum + 1 + Number(line.object.folded ?? 0), 0);
      expect(accounted).toBe(failures / 2);
    }
  });

  it('a failure after the window, before its closing line was written, carries the count', () => {
    const logger = recordingLogger();
    let now = 0;
    const folder = new WarningFolder(logger, FOLD_WINDOW_MS, () => now);
    folder.warn('get', { n: 1 }, 'm');
    folder.warn('get', { n: 2 }, 'm');
    folder.warn('get', { n: 3 }, 'm');
    // The clock passed the window, but the closing timer has not run yet.
    now = FOLD_WINDOW_MS + 5;
    folder.warn('get', { n: 4 }, 'm');
    expect(logger.lines.map((line) => line.object)).toEqual([{ n: 1 }, { n: 4, folded: 2 }]);
    vi.advanceTimersByTime(5 * FOLD_WINDOW_MS);
    expect(logger.lines).toHaveLength(2);
  });

  it('logs a failure at once again after a quiet second', () => {
    const logger = recordingLogger();
    const folder = folderFor(logger);
    folder.warn('get', { n: 1 }, 'm');
    vi.advanceTimersByTime(FOLD_WINDOW_MS);
    folder.warn('get', { n: 2 }, 'm');
    expect(logger.lines.map((line) => line.object)).toEqual([{ n: 1 }, { n: 2 }]);
  });

  it('flush() logs what is still folded and leaves no timer behind', () => {
    const logger = recordingLogger();
    const folder = folderFor(logger);
    folder.warn('get', { n: 1 }, 'm');
    folder.warn('get', { n: 2 }, 'm');
    folder.warn('get', { n: 3 }, 'm');
    folder.flush();
    expect(logger.lines.map((line) => line.object)).toEqual([{ n: 1 }, { n: 3, folded: 1 }]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('reads the logger through a function when given one', () => {
    const first = recordingLogger();
    const second = recordingLogger();
    let current: Logger = first;
    const folder = new WarningFolder(
      () => current,
      FOLD_WINDOW_MS,
      () => Date.now(),
    );
    folder.warn('get', {}, 'one');
    current = second;
    vi.advanceTimersByTime(FOLD_WINDOW_MS);
    folder.warn('get', {}, 'two');
    expect(first.lines).toHaveLength(1);
    expect(second.lines).toHaveLength(1);
  });
});
