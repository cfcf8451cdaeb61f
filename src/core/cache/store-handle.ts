/**
 * Opening and closing a cache's store: lazily on the first operation, again after `close()`, and
 * once per concurrent burst of callers. It also loads module-specifier backends.
 */
import type { ResolvedConfig } from '../../config/types.js';
import { importExport, requireExport } from '../../config/module-loader.js';
import { ConfigError, UnsupportedOperationError, toBackendError } from '../errors.js';
import type { BackendContext, BackendFactory, Store } from '../store.js';
import { isPromise } from '../maybe-promise.js';

/** The store of one cache object. */
export class StoreHandle {
  /** The open store, if any. */
  current: Store | undefined;
  readonly #config: ResolvedConfig;
  readonly #context: BackendContext;
  #factory: BackendFactory | undefined;
  #opening: Promise<Store> | undefined;

  /**
   * @param opened called with every store this handle opens, before any operation uses it; it
   *   returns the store operations run on (the cache composes tags and tiers around the backend's
   *   store there, `src/tiers/compose.ts`, and adopts its capabilities)
   */
  constructor(
    config: ResolvedConfig,
    now: () => number,
    private readonly opened: (store: Store) => Store = (store) => store,
  ) {
    this.#config = config;
    this.#context = {
      alias: config.alias,
      location: config.location,
      options: config.options,
      now,
      logger: config.logger,
      operationTimeoutMs: config.operationTimeoutMs,
    };
    if (typeof config.backend === 'function') this.#factory = config.backend;
  }

  get #where(): string {
    return `cache "${this.#config.alias}": field "backend"`;
  }

  #setFactory(value: unknown): BackendFactory {
    if (typeof value !== 'function')
      throw new ConfigError(`${this.#where}: the export is not a backend factory function`);
    this.#factory = value as BackendFactory;
    return this.#factory;
  }

  #checkStore(store: Store): Store {
    if (
      store === null ||
      typeof store !== 'object' ||
      typeof store.get !== 'function' ||
      !store.capabilities
    ) {
      throw new ConfigError(
        `${this.#where}: the backend factory did not return a store (see docs/backends.md)`,
      );
    }
    return store;
  }

  /** The store, opening it if needed. */
  open(): Promise<Store> {
    if (this.current) return Promise.resolve(this.current);
    this.#opening ??= this.#openAsync().finally(() => {
      this.#opening = undefined;
    });
    return this.#opening;
  }

  async #openAsync(): Promise<Store> {
    const factory =
      this.#factory ??
      this.#setFactory(await importExport(this.#config.backend as string, this.#where));
    let store: Store;
    try {
      store = this.#checkStore(await factory(this.#context));
    } catch (error) {
      throw error instanceof ConfigError
        ? error
        : toBackendError(error, `opening the ${this.#config.backendName} store`);
    }
    store = this.opened(store);
    this.current = store;
    return store;
  }

  /**
   * The store, opened synchronously, for the `…Sync` API and `caches.connection()`.
   * @throws UnsupportedOperationError if the backend can only open asynchronously
   */
  openSync(): Store {
    if (this.current) return this.current;
    if (this.#opening) {
      throw new UnsupportedOperationError(
        `cache "${this.#config.alias}": the store is still opening; use the async API`,
      );
    }
    const factory =
      this.#factory ?? this.#setFactory(requireExport(this.#config.backend as string, this.#where));
    let made: ReturnType<BackendFactory>;
    try {
      made = factory(this.#context);
    } catch (error) {
      throw error instanceof ConfigError
        ? error
        : toBackendError(error, `opening the ${this.#config.backendName} store`);
    }
    if (isPromise(made)) {
      // Keep the result rather than opening twice.
      this.#opening ??= made.then((store) => (this.current = this.opened(this.#checkStore(store))));
      this.#opening.catch(() => {});
      throw new UnsupportedOperationError(
        `cache "${this.#config.alias}": the ${this.#config.backendName} backend opens asynchronously; use the async API`,
      );
    }
    this.current = this.opened(this.#checkStore(made));
    return this.current;
  }

  /** Closes the open store; a later operation opens a new one. Idempotent. */
  async close(): Promise<void> {
    const store =
      this.current ?? (this.#opening ? await this.#opening.catch(() => undefined) : undefined);
    this.current = undefined;
    if (store) await store.close();
  }
}
