/**
 * The contract between the framework-neutral core and an adapter: what the adapter tells the core
 * about a request ({@link RequestView}), what the core answers ({@link Exchange}), and how the
 * adapter reports the response the handler produced ({@link ResponseObserver}).
 *
 * An adapter's whole job: build the view, call `RouteCache.begin`, then either send the `serve`
 * response, add the `pass` headers and run the handler, or run the handler and feed its response
 * to the `observe` observer, applying the {@link HeadEdits} it returns.
 */
import type { HeaderMap } from './header-values.js';

/** What the core needs to know about a request. */
export interface RequestView {
  /** Upper-case method. */
  readonly method: string;
  /** The request target as received: path and query (`/items?page=2`). */
  readonly url: string;
  /** The route pattern that matched (`/items/:id`), `''` when the framework has none. */
  readonly route: string;
  /** A request header by lower-case name; repeated headers joined with `, `. */
  header(name: string): string | undefined;
  /**
   * The request's header map, when the framework has one (Node's `IncomingMessage.headers`):
   * lower-case names. Lets the cache see in one pass which headers that matter are present.
   */
  readonly headers?: RequestHeaders;
}

/** A Node-style request header map: lower-case names, a repeated header as an array. */
export type RequestHeaders = Readonly<Record<string, string | readonly string[] | undefined>>;

/** The view of a request whose headers are a Node-style map (node:http, Express, Fastify). */
export class HeaderMapView implements RequestView {
  constructor(
    readonly method: string,
    readonly url: string,
    readonly route: string,
    readonly headers: RequestHeaders,
  ) {}

  header(name: string): string | undefined {
    const value = this.headers[name];
    return Array.isArray(value)
      ? (value as readonly string[]).join(', ')
      : (value as string | undefined);
  }
}

/** Header name (lower-case) and value. */
export type HeaderPair = readonly [name: string, value: string];

/**
 * A header to send: its name (lower-case) once, with its value or, for a header sent on several
 * field lines, its values in order.
 */
export type HeaderField = readonly [name: string, value: string | readonly string[]];

/** Changes to the handler's response before it goes out. */
export interface HeadEdits {
  readonly status: number;
  /** Removed first. */
  readonly remove: readonly string[];
  /** Then set (replacing any value). */
  readonly set: readonly HeaderPair[];
  /** `undefined`: the handler's body unchanged; `null`: no body (a 304); a Buffer: this body. */
  readonly body?: Buffer | null;
}

/** Receives the bytes of a streamed body. */
export interface BodySink {
  write(chunk: Buffer): void;
  end(): void;
  /** The stream failed or the client went away: nothing is stored. */
  abort(): void;
}

/** What an adapter knows about the handler's response besides status, headers and body. */
export interface ResponseFacts {
  /** The `ETag` was made by the framework (Express's default), not by the app. */
  readonly automaticEtag?: boolean;
}

/**
 * Watches the handler's response. The adapter calls exactly one of `complete` (the whole body is
 * known before anything is sent), `stream` (headers go out before the body is complete), or
 * `abandon` (no response will come: an error before sending, the client went away).
 */
export interface ResponseObserver {
  complete(
    status: number,
    headers: HeaderMap,
    body: Buffer,
    facts?: ResponseFacts,
  ): HeadEdits | Promise<HeadEdits>;
  stream(status: number, headers: HeaderMap): { edits: HeadEdits; sink: BodySink };
  abandon(): void;
}

/** The core's answer to a request. */
export type Exchange =
  /**
   * Answer with this response; do not run the handler. Each header name appears once. `body`
   * `null`: none (304). A HEAD request gets the body too: the server sends its length and drops it.
   */
  | {
      readonly kind: 'serve';
      readonly status: number;
      readonly headers: readonly HeaderField[];
      readonly body: Buffer | null;
    }
  /** Add these headers and run the handler; nothing to watch. */
  | { readonly kind: 'pass'; readonly headers: readonly HeaderPair[] }
  /** Run the handler and report its response to the observer. */
  | { readonly kind: 'observe'; readonly observer: ResponseObserver };

/** A sink that ignores everything. */
export const NULL_SINK: BodySink = { write() {}, end() {}, abort() {} };
