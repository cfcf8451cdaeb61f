import { describe, expect, it, vi } from 'vitest';
import { withDeadline } from '../src/core/deadline.js';
import { MAX_TIMER_MS } from '../src/core/timers.js';
import { Watchdog, type Watched } from '../src/core/watchdog.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

class Call implements Watched {
  settled = false;
  deadline = 0;
  next: Watched | undefined;
  prev: Watched | undefined;
  expiredAt: number | undefined;
  readonly startedAt = performance.now();

  expire(): void {
    this.settled = true;
    this.expiredAt = performance.now();
  }
}

describe('Watchdog', () => {
  it('expires every call still in flight at its deadline, and none that settled, in any order', async () => {
    const watchdog = new Watchdog(40);
    const calls = Array.from({ length: 6 }, () => new Call());
    for (const call of calls) watchdog.watch(call);
    // Settled out of order: the second and the last, while the first is still in flight.
    calls[1]!.settled = true;
    calls[5]!.settled = true;
    watchdog.unwatch(calls[1]!);
    watchdog.unwatch(calls[5]!);
    await sleep(10);
    const late = new Call();
    watchdog.watch(late);
    // A loaded machine may run the timer late (waited for up to 10 s), never early.
    await vi.waitFor(() => expect([...calls, late].every((call) => call.settled)).toBe(true), {
      timeout: 10_000,
      interval: 20,
    });
    for (const [index, call] of calls.entries()) {
      if (index === 1 || index === 5) expect(call.expiredAt).toBeUndefined();
      else expect(call.expiredAt! - call.startedAt).toBeGreaterThanOrEqual(39);
    }
    expect(late.expiredAt! - late.startedAt).toBeGreaterThanOrEqual(39);
  });

  it('expires nothing that settled before its deadline', async () => {
    const watchdog = new Watchdog(30);
    const calls = Array.from({ length: 1000 }, () => new Call());
    for (const call of calls) {
      watchdog.watch(call);
      call.settled = true;
      watchdog.unwatch(call);
    }
    await sleep(150);
    expect(calls.every((call) => call.expiredAt === undefined)).toBe(true);
  });

  it('lets go of a settled call at once, whatever is still in flight before it', () => {
    const watchdog = new Watchdog(60_000);
    const stuck = new Call();
    watchdog.watch(stuck);
    const settled = Array.from({ length: 3 }, () => new Call());
    for (const call of settled) watchdog.watch(call);
    // The middle one settles first, then the others: each leaves the list when it settles.
    for (const call of [settled[1]!, settled[0]!, settled[2]!]) {
      call.settled = true;
      watchdog.unwatch(call);
      expect(call.next).toBeUndefined();
      expect(call.prev).toBeUndefined();
    }
    // Only the stuck call is linked: nothing settled is reachable from it.
    expect(stuck.next).toBeUndefined();
    watchdog.unwatch(stuck);
    watchdog.unwatch(stuck);
  });

  it('does not count a stall of the process right after a call against its timeout', async () => {
    const watchdog = new Watchdog(40);
    const call = new Call();
    watchdog.watch(call);
    // Busy for longer than the timeout: a reply that arrived meanwhile could not be read.
    const stallEnd = performance.now() + 120;
    while (performance.now() < stallEnd) {
      /* busy */
    }
    // The watchdog's tick (due during the stall) runs before this timer: it must not expire it.
    await sleep(0);
    expect(call.settled).toBe(false);
    await vi.waitFor(() => expect(call.settled).toBe(true), { timeout: 10_000, interval: 5 });
    // Its 40 ms counted from the first tick after it was watched, which came after the stall.
    expect(call.expiredAt! - stallEnd).toBeGreaterThanOrEqual(39);
  });

  it('is not made past Node timer range (callers keep a long timer per call there)', () => {
    expect(Watchdog.for(MAX_TIMER_MS + 1)).toBeUndefined();
    expect(Watchdog.for(Infinity)).toBeUndefined();
    expect(Watchdog.for(250)?.timeoutMs).toBe(250);
    expect(() => new Watchdog(MAX_TIMER_MS + 1)).toThrow(RangeError);
  });
});

describe('withDeadline on a watchdog', () => {
  it('settles like the promise when it is in time, and rejects with the expiry error when not', async () => {
    const watchdog = new Watchdog(50);
    const expired = () => new Error('too slow');
    await expect(withDeadline(Promise.resolve(7), 50, expired, watchdog)).resolves.toBe(7);
    await expect(
      withDeadline(Promise.reject(new Error('own')), 50, expired, watchdog),
    ).rejects.toThrow('own');
    const never = new Promise<number>(() => {});
    const started = performance.now();
    await expect(withDeadline(never, 50, expired, watchdog)).rejects.toThrow('too slow');
    expect(performance.now() - started).toBeGreaterThanOrEqual(49);
  });

  it('ignores an answer that comes after the deadline', async () => {
    const watchdog = new Watchdog(20);
    let answer!: (value: string) => void;
    const slow = new Promise<string>((resolve) => (answer = resolve));
    const raced = withDeadline(slow, 20, () => new Error('late'), watchdog);
    await expect(raced).rejects.toThrow('late');
    answer('too late');
    await sleep(5);
    await expect(raced).rejects.toThrow('late');
  });
});
