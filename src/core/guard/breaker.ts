/**
 * The circuit breaker of one cache object. After `failures` consecutive backend failures it opens:
 * operations fail at once for `openFor` instead of waiting on a backend that is down. Then one
 * trial operation is let through: success closes the breaker, failure opens it again.
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
   */
  admit(operation: string): void {
    if (this.#openUntil === 0) return;
    if (this.now() >= this.#openUntil && !this.#trialRunning) {
      this.#trialRunning = true;
      return;
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

  failed(): void {
    this.#consecutive++;
    if (this.#trialRunning || this.#consecutive >= this.options.failures) {
      this.#openUntil = this.now() + this.options.openForMs;
    }
    this.#trialRunning = false;
  }
}
