/**
 * A view of a cache: the cache itself (namespace `''`) or a namespace view (`'a:'`, `'a:b:'`). It
 * owns what differs between views (key making in its namespace, the made-key memo) and opens the
 * shared context's store for operations.
 */
import { UnsupportedOperationError } from '../errors.js';
import type { CacheOperation } from '../guard/operations.js';
import { assertVersion, MadeKeyMemo, type MadeKey } from '../keys.js';
import type { Store } from '../store.js';
import type { CacheContext } from './context.js';

/** The key a single-key operation addressed, for reports of failures `failOpen` swallowed. */
export interface FailureTarget {
  readonly key: string;
  readonly version: number | undefined;
}

export class CacheView {
  readonly #madeKeys = new MadeKeyMemo();

  constructor(
    readonly ctx: CacheContext,
    /** `''` for the cache itself, `'a:'`, `'a:b:'` for namespace views. */
    readonly namespace: string = '',
  ) {}

  /** The namespace view `name` inside this one. */
  child(name: string): CacheView {
    return new CacheView(this.ctx, `${this.namespace}${name}:`);
  }

  /** The made key. @throws InvalidKeyError, InvalidValueError (a bad version) */
  make(key: string, version: number | undefined): string {
    if (version === undefined) {
      return this.#memoizes() ? this.madeKey(key).made : this.#fresh(key);
    }
    assertVersion(version);
    return this.ctx.keys.make(key, version, this.namespace);
  }

  /** The made key at the default version, with the store's hint, memoized. */
  madeKey(key: string): MadeKey {
    let found = this.#madeKeys.get(key);
    if (found === undefined) {
      // `slot` is present from the start so every hint has one shape (monomorphic reads).
      found = {
        made: this.ctx.keys.make(key, this.ctx.keys.version, this.namespace),
        slot: undefined,
      };
      this.#madeKeys.set(key, found);
    }
    return found;
  }

  /**
   * The store's hint for a read of `key`: the memo entry (made key included) at the default
   * version of a store that uses hints; `undefined` for an explicit version (so the store never
   * caches a handle for it across versions) or a store that ignores hints — make the key then.
   */
  hintFor(key: string, version: number | undefined, store: Store): MadeKey | undefined {
    return version === undefined && store.capabilities.hints === true
      ? this.madeKey(key)
      : undefined;
  }

  /** Made keys are memoized unless the open store ignores hints (see `StoreCapabilities.hints`). */
  #memoizes(): boolean {
    const store = this.ctx.handle.current;
    return store === undefined || store.capabilities.hints === true;
  }

  /** The made key at the default version, not memoized. */
  #fresh(key: string): string {
    const keys = this.ctx.keys;
    return keys.make(key, keys.version, this.namespace);
  }

  /**
   * The store for a `…Sync` call, opened synchronously.
   * @throws UnsupportedOperationError when the backend has no synchronous API
   */
  syncStore(operation: CacheOperation): Store {
    const { handle, config } = this.ctx;
    let store = handle.current;
    try {
      store ??= handle.openSync();
    } catch (error) {
      if (!(error instanceof UnsupportedOperationError)) throw error;
    }
    if (!store?.capabilities.sync) {
      throw new UnsupportedOperationError(
        `${operation}Sync: the ${config.backendName} backend of cache "${config.alias}" has no synchronous API; use ${operation}()`,
      );
    }
    return store;
  }

  /** Reports a failure that did not fail the call, naming the key when there is one. */
  reportFailure(
    error: unknown,
    operation: CacheOperation,
    target: FailureTarget | undefined,
  ): void {
    let madeKey = '';
    if (target) {
      try {
        madeKey = this.make(target.key, target.version);
      } catch {
        // The key was valid enough to reach the store; if making it again fails, report without.
      }
    }
    this.ctx.observer.error(error, operation, target?.key ?? '', madeKey);
  }

  /** `failOpen` for one operation: its fallback after a report, or the error rethrown. */
  recover<R>(
    error: unknown,
    operation: CacheOperation,
    fallback: (() => R) | undefined,
    target: FailureTarget | undefined,
  ): R {
    return this.ctx.guard.recover(error, fallback, () =>
      this.reportFailure(error, operation, target),
    );
  }
}
