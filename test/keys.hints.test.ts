import { describe, expect, it } from 'vitest';
import { createPrivateMemoryStore } from '../src/backends/memory.js';
import { createCache } from '../src/core/registry.js';
import type { KeyHint, Payload, StoreCapabilities } from '../src/core/store.js';
import { MapStore } from './fixtures/custom-backend.js';

/** A MapStore that records the hint objects `get` receives. */
class HintRecordingStore extends MapStore {
  readonly hints: Array<KeyHint | undefined> = [];
  declare readonly capabilities: StoreCapabilities & { readonly sync: true };

  constructor(now: () => number, usesHints: boolean) {
    super(now);
    (this as { capabilities: StoreCapabilities }).capabilities = usesHints
      ? { sync: true, hints: true }
      : { sync: true };
  }

  override get(key: string, hint?: KeyHint): Payload | undefined {
    this.hints.push(hint);
    return super.get(key);
  }
}

async function hintsSeen(usesHints: boolean): Promise<Array<KeyHint | undefined>> {
  let store: HintRecordingStore | undefined;
  const cache = createCache({
    backend: (context) => (store = new HintRecordingStore(context.now, usesHints)),
  });
  await cache.set('k', 1);
  expect(await cache.get('k')).toBe(1);
  expect(cache.getSync('k')).toBe(1);
  expect(await cache.get('k', { version: 2 })).toBeUndefined();
  return store!.hints;
}

describe('made keys and store hints', () => {
  it('a store that uses hints gets the same hint object for a key on every default-version get', async () => {
    const [first, second, versioned] = await hintsSeen(true);
    expect(first).toBeDefined();
    expect(second).toBe(first);
    // An explicit version never shares the default version's hint (nor its slot).
    expect(versioned).not.toBe(first);
    expect(versioned?.slot).toBeUndefined();
  });

  it('a store that ignores hints gets no hint (nothing memoized for it)', async () => {
    const hints = await hintsSeen(false);
    expect(hints.length).toBeGreaterThanOrEqual(3);
    expect(hints.every((hint) => hint === undefined)).toBe(true);
  });

  it('the memory store (also the L1 of two tiers) declares that it uses hints', () => {
    const store = createPrivateMemoryStore({ maxEntries: 10 }, Date.now);
    expect(store.capabilities.hints).toBe(true);
  });
});
