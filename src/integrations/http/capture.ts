/**
 * Watching a handler's response: the leader of a miss stores what it produced (or tells the
 * requests waiting on it that there is nothing to share), and a write request invalidates its path.
 */
import { BODY_HEADERS, contentEtag, isNotModified } from './conditional.js';
import {
  decodeStoredResponse,
  encodeStoredResponse,
  type StoredMeta,
  type StoredResponse,
} from './envelope.js';
import {
  NULL_SINK,
  type BodySink,
  type HeadEdits,
  type HeaderPair,
  type RequestView,
  type ResponseFacts,
  type ResponseObserver,
} from './exchange.js';
import { headerValue, parseTokenList, type HeaderMap } from './header-values.js';
import type { InvalidationRegistry } from './invalidation.js';
import type { LoadOutcome } from '../../core/cache.js';
import type { Logger } from '../../core/logger.js';
import type { RouteRules } from './options.js';
import { normalizeVaryValue } from './request-key.js';
import {
  CACHE_STATUS,
  invalidatesPath,
  mergedVary,
  outcomeHeaders,
  storedHeaders,
  unstorableReason,
} from './response-rules.js';
import { servable, serveStored } from './serve.js';

/** Rejection a leader's `getOrSet` loader gets when the handler answered 5xx and `staleIfError` is on. */
export class HandlerFailedError extends Error {
  constructor(readonly status: number) {
    super(`the handler answered ${status}`);
    this.name = 'HandlerFailedError';
  }
}

/**
 * The leader's side of a collapsed miss: the promise its `getOrSetWithSource` loader returned. It
 * must be settled exactly once, or the requests waiting on it would wait for ever.
 */
export class Lead {
  readonly promise: Promise<Buffer | undefined>;
  #resolve!: (value: Buffer | undefined) => void;
  #reject!: (error: Error) => void;
  #settled = false;

  /** @param call the leader's own call (asked for lazily: it may still be in the making) */
  constructor(private readonly call: () => Promise<LoadOutcome<unknown>>) {
    this.promise = new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
  }

  /**
   * What the leader's call answers once the store has answered the write: `'loaded'` with the
   * stored value itself when it was stored, `'fallback'` when the backend failed; with
   * `staleIfError`, the stale copy after `fail`.
   */
  get outcome(): Promise<LoadOutcome<unknown>> {
    return this.call();
  }

  /** Hands `value` to the waiters and to `getOrSetWithSource`, which stores it. */
  store(value: Buffer): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#resolve(value);
  }

  /** Nothing to share: the waiters run their own handlers; nothing is stored. */
  skip(): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#resolve(undefined);
  }

  /** The handler failed: the call answers with a stale copy within `staleIfError`, else rejects. */
  fail(status: number): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#reject(new HandlerFailedError(status));
  }
}

/**
 * `Cache-Status` of the leader's response once its write was answered: `stored` only when the store
 * acknowledged this very entry; `detail=backend-error` when the backend failed (nothing stored); a
 * plain miss otherwise (another process stored first, or a stale-while-revalidate refresh, whose
 * write happens after the answer).
 */
async function writtenStatus(lead: Lead, stored: Buffer): Promise<string> {
  try {
    const { source, value } = await lead.outcome;
    if (source === 'loaded' && value === stored) return CACHE_STATUS.stored;
    return source === 'fallback' ? CACHE_STATUS.backendError : CACHE_STATUS.miss;
  } catch {
    return CACHE_STATUS.miss;
  }
}

/** The keyed values of the request headers named by a response's `Vary`. */
export function varyOf(
  view: RequestView,
  headers: HeaderMap,
): { names: string[]; values: string[] } {
  const names = parseTokenList(headerValue(headers, 'vary')).sort();
  return { names, values: names.map((name) => normalizeVaryValue(name, view.header(name))) };
}

