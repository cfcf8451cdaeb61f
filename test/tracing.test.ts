import { tracingChannel } from 'node:diagnostics_channel';
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createCache, type OperationTraceContext } from '../src/index.js';

describe('diagnostics_channel tracing', () => {
  it('publishes each store call on skycache:operation with operation, alias and backend', async () => {
    const seen: Array<{ phase: string; context: OperationTraceContext }> = [];
    const handlers = {
      start: (context: OperationTraceContext) => seen.push({ phase: 'start', context }),
      end: (context: OperationTraceContext) => seen.push({ phase: 'end', context }),
      asyncStart: () => {},
      asyncEnd: (context: OperationTraceContext) => seen.push({ phase: 'asyncEnd', context }),
      error: (context: OperationTraceContext) => seen.push({ phase: 'error', context }),
    };
    const channel = tracingChannel<unknown, OperationTraceContext>('skycache:operation');
    channel.subscribe(handlers);
    try {
      const cache = createCache({ backend: 'memory', location: `trace-${randomUUID()}` }, 'traced');
      await cache.set('k', 1);
      await cache.get('k');
      cache.getSync('k');
      await expect(cache.incr('missing')).rejects.toMatchObject({
        code: 'ERR_CACHE_KEY_NOT_FOUND',
      });
      const operations = seen
        .filter((entry) => entry.phase === 'start')
        .map((entry) => entry.context.operation);
      expect(operations).toEqual(['set', 'get', 'get', 'incr']);
      expect(seen.find((entry) => entry.phase === 'start')!.context).toMatchObject({
        alias: 'traced',
        backend: 'memory',
      });
      expect(
        seen.filter((entry) => entry.phase === 'error').map((entry) => entry.context.operation),
      ).toEqual(['incr']);
    } finally {
      channel.unsubscribe(handlers);
    }
  });
});
