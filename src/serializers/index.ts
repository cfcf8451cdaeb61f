/**
 * Serializer selection: a built-in name or a user object with `name`, `serialize`, `deserialize`.
 */
import { ConfigError } from '../core/errors.js';
import { jsonSerializer } from './json.js';
import { msgpackSerializer } from './msgpack.js';
import type { Serializer } from './serializer.js';
import { v8Serializer } from './v8.js';

export type { Serializer } from './serializer.js';

const builtins: Record<string, Serializer> = {
  json: jsonSerializer,
  v8: v8Serializer,
  msgpack: msgpackSerializer,
};

/**
 * @param where `cache "alias": field "serializer"`, for the error message
 * @throws ConfigError for an unknown name or an object without the three members
 */
export function resolveSerializer(value: unknown, where: string): Serializer {
  if (value === undefined) return jsonSerializer;
  if (typeof value === 'string') {
    const found = builtins[value];
    if (!found) {
      throw new ConfigError(
        `${where}: unknown serializer ${JSON.stringify(value)}; use 'json', 'v8', 'msgpack' or an object`,
      );
    }
    return found;
  }
  const candidate = value as Partial<Serializer> | null;
  if (
    candidate !== null &&
    typeof candidate === 'object' &&
    typeof candidate.name === 'string' &&
    typeof candidate.serialize === 'function' &&
    typeof candidate.deserialize === 'function'
  ) {
    return candidate as Serializer;
  }
  throw new ConfigError(
    `${where}: expected 'json', 'v8', 'msgpack' or { name, serialize, deserialize }`,
  );
}
