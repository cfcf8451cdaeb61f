/**
 * Folding of failure warnings, so that an outage cannot flood the logs.
 *
 * Every failure a cache swallows is an `error` event (listeners see each one); the logger, though,
 * gets at most one warning per cache and operation per second. The first failure of a burst is
 * logged at once; the ones in the following second are counted, and when that second is over the
 * latest of them is logged with `folded: n`, the number of failures it stands for that were not
 * logged on their own. A 10 s Redis outage under load thus writes about ten lines per operation
 * instead of one per request.
 */
import type { Logger } from './logger.js';

/** How long a warning stands for the same operation's later failures, in ms. */
export const FOLD_WINDOW_MS = 1000;

interface Burst {
  /** Until when (per `now()`) failures are folded instead of logged. */
  until: number;
  /** Failures folded since the last line. */
  folded: number;
  /** The latest folded failure, logged when the window closes. */
  latest: { object: Record<string, unknown>; message: string } | undefined;
  timer: NodeJS.Timeout | undefined;
}

/** Gives one cache's failure warnings to its logger, folded per operation (see the file's comment). */
export class WarningFolder {
  readonly #bursts = new Map<string, Burst>();
  readonly #logger: () => Logger;
  readonly #windowMs: number;
  readonly #now: () => number;

  /**
   * @param logger the logger, or a function returning the current one
   * @param windowMs how long one line stands for an operation's failures (default 1000 ms)
   * @param now a clock in ms (`performance.now` by default; tests pass their own)
   */
  constructor(
    logger: Logger | (() => Logger),
    windowMs = FOLD_WINDOW_MS,
    now: () => number = () => performance.now(),
  ) {
    this.#logger = typeof logger === 'function' ? logger : () => logger;
    this.#windowMs = windowMs;
    this.#now = now;
  }

  /**
   * Logs `logger.warn(object, message)` now, or folds it into the line that closes the current
   * second of failures of `operation`.
   */
  warn(operation: string, object: Record<string, unknown>, message: string): void {
    const now = this.#now();
    const burst = this.#bursts.get(operation);
    if (burst === undefined || now >= burst.until) {
      // A window whose closing line has not been written yet (its timer is due but has not run)
      // hands its count to this line instead.
      const folded = burst?.folded ?? 0;
      if (burst?.timer !== undefined) clearTimeout(burst.timer);
      this.#bursts.set(operation, {
        until: now + this.#windowMs,
        folded: 0,
        latest: undefined,
        timer: undefined,
      });
      if (folded > 0) {
        this.#logger().warn(
          { ...object, folded },
          `${message} (and ${folded} more like it before, folded)`,
        );
      } else this.#logger().warn(object, message);
      return;
    }
    burst.folded++;
    burst.latest = { object, message };
    if (burst.timer === undefined) {
      // Unref'd: a pending summary line must not keep a finished process alive.
      burst.timer = setTimeout(() => this.#close(operation, burst), burst.until - now).unref();
    }
  }

  /** The window of `burst` is over: log its latest failure with the count of the others. */
  #close(operation: string, burst: Burst): void {
    burst.timer = undefined;
    if (this.#bursts.get(operation) !== burst || burst.latest === undefined) return;
    const { object, message } = burst.latest;
    const others = burst.folded - 1;
    // The line just logged starts a new window, so a continuing outage stays at one line a second.
    this.#bursts.set(operation, {
      until: this.#now() + this.#windowMs,
      folded: 0,
      latest: undefined,
      timer: undefined,
    });
    this.#logger().warn(
      { ...object, folded: others },
      others > 0 ? `${message} (and ${others} more like it in the last second, folded)` : message,
    );
  }

  /** Logs what is still folded and stops the timers (a cache's `close()`). */
  flush(): void {
    for (const [operation, burst] of [...this.#bursts]) {
      if (burst.timer !== undefined) clearTimeout(burst.timer);
      this.#close(operation, burst);
    }
    this.#bursts.clear();
  }
}
