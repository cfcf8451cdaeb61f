/**
 * The circuit breaker of one cache object. After `failures` consecutive backend failures it opens:
 * operations fail at once for `openFor` instead of waiting on a backend that is down. Then one
 * trial operation is let through: success closes the breaker, failure opens it again.
 *
 * Failures are counted per round, not per call: a failure counts only if its operation started
 * after the previous counted failure ({@link CircuitBreaker.admit} hands out the round as a
 * ticket). Operations in flight together, such as a burst of 1,000 cold reads queued behind one
 * stall of the event loop or of the server, fail together and count once, so client-side queueing
 * alone cannot open the breaker; a real outage still opens it once `failures` operations started
 * one after another have failed (a frozen server: within about `failures × operationTimeout`).
 */
import { BackendError } from '../errors.js';

/** Circuit breaker settings. */
export interface CircuitBreakerOptions {
  /** Consecutive failures that open the breaker. */
  readonly failures: number;
  /** How long it stays open, in ms. */
  readonly openForMs: number;
}

export class CircuitBreaker {
  #consecutive = 0;
  /** Counted failures so far: an operation's ticket is the round it started in. */
  #round = 0;
  /** While open: when the next trial may run (ms on the cache's clock); 0 when closed. */
  #openUntil = 0;
  #trialRunning = false;

  constructor(
    private readonly options: CircuitBreakerOptions,
    private readonly now: () => number,
    private readonly alias: string,
  ) {}

  /** `'open'` while failing fast, `'half-open'` once a trial may run (or runs), else `'closed'`. */
  get state(): 'closed' | 'open' | 'half-open' {
    if (this.#openUntil === 0) return 'closed';
    return this.#trialRunning || this.now() >= this.#openUntil ? 'half-open' : 'open';
  }

  /**
   * Lets an operation through, or throws `BackendError` while open. Past `openFor`, exactly one
   * caller gets through as the trial.
   * @returns the operation's ticket, to pass to {@link failed}
   */
  admit(operation: string): number {
    if (this.#openUntil === 0) return this.#round;
    if (this.now() >= this.#openUntil && !this.#trialRunning) {
      this.#trialRunning = true;
      return this.#round;
    }
    throw new BackendError(
      `${operation} on cache "${this.alias}" failed fast: the circuit breaker is open after ${this.options.failures} consecutive backend failures`,
    );
  }

  succeeded(): void {
    this.#consecutive = 0;
    this.#openUntil = 0;
    this.#trialRunning = false;
  }

  /** @param ticket what {@link admit} returned for the failed operation */
  failed(ticket: number = this.#round): void {
    // Started before the last counted failure: part of the same round, already counted.
    if (ticket !== this.#round) return;
    this.#round++;
    this.#consecutive++;
    if (this.#trialRunning || this.#consecutive >= this.options.failures) {
      this.#openUntil = this.now() + this.options.openForMs;
    }
    this.#trialRunning = false;
  }
}