/** Whether `entry` was made for a request with the same values of the headers its `Vary` names. */
export function varyMatches(
  entry: Pick<StoredMeta, 'varyNames' | 'varyValues'>,
  view: RequestView,
): boolean {
  return entry.varyNames.every(
    (name, index) => normalizeVaryValue(name, view.header(name)) === entry.varyValues[index],
  );
}

/**
 * Headers of a failed response removed when a stale copy replaces it: those describing the failed
 * body (the stale copy's own headers are then set over the rest).
 */
const REPLACED_BY_STALE = [
  'content-type',
  'content-encoding',
  'content-language',
  'content-location',
  'content-disposition',
  'content-range',
  'location',
  'vary',
  'etag',
  'last-modified',
  'cache-control',
  'expires',
  'link',
  'set-cookie',
  'content-length',
  'transfer-encoding',
];

/** Observes the response of the request that leads a miss, and stores it if the rules allow. */
export class LeadCapture implements ResponseObserver {
  /** @param stored told the stored value once the store acknowledged it */
  constructor(
    private readonly rules: RouteRules<unknown>,
    private readonly view: RequestView,
    private readonly lead: Lead,
    private readonly stored: (value: Buffer) => void = () => {},
  ) {}

  complete(
    status: number,
    headers: HeaderMap,
    body: Buffer,
    facts: ResponseFacts = {},
  ): HeadEdits | Promise<HeadEdits> {
    try {
      return this.#complete(status, headers, body, facts);
    } catch (error) {
      // Whatever went wrong, the requests waiting on this run must not wait for ever.
      this.lead.skip();
      throw error;
    }
  }

