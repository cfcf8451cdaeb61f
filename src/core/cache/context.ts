/**
 * What every view of one cache object shares: its configuration, store, key maker, guard, entry
 * format, counters and events. Namespace views are {@link CacheView}s over one context.
 */
import { composeStore } from '../../tiers/compose.js';
import { guardSecondTier } from '../../tiers/guard-l2.js';
import type { ResolvedConfig } from '../../config/types.js';
import { createCodec } from '../../serializers/codec.js';
import { resolveTimeout, type ResolvedTimeout, type Timeout } from '../duration.js';
import { EntryFormat } from '../entry/format.js';
import { toBackendError } from '../errors.js';
import { CacheObserver } from '../events.js';
import type { CacheOperation } from '../guard/operations.js';
import { StoreGuard } from '../guard/store-guard.js';
import { KeyMaker } from '../keys.js';
import type { StoreState, StoreStates } from '../load/in-flight.js';
import type { Store } from '../store.js';
import { operationChannel } from '../tracing.js';
import { StoreHandle } from './store-handle.js';

/** The tracing channel's start events: one cheap check tells whether anyone traces. */
const operationStarts = operationChannel.start;

export class CacheContext {
  readonly keys: KeyMaker;
  readonly handle: StoreHandle;
  readonly observer: CacheObserver;
  readonly guard: StoreGuard;
  /**
   * How entries are encoded. It follows the open store's `capabilities.references` (memory with
   * `serialize: false` keeps values as they are). Until a store is open it goes by the config
   * (`options.serialize: false` asks for references); a program started before the open restarts
   * if the store says otherwise.
   */
  entries: EntryFormat;
  readonly #states: StoreStates;

  constructor(
    readonly config: ResolvedConfig,
    readonly now: () => number,
    states: StoreStates,
  ) {
    this.#states = states;
    this.keys = new KeyMaker(config);
    this.guard = new StoreGuard({
      alias: config.alias,
      backendName: config.backendName,
      operationTimeoutMs: config.operationTimeoutMs,
      circuitBreaker: config.circuitBreaker,
      failOpen: config.failOpen,
      now,
    });
    this.observer = new CacheObserver({
      alias: config.alias,
      logger: config.logger,
      circuit: () => this.guard.circuit,
    });
    this.entries = this.#format(config.options.serialize === false);
    this.handle = new StoreHandle(config, now, (store) =>
      this.#adopt(composeStore(store, config, now, (l2) => guardSecondTier(l2, this.guard))),
    );
  }

  #format(references: boolean): EntryFormat {
    return new EntryFormat(
      createCodec(this.config.serializer, references),
      references,
      this.now,
      this.observer,
    );
  }

  #adopt(store: Store): Store {
    const references = store.capabilities.references === true;
    if (references !== this.entries.references) this.entries = this.#format(references);
    return store;
  }

  /** Whether `get` may call a sync store directly (nothing to guard, nothing to load first). */
  get direct(): boolean {
    return this.guard.passThrough && !this.keys.pending && !operationStarts.hasSubscribers;
  }

  /** Whether the `…Sync` methods work (memory, disk, dummy). */
  get supportsSync(): boolean {
    const { handle, config } = this;
    if (handle.current) return handle.current.capabilities.sync;
    if (config.sync) return true;
    if (typeof config.backend !== 'function') return false;
    // A custom factory tells only by making its store; a sync one can be made right away.
    try {
      return handle.openSync().capabilities.sync;
    } catch {
      return false;
    }
  }

  /** A call's timeout resolved against the cache's default. */
  expiry(timeout: Timeout | undefined): ResolvedTimeout {
    return resolveTimeout(timeout, this.config.defaultTimeoutMs);
  }

  /** The open store, or opens it (lazily, once) through the guard. */
  open(operation: CacheOperation): Promise<Store> {
    const current = this.handle.current;
    if (current) return Promise.resolve(current);
    return this.guard.open(() => this.handle.open(), operation);
  }

  /** Releases connections and files; a later operation opens them again. Idempotent. */
  async close(): Promise<void> {
    try {
      await this.handle.close();
    } catch (error) {
      throw toBackendError(error, `close of cache "${this.config.alias}"`);
    }
  }

  /** What caches on `store` share in this process; without a store, this cache's own. */
  stateOf(store: Store | undefined): StoreState {
    // The hot path asks for the open store's state on every getOrSet: remember the last answer.
    if (store === this.#lastStore && this.#lastState !== undefined) return this.#lastState;
    this.#lastStore = store;
    return (this.#lastState = this.#stateOf(store));
  }

  #lastStore: Store | undefined;
  #lastState: StoreState | undefined;

  #stateOf(store: Store | undefined): StoreState {
    const client = store?.client;
    const owner = typeof client === 'object' && client !== null ? client : store;
    return this.#states.of(owner ?? this);
  }
}
