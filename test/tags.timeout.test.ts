/**
 * A tagged read makes two store round trips: the entry, then its tag records. Both belong to the
 * one `get`, so `operationTimeout` bounds the whole of it on a store that does not bound its own
 * operations (SPEC: "an operation slower than this fails with BackendError"), and the failure is
 * reported like any other (`failOpen`, `error` event, stats).
 */
import { describe, expect, it } from 'vitest';
import { BackendError } from '../src/core/errors.js';
import { silentLogger } from '../src/core/logger.js';
import { createCache } from '../src/core/registry.js';
import { faultyNetworkStore } from './fixtures/resilience-helpers.js';

const OPERATION_TIMEOUT_MS = 100;
/** Generous for a loaded machine; the bug makes the call hang for good. */
const BOUND_MS = 5000;

/** How `promise` settled, and when; `'pending'` if not within {@link BOUND_MS}. */
async function outcome(
  promise: Promise<unknown>,
): Promise<{ value?: unknown; error?: unknown; pending?: true; ms: number }> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), BOUND_MS);
  });
  try {
    const value = await Promise.race([promise, late]);
    const ms = performance.now() - started;
    return value === 'late' ? { pending: true, ms } : { value, ms };
  } catch (error) {
    return { error, ms: performance.now() - started };
  } finally {
    clearTimeout(timer);
  }
}

describe('a tagged get whose tag records do not answer', () => {
  for (const failOpen of [true, false]) {
    it(`ends within operationTimeout (failOpen: ${failOpen})`, async () => {
      // An async store over a Map; its getMany (the tag records' read) can be made to hang.
      const { factory, control } = faultyNetworkStore();
      const cache = createCache({
        backend: factory,
        operationTimeout: `${OPERATION_TIMEOUT_MS}ms`,
        circuitBreaker: false,
        failOpen,
        logger: silentLogger,
      });
      const errors: string[] = [];
      cache.on('error', (event) => errors.push(event.operation));
      await cache.set('k', 'v', { tags: ['t'] });
      expect(await cache.get('k')).toBe('v');
      control.methodModes.set('getMany', 'hang');

      const result = await outcome(cache.get('k', { default: 'fallback' }));

      expect(result.pending).toBeUndefined();
      expect(result.ms).toBeLessThan(BOUND_MS);
      if (failOpen) {
        expect(result.value).toBe('fallback');
        expect(errors).toEqual(['get']);
        expect(cache.stats().errors).toBe(1);
      } else {
        expect(result.error).toBeInstanceOf(BackendError);
        expect(String(result.error)).toMatch(/operationTimeout/);
      }
      control.methodModes.delete('getMany');
      await cache.close();
    });
  }
});
