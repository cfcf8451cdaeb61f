/**
 * Options of the dashboard and the framework-neutral request/response shapes its adapters
 * (node:http, Fastify, Express, Hono) translate to and from.
 */
import type { CacheSelection } from '../cache-selection.js';

/** Options of `dashboard()`. */
export interface DashboardOptions {
  /**
   * The caches to show: `Cache` objects, aliases, or a record of alias → cache. Default: every
   * alias of the registry (`initCaches`), looked up at each request.
   */
  caches?: CacheSelection;
  /**
   * When set, the page and every API request need it: `Authorization: Bearer <token>`, or the
   * page's login form, which sets an HttpOnly SameSite=Strict cookie. Without it, anyone who can
   * reach the dashboard may look and change.
   */
  token?: string;
  /** Refuse every change (delete key, pattern, tag) with 403. Default `false`. */
  readOnly?: boolean;
  /**
   * The origin changes must come from (`Origin` header), e.g. `'https://admin.example.com'` behind
   * a proxy. Default: the request's own (`http(s)://` + its `Host` header).
   */
  origin?: string;
  /** node:http handler only: the path it is mounted under (`'/cache'`). Default `''`. */
  basePath?: string;
}

/** A request, as the dashboard sees it. */
export interface DashboardRequest {
  method: string;
  /** Path below the mount point, starting with `/`, without the query. */
  path: string;
  query: URLSearchParams;
  /** Lower-case header names. */
  headers: Record<string, string | undefined>;
  /** The mount point as the browser sees it (`''` or `'/cache'`), for links and the cookie path. */
  basePath: string;
  /** `http` or `https`: with `Host`, the dashboard's own origin. */
  protocol: string;
  body(): Promise<Buffer>;
}

/** A response, as the dashboard makes it. */
export interface DashboardResponse {
  status: number;
  headers: Record<string, string>;
  body: string | Buffer;
}

/** One cache to show and its alias. */
export { selectCaches as listCaches, type NamedCache } from '../cache-selection.js';

/** Reads a whole node stream (an `IncomingMessage`) into one Buffer, up to `limit` bytes. */
export async function readBody(stream: AsyncIterable<unknown>, limit = 64 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
    size += buffer.length;
    if (size > limit) throw new Error('request body too large');
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}
