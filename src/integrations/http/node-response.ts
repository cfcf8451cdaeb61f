/**
 * node:http `ServerResponse` plumbing shared by the node:http and Express adapters: sending a
 * served response, and watching what a handler writes.
 *
 * Watching wraps `writeHead`, `write`, `end` and `flushHeaders` of one response object. An explicit
 * `writeHead` is held back until the first `write` or `end` (or the next turn of the event loop),
 * so that `res.writeHead(200, h); res.end(body)` still counts as a complete body: its ETag can be
 * computed and a matching `If-None-Match` answered with 304 before anything is sent.
 */
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type {
  Exchange,
  HeadEdits,
  HeaderPair,
  ResponseFacts,
  ResponseObserver,
} from './exchange.js';
import type { BodySink } from './exchange.js';

/** Sets the headers of a `pass` exchange. */
export function setHeaders(res: ServerResponse, headers: readonly HeaderPair[]): void {
  for (const [name, value] of headers) res.setHeader(name, value);
}

/** Sends a `serve` exchange. */
export function sendServed(
  res: ServerResponse,
  served: Extract<Exchange, { kind: 'serve' }>,
): void {
  res.statusCode = served.status;
  for (const [name, value] of served.headers) res.setHeader(name, value as string | string[]);
  if (served.body === null) res.end();
  else res.end(served.body);
}

function applyEdits(res: ServerResponse, edits: HeadEdits): void {
  res.statusCode = edits.status;
  for (const name of edits.remove) res.removeHeader(name);
  for (const [name, value] of edits.set) res.setHeader(name, value);
}

function toBuffer(chunk: unknown, encoding: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (typeof chunk === 'string') {
    return Buffer.from(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
  }
  if (chunk instanceof Uint8Array)
    return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  return Buffer.alloc(0);
}

function applyHeadArguments(res: ServerResponse, args: unknown[]): void {
  let headers: unknown = args[0];
  if (typeof args[0] === 'string') {
    res.statusMessage = args[0];
    headers = args[1];
  }
  if (Array.isArray(headers)) {
    // Raw form: [name, value, name, value, …] or [[name, value], …].
    const pairs: Array<[string, unknown]> = Array.isArray(headers[0])
      ? (headers as Array<[string, unknown]>)
      : Array.from({ length: headers.length / 2 }, (_, i) => [
          String(headers[2 * i]),
          headers[2 * i + 1],
        ]);
    for (const [name, value] of pairs) {
      const existing = res.getHeader(name);
      if (name.toLowerCase() === 'set-cookie' && existing !== undefined) {
        res.setHeader(name, [...[existing].flat().map(String), String(value)]);
      } else {
        res.setHeader(name, value as string);
      }
    }
  } else if (headers !== null && typeof headers === 'object') {
    for (const [name, value] of Object.entries(headers as OutgoingHttpHeaders)) {
      if (value !== undefined) res.setHeader(name, value);
    }
  }
}

type Callback = (error?: Error | null) => void;

/**
 * Reports what the handler writes on `res` to `observer`, and applies the observer's edits before
 * the head goes out. `facts` is asked when the response is complete (Express: was the ETag made by
 * Express itself?).
 */
export function watchResponse(
  res: ServerResponse,
  observer: ResponseObserver,
  facts: () => ResponseFacts = () => ({}),
): void {
  const original = {
    writeHead: res.writeHead,
    write: res.write,
    end: res.end,
    flushHeaders: res.flushHeaders,
  };
  /** open: nothing decided; held: writeHead called, head held back; streaming; done. */
  let state: 'open' | 'held' | 'streaming' | 'done' = 'open';
  let sink: BodySink | undefined;

  const startStream = () => {
    state = 'streaming';
    const started = observer.stream(res.statusCode, res.getHeaders());
    applyEdits(res, started.edits);
    sink = started.sink;
    original.writeHead.call(res, res.statusCode);
  };

  res.on('close', () => {
    if (state === 'streaming' && !res.writableFinished) sink?.abort();
    else if (state === 'open' || state === 'held') {
      state = 'done';
      observer.abandon();
    }
  });

  res.writeHead = function writeHead(this: ServerResponse, ...args: unknown[]) {
    if (state !== 'open') {
      return (original.writeHead as (...a: unknown[]) => ServerResponse).apply(this, args);
    }
    res.statusCode = args[0] as number;
    applyHeadArguments(res, args.slice(1));
    state = 'held';
    // A handler that sends headers and then waits (long polling) must not be held up.
    setImmediate(() => {
      if (state === 'held') startStream();
    });
    return this;
  } as ServerResponse['writeHead'];

  res.flushHeaders = function flushHeaders(this: ServerResponse) {
    if (state === 'open' || state === 'held') startStream();
    original.flushHeaders.call(this);
  };

  res.write = function write(
    this: ServerResponse,
    chunk: unknown,
    encoding?: unknown,
    callback?: unknown,
  ) {
    if (state === 'open' || state === 'held') startStream();
    if (state === 'streaming' && chunk !== undefined && chunk !== null)
      sink?.write(toBuffer(chunk, encoding));
    return (original.write as (...a: unknown[]) => boolean).call(this, chunk, encoding, callback);
  } as ServerResponse['write'];

  res.end = function end(this: ServerResponse, ...args: unknown[]) {
    let chunk: unknown;
    let encoding: unknown;
    let callback: Callback | undefined;
    for (const arg of args) {
      if (typeof arg === 'function') callback = arg as Callback;
      else if (chunk === undefined) chunk = arg;
      else encoding = arg;
    }
    if (state === 'streaming') {
      state = 'done';
      if (chunk !== undefined && chunk !== null) sink?.write(toBuffer(chunk, encoding));
      sink?.end();
      return (original.end as (...a: unknown[]) => ServerResponse).apply(this, args);
    }
    if (state === 'done')
      return (original.end as (...a: unknown[]) => ServerResponse).apply(this, args);
    state = 'done';
    const body =
      chunk === undefined || chunk === null ? Buffer.alloc(0) : toBuffer(chunk, encoding);
    const finish = (edits: HeadEdits) => {
      applyEdits(res, edits);
      const out = edits.body === undefined ? body : edits.body;
      const endOriginal = original.end as (...a: unknown[]) => ServerResponse;
      if (out === null || out.length === 0) endOriginal.call(res, callback);
      else endOriginal.call(res, out, callback);
    };
    let decided: HeadEdits | Promise<HeadEdits>;
    try {
      decided = observer.complete(res.statusCode, res.getHeaders(), body, facts());
    } catch {
      decided = { status: res.statusCode, remove: [], set: [] };
    }
    if (decided instanceof Promise) {
      decided.then(finish, () => finish({ status: res.statusCode, remove: [], set: [] }));
    } else {
      finish(decided);
    }
    return this;
  } as ServerResponse['end'];
}
