import { deserialize, serialize } from 'node:v8';
import type { Serializer } from './serializer.js';

/**
 * Node's structured clone format: Date, Map, Set, BigInt, RegExp, typed arrays and cycles survive.
 * Readable only by Node.js, and only by versions whose format is compatible.
 */
export const v8Serializer: Serializer = {
  name: 'v8',
  serialize: (value) => serialize(value),
  deserialize(payload) {
    if (typeof payload === 'string') throw new TypeError('v8 payload must be binary');
    return deserialize(payload);
  },
};
