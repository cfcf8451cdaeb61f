import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MAX_TIMER_MS, setLongInterval, setLongTimeout } from '../src/core/timers.js';

describe('setLongTimeout', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('waits the whole of a delay longer than Node allows, without a warning', () => {
    const warnings: string[] = [];
    const onWarning = (w: Error): void => {
      warnings.push(w.name);
    };
    process.on('warning', onWarning);
    const fired = vi.fn();
    const thirtyDays = 30 * 86_400_000;
    setLongTimeout(fired, thirtyDays, 'arg');
    vi.advanceTimersByTime(MAX_TIMER_MS);
    expect(fired).not.toHaveBeenCalled();
    vi.advanceTimersByTime(thirtyDays - MAX_TIMER_MS - 1);
    expect(fired).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(fired).toHaveBeenCalledExactlyOnceWith('arg');
    process.off('warning', onWarning);
    expect(warnings).toEqual([]);
  });

  it('fires short delays once and can be cleared', () => {
    const fired = vi.fn();
    setLongTimeout(fired, 50);
    const cleared = vi.fn();
    setLongTimeout(cleared, 50).clear();
    vi.advanceTimersByTime(50);
    expect(fired).toHaveBeenCalledTimes(1);
    expect(cleared).not.toHaveBeenCalled();
  });

  it('clears a chained timer between steps', () => {
    const fired = vi.fn();
    const timer = setLongTimeout(fired, 3 * MAX_TIMER_MS);
    vi.advanceTimersByTime(MAX_TIMER_MS + 10);
    timer.clear();
    vi.advanceTimersByTime(3 * MAX_TIMER_MS);
    expect(fired).not.toHaveBeenCalled();
  });

  it('runs a long interval at its period, not every millisecond', () => {
    const tick = vi.fn();
    const period = 80 * 86_400_000;
    const interval = setLongInterval(tick, period);
    vi.advanceTimersByTime(period - 1);
    expect(tick).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(tick).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(period);
    expect(tick).toHaveBeenCalledTimes(2);
    interval.clear();
    vi.advanceTimersByTime(3 * period);
    expect(tick).toHaveBeenCalledTimes(2);
  });
});
