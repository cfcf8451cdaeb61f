import type { Serializer } from './serializer.js';

/**
 * JSON: readable in the store (`redis-cli get key | jq` works) and shareable with other languages.
 * `Date` becomes its ISO string; `undefined` inside objects is dropped, as with any JSON API.
 */
export const jsonSerializer: Serializer = {
  name: 'json',
  serialize(value) {
    const text = JSON.stringify(value);
    // JSON.stringify returns undefined for functions and symbols instead of throwing.
    if (text === undefined) throw new TypeError(`JSON cannot represent a ${typeof value}`);
    return text;
  },
  deserialize(payload) {
    return JSON.parse(typeof payload === 'string' ? payload : payload.toString('utf8'));
  },
};
