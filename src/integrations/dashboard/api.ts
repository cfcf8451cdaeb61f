/**
 * The dashboard's JSON API, on the public Cache API only: the caches with their counters, the key
 * browser, one entry, and the three changes (delete a key, a pattern, a tag).
 */
import type { Cache } from '../../core/cache.js';
import { CacheError } from '../../core/errors.js';
import type { NamedCache } from './options.js';

/** An API answer: a status and a JSON document. */
export interface ApiResult {
  status: number;
  body: unknown;
}

/** Keys per page at most. */
const MAX_PAGE = 200;

const ok = (body: unknown): ApiResult => ({ status: 200, body });
const fail = (status: number, error: string): ApiResult => ({ status, body: { error } });

/** The JSON form of a value: bytes as hex, everything else as it is. */
function shown(value: unknown): { type: string; value: unknown } {
  if (Buffer.isBuffer(value) || value instanceof Uint8Array)
    return { type: 'buffer', value: Buffer.from(value).toString('hex') };
  if (value === null) return { type: 'null', value };
  return { type: Array.isArray(value) ? 'array' : typeof value, value };
}

/** Approximate stored size in bytes: the bytes of a binary value, else its JSON text. */
function sizeOf(value: unknown): number {
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) return value.byteLength;
  try {
    return Buffer.byteLength(JSON.stringify(value) ?? '');
  } catch {
    return 0;
  }
}

/** `GET api/caches`: every cache with its settings (password redacted) and counters. */
export function listCachesReport(named: NamedCache[]): ApiResult {
  return ok({
    caches: named.map(({ alias, cache }) => {
      const stats = cache.stats() as ReturnType<Cache['stats']> & { circuit?: string };
      return {
        alias,
        backend: cache.backend,
        location: cache.redactedLocation,
        keyPrefix: cache.keyPrefix,
        version: cache.version,
        circuit: stats.circuit ?? 'closed',
        tags: typeof (cache as { deleteByTag?: unknown }).deleteByTag === 'function',
        stats,
      };
    }),
  });
}

function integer(raw: string | null, fallback: number, max: number): number {
  const value = raw === null ? fallback : Number(raw);
  return Number.isSafeInteger(value) && value >= 0 ? Math.min(value, max) : fallback;
}

/** `GET api/keys?cache&pattern&offset&limit`: one page of matching keys with TTL and size. */
export async function listKeys(cache: Cache, query: URLSearchParams): Promise<ApiResult> {
  const pattern = query.get('pattern') || '*';
  const offset = integer(query.get('offset'), 0, Number.MAX_SAFE_INTEGER);
  const limit = integer(query.get('limit'), 50, MAX_PAGE) || 50;
  const page: string[] = [];
  let seen = 0;
  let hasMore = false;
  for await (const key of cache.keys(pattern)) {
    if (seen++ < offset) continue;
    if (page.length === limit) {
      hasMore = true;
      break;
    }
    page.push(key);
  }
  const values = await cache.getMany(page);
  const keys = await Promise.all(
    page.map(async (key) => ({
      key,
      ttl: values.has(key) ? ((await cache.ttl(key)) ?? null) : null,
      size: values.has(key) ? sizeOf(values.get(key)) : null,
    })),
  );
  return ok({ pattern, offset, limit, keys, hasMore });
}

/** `GET api/entry?cache&key`: one entry, value pretty-printable and bytes as hex. */
export async function readEntry(cache: Cache, key: string): Promise<ApiResult> {
  const found = await cache.getMany([key]);
  if (!found.has(key)) return { status: 404, body: { key, found: false } };
  const value = found.get(key);
  return ok({
    key,
    madeKey: cache.makeKey(key),
    found: true,
    ttl: (await cache.ttl(key)) ?? null,
    size: sizeOf(value),
    ...shown(value),
  });
}

/** The changes: `api/delete`, `api/delete-pattern` (`dryRun` counts), `api/delete-tag`. */
export async function change(
  cache: Cache,
  action: string,
  input: Record<string, unknown>,
): Promise<ApiResult> {
  if (action === 'delete') {
    if (typeof input.key !== 'string' || !input.key) return fail(400, 'key is required');
    return ok({ key: input.key, deleted: await cache.delete(input.key) });
  }
  if (action === 'delete-pattern') {
    const pattern = input.pattern;
    if (typeof pattern !== 'string' || !pattern) return fail(400, 'pattern is required');
    if (input.dryRun === true) {
      let matched = 0;
      for await (const _key of cache.keys(pattern)) matched++;
      return ok({ pattern, matched, dryRun: true });
    }
    return ok({ pattern, deleted: await cache.deletePattern(pattern) });
  }
  if (action === 'delete-tag') {
    const tags = Array.isArray(input.tags) ? input.tags : [input.tags];
    if (!tags.every((tag) => typeof tag === 'string' && tag))
      return fail(400, 'tags must be non-empty strings');
    const taggable = cache as Cache & { deleteByTag?: (tags: string[]) => Promise<void> };
    if (typeof taggable.deleteByTag !== 'function')
      return fail(501, 'this version of skycache has no tags');
    await taggable.deleteByTag(tags as string[]);
    return ok({ tags, invalidated: true });
  }
  return fail(404, `no such action: ${action}`);
}

/** A thrown error as an API answer: input errors are 400, the rest 502 (the store failed). */
export function failure(error: unknown): ApiResult {
  const message = error instanceof Error ? error.message : String(error);
  const code = error instanceof CacheError ? error.code : undefined;
  const input = code === 'ERR_CACHE_INVALID_KEY' || code === 'ERR_CACHE_INVALID_VALUE';
  return { status: input ? 400 : 502, body: { error: message, code } };
}
