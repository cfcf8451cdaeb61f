/**
 * The backend conformance suite: every row of the Cache API contract (docs: SPEC "The Cache API",
 * "Durations and timeouts", "Values and serializers", "Errors"), written once and run against
 * every backend, so that backends cannot drift apart.
 *
 * Third parties run it against their own backend from a vitest test file:
 *
 * ```ts
 * import { runConformanceSuite } from 'skycache/testing';
 * runConformanceSuite({ name: 'my backend', makeCache: (o) => createCache({ backend: myFactory, ...o }) });
 * ```
 *
 * Every test makes its caches with a fresh random `keyPrefix`, so the suite can run against a
 * shared store (a Redis database, a PostgreSQL table) without the tests seeing each other, and
 * closes every cache it made when the test ends.
 *
 * Errors are recognised by their stable `code`, not by `instanceof`: a bundle of this module may
 * carry its own copy of the error classes, and `code` is what the contract promises callers.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe } from 'vitest';
import type { CacheConfig } from '../../config/types.js';
import type { Cache } from '../../core/cache.js';
import {
  defineKeyTests,
  defineLifecycleTests,
  definePropertyTests,
  defineValidationTests,
} from './keys.js';
import { defineReadWriteTests } from './read-write.js';
import { defineTimeoutTests } from './timeouts.js';
import { defineCounterTests } from './counters.js';
import { defineBatchTests, defineClearTests } from './batches.js';
import { defineGetOrSetTests } from './get-or-set.js';
import {
  defineHashKeyTests,
  defineNamespaceTests,
  definePatternTests,
  defineVersionTests,
} from './key-spaces.js';
import { defineValueTests } from './values.js';
import { defineDummyTests } from './dummy.js';
import { defineSyncTests } from './sync.js';
import { SHORT, type SuiteContext } from './support.js';

/** How a backend is put under test. */
export interface ConformanceOptions {
  /** Title of the `describe` block. */
  name: string;
  /**
   * Makes a fresh Cache on the backend under test. `overrides` must be merged into its config
   * (they carry `keyPrefix`, `version`, `timeout`, `serializer`, `keyFunction`, `hashKeys`,
   * `maxKeyLength`, `logger`). Caches made during one test must share one store (the suite
   * checks that prefixes keep them apart); giving each test its own store is fine.
   */
  makeCache(overrides?: Partial<CacheConfig>): Cache | Promise<Cache>;
  /** The backend stores nothing: assert Django's DummyCache semantics for every row instead. */
  dummy?: boolean;
  /**
   * Whether `clear()` on a cache with `keyPrefix: ''` may be tested: it empties the whole store.
   * Default `true`; set `false` when the store is shared with data the suite must not wipe.
   */
  clearsWholeStore?: boolean;
  /** Slack for `ttl()` and expiry assertions, in milliseconds. Default 50. */
  ttlPrecisionMs?: number;
  /** Expected `cache.supportsSync`; the `…Sync` twins are tested, or must throw, accordingly. Default `false`. */
  supportsSync?: boolean;
  /** Expected `cache.backend` (its name). Checked only when given. */
  backendName?: string;
  /**
   * The store keeps JavaScript values by reference (the memory backend's `serialize: false`):
   * value isolation and serializer-specific rules do not apply and are skipped.
   */
  storesReferences?: boolean;
}

/**
 * Registers the conformance tests for one backend.
 *
 * @example
 * runConformanceSuite({ name: 'memory', supportsSync: true, makeCache: (o) => createCache({ backend: 'memory', ...o }) });
 */
export function runConformanceSuite(options: ConformanceOptions): void {
  let prefix = '';
  const made: Cache[] = [];
  const precisionMs = options.ttlPrecisionMs ?? 50;
  const ctx: SuiteContext = {
    options,
    slack: precisionMs / 1000,
    expiryWaitMs: SHORT * 1000 + precisionMs + 100,
    prefix: () => prefix,
    async make(overrides = {}) {
      const cache = await options.makeCache({ keyPrefix: prefix, ...overrides });
      made.push(cache);
      return cache;
    },
  };

  describe(options.name, () => {
    beforeEach(() => {
      prefix = `cf${randomBytes(6).toString('hex')}`;
    });
    afterEach(async () => {
      const caches = made.splice(0);
      await Promise.all(caches.map((cache) => cache.close()));
    });

    defineKeyTests(ctx);
    defineValidationTests(ctx);
    definePropertyTests(ctx);
    defineLifecycleTests(ctx);
    if (options.dummy) {
      defineDummyTests(ctx);
    } else {
      defineReadWriteTests(ctx);
      defineTimeoutTests(ctx);
      defineCounterTests(ctx);
      defineBatchTests(ctx);
      defineClearTests(ctx);
      defineGetOrSetTests(ctx);
      defineVersionTests(ctx);
      definePatternTests(ctx);
      defineNamespaceTests(ctx);
      defineHashKeyTests(ctx);
      defineValueTests(ctx);
    }
    defineSyncTests(ctx);
  });
}
