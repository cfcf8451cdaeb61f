/**
 * The operation timeout's watchdog must hold only the calls in flight. A call that never answers
 * (a stuck connection, a store bug) must not keep every later, settled call of the cache in memory
 * until its own deadline: with `operationTimeout: '1h'` (any duration up to Node's timer range
 * goes through the watchdog) that is an hour of the cache's traffic.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../src/core/logger.js';
import { createCache } from '../src/core/registry.js';
import type { BackendContext, Store } from '../src/core/store.js';
import { MapStore } from './fixtures/custom-backend.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

async function heapMb(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return process.memoryUsage().heapUsed / 1e6;
}

/** An async Map store whose first `get` never answers. */
function firstGetHangs(context: BackendContext): Store {
  const inner = new MapStore(context.now);
  let first = true;
  return {
    capabilities: { sync: false },
    client: inner.client,
    get: (key: string) => {
      if (first) {
        first = false;
        return new Promise(() => {});
      }
      return Promise.resolve(inner.get(key));
    },
    delete: (key: string) => Promise.resolve(inner.delete(key)),
    close: () => {},
  } as unknown as Store;
}

describe('operationTimeout watchdog', () => {
  it('does not keep settled calls alive behind one that never answers', async () => {
    const cache = createCache({
      backend: firstGetHangs,
      operationTimeout: '1h',
      logger: silentLogger,
    });
    await cache.delete('open');
    void cache.get('stuck');
    const before = await heapMb();
    for (let i = 0; i < 100_000; i += 100) {
      await Promise.all(Array.from({ length: 100 }, (_, j) => cache.get(`k${i + j}`)));
    }
    const grown = (await heapMb()) - before;
    // About 50 MB when each settled call stays listed (roughly 500 bytes each); a few MB at most
    // otherwise.
    expect(grown).toBeLessThan(15);
    await cache.close();
  }, 60_000);
});
