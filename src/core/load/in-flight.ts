/**
 * The in-flight registry: `getOrSet` reads and loads under way, per store and made key, so that
 * concurrent callers share them (SPEC, getOrSet row).
 *
 * A {@link Flight} starts with one store read. Every caller arriving while it exists awaits that
 * same read, then decides for itself (hit, stale window, miss); on a miss the first caller starts
 * the flight's one load and everyone after joins it. The flight stays registered until its read is
 * decided by every caller holding it and its load has settled, so a caller whose decision comes
 * after a failed load joins that failure instead of starting a second load. Background refreshes
 * (stale-while-revalidate, the rest of a soft-timed-out loader) are registered beside flights.
 *
 * Caches on one store share these (two caches on one memory location share its loads): the
 * registry lives in the {@link StoreState} of the store's client, found through a
 * {@link StoreStates} directory that each cache receives when it is made.
 */

/** One made key's shared read and, on a miss, its shared load. */
export class Flight<Read, Loaded> {
  /** The one load started after the read missed, once started. */
  load: Promise<Loaded> | undefined;
  /** Callers that hold the flight and have not decided yet. */
  deciding = 0;
  /** The load's loader has returned; only the write of its value is still under way. */
  valueReady = false;
  #loading = false;

  constructor(readonly read: Promise<Read>) {}

  /** Nothing left to share: every caller decided and no load runs. */
  get idle(): boolean {
    return this.deciding === 0 && !this.#loading;
  }

  /** @internal */
  markLoading(loading: boolean): void {
    this.#loading = loading;
  }
}

/** Reads, loads and refreshes in flight on one store. */
export class InFlightLoads {
  // Values are Flight<unknown, unknown>: one registry serves every caller's value type.
  readonly #flights = new Map<string, Flight<unknown, unknown>>();
  readonly #refreshes = new Map<string, Promise<unknown>>();

  /** Whether a flight of `made` runs (a read or load in flight, or callers still deciding). */
  has(made: string): boolean {
    return this.#flights.has(made);
  }

  /**
   * Joins the flight of `made`, or starts one with `read()`. The caller must call
   * {@link InFlightLoads.decided} once it has decided what to do with the read.
   */
  enter<Read, Loaded>(made: string, read: () => Promise<Read>): Flight<Read, Loaded> {
    let flight = this.#flights.get(made) as Flight<Read, Loaded> | undefined;
    if (flight === undefined) {
      flight = new Flight<Read, Loaded>(read());
      this.#flights.set(made, flight as Flight<unknown, unknown>);
    }
    flight.deciding++;
    return flight;
  }

  /** Starts the flight's one load. Call before {@link InFlightLoads.decided}. */
  startLoad<Loaded>(made: string, flight: Flight<unknown, Loaded>, load: Promise<Loaded>): void {
    flight.load = load;
    flight.markLoading(true);
    const settled = () => {
      flight.markLoading(false);
      this.#release(made, flight);
    };
    load.then(settled, settled);
  }

  /** The caller holding `flight` has decided; the flight ends once nothing is left to share. */
  decided(made: string, flight: Flight<unknown, unknown>): void {
    flight.deciding--;
    this.#release(made, flight);
  }

  #release(made: string, flight: Flight<unknown, unknown>): void {
    if (flight.idle && this.#flights.get(made) === flight) this.#flights.delete(made);
  }

  /** The background refresh of `made`, if one runs. */
  refreshing(made: string): Promise<unknown> | undefined {
    return this.#refreshes.get(made);
  }

  /** Registers a background refresh of `made` until it settles; `failed` hears its error. */
  startRefresh(made: string, refresh: Promise<unknown>, failed: (error: unknown) => void): void {
    this.#refreshes.set(made, refresh);
    refresh.then(
      () => this.#refreshes.delete(made),
      (error: unknown) => {
        this.#refreshes.delete(made);
        failed(error);
      },
    );
  }
}

/** What every cache on one store shares in this process. */
export class StoreState {
  readonly loads = new InFlightLoads();
  /**
   * This process wrote stale-window entries to the store, so `keys()` on a process-private store
   * must check payloads (otherwise it can skip reading them).
   */
  staleWritten = false;
}

/** The {@link StoreState} of each store, keyed by the store's client (or the store itself). */
export class StoreStates {
  readonly #byOwner = new WeakMap<object, StoreState>();

  of(owner: object): StoreState {
    let state = this.#byOwner.get(owner);
    if (state === undefined) this.#byOwner.set(owner, (state = new StoreState()));
    return state;
  }
}

/**
 * The directory of this process: caches made by `createCache()` and the registry share it, so
 * caches on one store share loads. Pass another one to `new Cache()` to isolate a cache.
 */
export const processStoreStates = new StoreStates();