  #complete(
    status: number,
    headers: HeaderMap,
    body: Buffer,
    facts: ResponseFacts,
  ): HeadEdits | Promise<HeadEdits> {
    const { rules, view } = this;
    const reason = unstorableReason(rules, status, headers, body.length);
    if (reason !== undefined) {
      if (status >= 500 && rules.staleIfError) return this.#replaceWithStale(status, headers);
      this.lead.skip();
      return this.#edits(status, headers, CACHE_STATUS.miss);
    }
    const own = facts.automaticEtag ? undefined : headerValue(headers, 'etag');
    const etag = own ?? contentEtag(body);
    const stored = encodeStoredResponse(this.#entry(status, headers, body, etag));
    this.lead.store(stored);
    const extra: HeaderPair[] = [];
    if (own === undefined) extra.push(['etag', etag]);
    if (rules.cacheControl !== undefined && headers['cache-control'] === undefined) {
      extra.push(['cache-control', rules.cacheControl]);
    }
    const successful = status >= 200 && status < 300;
    // The answer waits for the store's: `Cache-Status` says `stored` only if the write succeeded.
    return writtenStatus(this.lead, stored).then((cacheStatus): HeadEdits => {
      if (cacheStatus === CACHE_STATUS.stored) this.stored(stored);
      if (successful && isNotModified(view, etag, headerValue(headers, 'last-modified'))) {
        // The client's copy is this very response: answer 304 (the full response is stored).
        return {
          ...this.#edits(304, headers, cacheStatus, extra),
          remove: BODY_HEADERS,
          body: null,
        };
      }
      return this.#edits(status, headers, cacheStatus, extra);
    });
  }

  stream(status: number, headers: HeaderMap): { edits: HeadEdits; sink: BodySink } {
    const { rules } = this;
    const reason = unstorableReason(rules, status, headers, undefined);
    if (reason !== undefined) {
      this.lead.skip();
      return { edits: this.#edits(status, headers, CACHE_STATUS.miss), sink: NULL_SINK };
    }
    const extra: HeaderPair[] = [];
    if (rules.cacheControl !== undefined && headers['cache-control'] === undefined) {
      extra.push(['cache-control', rules.cacheControl]);
    }
    // Whether it gets stored is known only at the end, so the MISS does not say `stored`.
    const edits = this.#edits(status, headers, CACHE_STATUS.miss, extra);
    const snapshot = { ...headers };
    let chunks: Buffer[] = [];
    let size = 0;
    let open = true;
    const sink: BodySink = {
      write: (chunk) => {
        if (!open) return;
        size += chunk.length;
        if (size > rules.maxBodyBytes) {
          // Past the limit: keep streaming to the client, stop buffering, share nothing.
          open = false;
          chunks = [];
          this.lead.skip();
          return;
        }
        chunks.push(chunk);
      },
      end: () => {
        if (!open) return;
        open = false;
        try {
          const body = Buffer.concat(chunks);
          const etag = headerValue(snapshot, 'etag') ?? contentEtag(body);
          this.lead.store(encodeStoredResponse(this.#entry(status, snapshot, body, etag)));
        } finally {
          this.lead.skip();
        }
      },
      abort: () => {
        open = false;
        this.lead.skip();
      },
    };
    return { edits, sink };
  }

  abandon(): void {
    this.lead.skip();
  }

  #entry(status: number, headers: HeaderMap, body: Buffer, etag: string): StoredResponse {
    const kept = storedHeaders(this.rules, headers);
    kept.push(['etag', etag]);
    const vary = mergedVary(this.rules, headers) ?? headerValue(headers, 'vary');
    if (vary !== undefined) kept.push(['vary', vary]);
    const { names, values } = varyOf(this.view, headers);
    const now = Date.now();
    return {
      status,
      headers: kept,
      body,
      etag,
      storedAt: now,
      expiresAt: this.rules.ttlMs === null ? null : now + this.rules.ttlMs,
      varyNames: names,
      varyValues: values,
    };
  }

  #edits(
    status: number,
    headers: HeaderMap,
    cacheStatus: string,
    extra: readonly HeaderPair[] = [],
  ): HeadEdits {
    const set = [...outcomeHeaders(this.rules, 'MISS', cacheStatus), ...extra];
    const vary = mergedVary(this.rules, headers);
    if (vary !== undefined) set.push(['vary', vary]);
    return { status, remove: [], set };
  }

  /** `staleIfError`: the handler failed; answer with the stale copy `getOrSet` kept, if any. */
  async #replaceWithStale(status: number, headers: HeaderMap): Promise<HeadEdits> {
    this.lead.fail(status);
    let stale: StoredResponse | undefined;
    try {
      stale = decodeStoredResponse((await this.lead.outcome).value);
    } catch {
      stale = undefined;
    }
    if (!stale || !varyMatches(stale, this.view)) {
      return this.#edits(status, headers, CACHE_STATUS.miss);
    }
    const served = serveStored(this.rules, this.view, servable(stale, 0), stale.body, 'hit');
    const set: HeaderPair[] = [];
    for (const [name, value] of served.headers) {
      if (typeof value === 'string') set.push([name, value]);
      else for (const each of value) set.push([name, each]);
    }
    return { status: served.status, remove: REPLACED_BY_STALE, set, body: served.body };
  }
}

/** Observes a POST, PUT, PATCH or DELETE: a 2xx/3xx answer invalidates the request's path first. */
export class InvalidatingObserver implements ResponseObserver {
  constructor(
    private readonly registry: InvalidationRegistry,
    private readonly view: RequestView,
    private readonly edits: HeadEdits['set'],
    private readonly logger: Logger,
  ) {}

  complete(status: number): HeadEdits | Promise<HeadEdits> {
    const edits: HeadEdits = { status, remove: [], set: this.edits };
    if (!invalidatesPath(this.view.method, status)) return edits;
    // Before the response goes out, so a client that reads right after its write sees the change.
    return this.registry.invalidatePathQuietly(this.view.url, this.logger).then(() => edits);
  }

  stream(status: number): { edits: HeadEdits; sink: BodySink } {
    if (invalidatesPath(this.view.method, status)) {
      void this.registry.invalidatePathQuietly(this.view.url, this.logger);
    }
    return { edits: { status, remove: [], set: this.edits }, sink: NULL_SINK };
  }

  abandon(): void {}
}
