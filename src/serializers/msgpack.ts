import { Packr } from 'msgpackr';
import type { Serializer } from './serializer.js';

// `moreTypes` adds Map, Set, Error and typed arrays; records (msgpackr's default) keep Map distinct
// from plain objects and embed their structure in each message, so any process can decode it.
const packr = new Packr({ moreTypes: true });

/** MessagePack via msgpackr: compact, fast, with Date, Map, Set and BigInt support. */
export const msgpackSerializer: Serializer = {
  name: 'msgpack',
  serialize(value) {
    // msgpackr writes these as nil; refuse them as JSON and v8 do.
    if (typeof value === 'function' || typeof value === 'symbol') {
      throw new TypeError(`msgpack cannot represent a ${typeof value}`);
    }
    return packr.pack(value);
  },
  deserialize(payload) {
    if (typeof payload === 'string') throw new TypeError('msgpack payload must be binary');
    return packr.unpack(payload);
  },
};
