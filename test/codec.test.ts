import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { CacheConfig } from '../src/config/types.js';
import type { Cache } from '../src/core/cache.js';
import { CacheError, SerializationError } from '../src/core/errors.js';
import type { CacheEvents } from '../src/core/events.js';
import type { Logger } from '../src/core/logger.js';
import { createCache } from '../src/core/registry.js';
import type { Payload } from '../src/core/store.js';
import { createCodec, parseIntegerPayload } from '../src/serializers/codec.js';
import { jsonSerializer } from '../src/serializers/json.js';
import { msgpackSerializer } from '../src/serializers/msgpack.js';
import type { Serializer } from '../src/serializers/serializer.js';
import { v8Serializer } from '../src/serializers/v8.js';
import { MapStore } from './fixtures/custom-backend.js';

const serializers = { json: jsonSerializer, v8: v8Serializer, msgpack: msgpackSerializer };
type SerializerName = keyof typeof serializers;
const names = Object.keys(serializers) as SerializerName[];

/** A cache over a Map store the test can look into: the payloads exactly as the store got them. */
function inspectableCache(config: Partial<CacheConfig> = {}): {
  cache: Cache;
  payload(key: string): Payload | undefined;
} {
  let store: MapStore | undefined;
  const cache = createCache({
    ...config,
    backend: (context) => (store = new MapStore(context.now)),
  });
  return {
    cache,
    payload: (key) => store?.client.get(cache.makeKey(key))?.value,
  };
}

/** A logger recording every call. */
function recordingLogger(): Logger & { calls: Array<[string, Record<string, unknown>, string?]> } {
  const calls: Array<[string, Record<string, unknown>, string?]> = [];
  return {
    calls,
    warn: (object, message) => void calls.push(['warn', object, message]),
    error: (object, message) => void calls.push(['error', object, message]),
    debug: (object, message) => void calls.push(['debug', object, message]),
  };
}

describe('safe integers are stored as decimal text under every serializer', () => {
  it.each(names)('%s: the payload of an integer is its decimal text', async (name) => {
    const { cache, payload } = inspectableCache({ serializer: name });
    const samples = [0, 42, -7, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER];
    for (const [index, value] of samples.entries()) {
      await cache.set(`n${index}`, value);
      expect(payload(`n${index}`)).toBe(String(value));
      expect(await cache.get(`n${index}`)).toBe(value);
    }
  });

  it.each(names)('%s: setMany, add and getOrSet store integers as text too', async (name) => {
    const { cache, payload } = inspectableCache({ serializer: name });
    await cache.setMany({ a: 1, b: -2 });
    await cache.add('c', 3);
    await cache.getOrSet('d', () => 4);
    expect([payload('a'), payload('b'), payload('c'), payload('d')]).toEqual(['1', '-2', '3', '4']);
  });

  it.each(names)('%s: -0 is an integer and comes back as 0', async (name) => {
    const { cache, payload } = inspectableCache({ serializer: name });
    await cache.set('z', -0);
    expect(payload('z')).toBe('0');
    expect(await cache.get('z')).toBe(0);
  });

  it.each(names)('%s: integers written as text are readable as Buffers too', (name) => {
    // A store may hand back a Buffer holding the UTF-8 bytes of a string it was given.
    const codec = createCodec(serializers[name]);
    expect(codec.decode(Buffer.from('123'))).toBe(123);
    expect(codec.decode(Buffer.from('-9'))).toBe(-9);
  });

  it('floats and unsafe integers go through the serializer', async () => {
    const { cache, payload } = inspectableCache({ serializer: 'v8' });
    await cache.set('f', 1.5);
    await cache.set('big', 2 ** 53);
    expect(Buffer.isBuffer(payload('f'))).toBe(true);
    expect(Buffer.isBuffer(payload('big'))).toBe(true);
    expect(await cache.get('f')).toBe(1.5);
    expect(await cache.get('big')).toBe(2 ** 53);
  });

  it('json strings that look like integers stay strings (they are quoted)', async () => {
    const { cache, payload } = inspectableCache();
    await cache.set('s', '42');
    expect(payload('s')).toBe('"42"');
    expect(await cache.get('s')).toBe('42');
  });

  it.each(['v8', 'msgpack'] as const)(
    '%s: a string that looks like an integer stays a string',
    async (name) => {
      const { cache, payload } = inspectableCache({ serializer: name });
      await cache.set('s', '42');
      expect(payload('s')).not.toBe('42');
      expect(await cache.get('s')).toBe('42');
    },
  );

  it('parseIntegerPayload accepts decimal text, Buffers of it and safe numbers only', () => {
    expect(parseIntegerPayload('12')).toBe(12);
    expect(parseIntegerPayload('-12')).toBe(-12);
    expect(parseIntegerPayload(Buffer.from('7'))).toBe(7);
    expect(parseIntegerPayload(5)).toBe(5);
    expect(parseIntegerPayload('1.5')).toBeUndefined();
    expect(parseIntegerPayload('"12"')).toBeUndefined();
    expect(parseIntegerPayload('12 ')).toBeUndefined();
    expect(parseIntegerPayload('')).toBeUndefined();
    expect(parseIntegerPayload('99999999999999999999')).toBeUndefined();
    expect(parseIntegerPayload(1.5)).toBeUndefined();
    expect(parseIntegerPayload(null)).toBeUndefined();
  });
});

describe('the Buffer envelope', () => {
  it.each(names)('%s: a Buffer is stored as a NUL byte and its bytes', async (name) => {
    const { cache, payload } = inspectableCache({ serializer: name });
    await cache.set('b', Buffer.from([1, 2, 3]));
    const stored = payload('b');
    expect(Buffer.isBuffer(stored)).toBe(true);
    expect([...(stored as Buffer)]).toEqual([0, 1, 2, 3]);
    const back = await cache.get('b');
    expect(Buffer.isBuffer(back)).toBe(true);
    expect([...(back as Buffer)]).toEqual([1, 2, 3]);
  });

  it.each(names)('%s: a Uint8Array comes back as a Buffer', async (name) => {
    const { cache } = inspectableCache({ serializer: name });
    await cache.set('u', new Uint8Array([9, 8]));
    const back = await cache.get('u');
    expect(Buffer.isBuffer(back)).toBe(true);
    expect([...(back as Buffer)]).toEqual([9, 8]);
  });

  it('a Uint8Array view stores only its own bytes', () => {
    const codec = createCodec(jsonSerializer);
    const view = new Uint8Array([5, 6, 7, 8]).subarray(1, 3);
    expect([...(codec.encode(view) as Buffer)]).toEqual([0, 6, 7]);
  });

  it('the empty Buffer round-trips', () => {
    const codec = createCodec(msgpackSerializer);
    const encoded = codec.encode(Buffer.alloc(0));
    expect([...(encoded as Buffer)]).toEqual([0]);
    const decoded = codec.decode(encoded);
    expect(Buffer.isBuffer(decoded)).toBe(true);
    expect((decoded as Buffer).length).toBe(0);
  });

  it('the decoded Buffer is a copy: mutating it leaves the payload alone', () => {
    const codec = createCodec(jsonSerializer);
    const payload = codec.encode(Buffer.from([1, 2])) as Buffer;
    const decoded = codec.decode(payload) as Buffer;
    decoded[0] = 99;
    expect([...payload]).toEqual([0, 1, 2]);
  });

  it('a Buffer whose bytes are digits is still a Buffer', async () => {
    const { cache } = inspectableCache({ serializer: 'v8' });
    await cache.set('d', Buffer.from('123'));
    const back = await cache.get('d');
    expect(Buffer.isBuffer(back)).toBe(true);
    expect((back as Buffer).toString()).toBe('123');
  });
});

describe('built-in serializers', () => {
  it('json payloads are readable JSON text', async () => {
    const { cache, payload } = inspectableCache();
    await cache.set('o', { a: [1, 'x', null], b: true });
    expect(typeof payload('o')).toBe('string');
    expect(JSON.parse(payload('o') as string)).toEqual({ a: [1, 'x', null], b: true });
  });

  it('json reads a Buffer of its own text', () => {
    expect(createCodec(jsonSerializer).decode(Buffer.from('{"a":1}'))).toEqual({ a: 1 });
  });

  it.each(['v8', 'msgpack'] as const)('%s payloads are binary', async (name) => {
    const { cache, payload } = inspectableCache({ serializer: name });
    await cache.set('o', { a: 1 });
    expect(Buffer.isBuffer(payload('o'))).toBe(true);
  });

  // msgpackr writes functions as nil instead of throwing; json and v8 refuse them.
  it.each(['json', 'v8'] as const)(
    '%s: a serializer failure is a SerializationError with the cause',
    (name) => {
      const codec = createCodec(serializers[name]);
      let thrown: unknown;
      try {
        codec.encode(() => 1);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(SerializationError);
      expect((thrown as Error).cause).toBeDefined();
    },
  );

  it('the references codec is the identity', () => {
    const codec = createCodec(jsonSerializer, true);
    const value = { a: 1 };
    expect(codec.encode(value)).toBe(value);
    expect(codec.decode(value as unknown as Payload)).toBe(value);
  });
});

describe('custom serializer objects', () => {
  function prefixed(): Serializer & { serialized: unknown[]; deserialized: unknown[] } {
    const serialized: unknown[] = [];
    const deserialized: unknown[] = [];
    return {
      name: 'prefixed',
      serialized,
      deserialized,
      serialize(value) {
        serialized.push(value);
        return `P:${JSON.stringify(value)}`;
      },
      deserialize(payload) {
        const text = payload.toString();
        deserialized.push(text);
        if (!text.startsWith('P:')) throw new Error('not mine');
        return JSON.parse(text.slice(2));
      },
    };
  }

  it('work end to end through createCache', async () => {
    const serializer = prefixed();
    let store: MapStore | undefined;
    const cache = createCache({
      backend: (context) => (store = new MapStore(context.now)),
      serializer,
    });
    await cache.set('o', { x: [1, 2] });
    expect(store!.client.get(cache.makeKey('o'))?.value).toBe('P:{"x":[1,2]}');
    expect(await cache.get('o')).toEqual({ x: [1, 2] });
    expect(await cache.getMany(['o'])).toEqual(new Map([['o', { x: [1, 2] }]]));
    expect(await cache.getOrSet('o', () => 'unused')).toEqual({ x: [1, 2] });
    expect(serializer.serialized).toEqual([{ x: [1, 2] }]);
    expect(serializer.deserialized).toHaveLength(3);
  });

  it('work on the memory backend by name of the object', async () => {
    const serializer = prefixed();
    const cache = createCache({
      backend: 'memory',
      location: `codec-${randomUUID()}`,
      serializer,
    });
    await cache.set('s', 'hello');
    expect(await cache.get('s')).toBe('hello');
    expect(serializer.serialized).toEqual(['hello']);
  });

  it('never see safe integers or Buffers', async () => {
    const serializer = prefixed();
    const { cache, payload } = inspectableCache({ serializer });
    await cache.set('n', 5);
    await cache.set('b', Buffer.from('x'));
    expect(serializer.serialized).toEqual([]);
    expect(payload('n')).toBe('5');
    expect(await cache.incr('n')).toBe(6);
    expect(await cache.get('n')).toBe(6);
    expect(serializer.deserialized).toEqual([]);
  });

  it('a Uint8Array result is stored as a Buffer', async () => {
    const serializer: Serializer = {
      name: 'bytes',
      serialize: (value) => new TextEncoder().encode(`B${JSON.stringify(value)}`) as Buffer,
      deserialize: (payload) => JSON.parse(payload.toString().slice(1)),
    };
    const { cache, payload } = inspectableCache({ serializer });
    await cache.set('k', { ok: true });
    expect(Buffer.isBuffer(payload('k'))).toBe(true);
    expect(await cache.get('k')).toEqual({ ok: true });
  });

  it('a result that is neither string nor Buffer is a SerializationError and nothing is stored', async () => {
    const serializer = {
      name: 'bad',
      serialize: () => 42 as unknown as string,
      deserialize: () => null,
    };
    const { cache, payload } = inspectableCache({ serializer });
    await expect(cache.set('k', { a: 1 })).rejects.toBeInstanceOf(SerializationError);
    expect(payload('k')).toBeUndefined();
  });

  it('a throwing serialize is a SerializationError naming the serializer, with the cause', async () => {
    const cause = new Error('nope');
    const serializer = {
      name: 'grumpy',
      serialize: (): string => {
        throw cause;
      },
      deserialize: () => null,
    };
    const { cache } = inspectableCache({ serializer });
    const error = await cache.set('k', { a: 1 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SerializationError);
    expect((error as Error).message).toContain('grumpy');
    expect((error as Error).cause).toBe(cause);
  });
});

describe('undecodable payloads', () => {
  /** Two caches on one memory location and prefix: one writes with `writer`, one reads with `reader`. */
  function mismatched(writer: SerializerName, reader: SerializerName) {
    const location = `codec-mismatch-${randomUUID()}`;
    const logger = recordingLogger();
    const write = createCache({ backend: 'memory', location, serializer: writer }, 'writer');
    const read = createCache({ backend: 'memory', location, serializer: reader, logger }, 'reader');
    const errors: Array<CacheEvents['error']> = [];
    read.on('error', (event) => errors.push(event));
    return { write, read, logger, errors };
  }

  it('get returns a miss (the default), emits error, counts it and warns the logger', async () => {
    const { write, read, logger, errors } = mismatched('v8', 'json');
    await write.set('k', { a: 1 });
    expect(await read.get('k')).toBeUndefined();
    expect(await read.get('k', { default: 'dflt' })).toBe('dflt');

    expect(errors).toHaveLength(2);
    expect(errors[0]).toMatchObject({ key: 'k', madeKey: read.makeKey('k'), operation: 'get' });
    expect(errors[0]!.error).toBeInstanceOf(Error);
    expect(read.stats()).toMatchObject({ errors: 2, misses: 2, hits: 0 });

    // One warning per operation per second: the second failure is folded into a later line.
    const warnings = logger.calls.filter(([level]) => level === 'warn');
    expect(warnings.length).toBeGreaterThanOrEqual(1);
    expect(warnings.length).toBeLessThanOrEqual(2);
    expect(warnings[0]![1]).toMatchObject({ alias: 'reader', key: 'k' });
    expect(warnings[0]![1].err).toBeInstanceOf(Error);
  });

  it.each<[SerializerName, SerializerName]>([
    ['json', 'v8'],
    ['json', 'msgpack'],
    ['v8', 'msgpack'],
    ['msgpack', 'v8'],
    ['msgpack', 'json'],
  ])('written by %s, read by %s: a miss, never a thrown error', async (writer, reader) => {
    const { write, read, errors } = mismatched(writer, reader);
    await write.set('k', { nested: ['x'] });
    const value = await read.get('k').catch((e: unknown) => e);
    // Some pairs may happen to decode into *something*; what must never happen is a throw.
    expect(value).not.toBeInstanceOf(Error);
    if (value === undefined) expect(errors.length).toBeGreaterThan(0);
  });

  it('getMany leaves the entry out and reports it; the other keys are found', async () => {
    const { write, read, errors } = mismatched('v8', 'json');
    await write.set('bad', { a: 1 });
    await read.set('good', { b: 2 });
    const found = await read.getMany(['bad', 'good']);
    expect(found).toEqual(new Map([['good', { b: 2 }]]));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ key: 'bad', operation: 'getMany' });
    expect(read.stats()).toMatchObject({ hits: 1, misses: 1, errors: 1 });
  });

  it('getOrSet treats it as a miss and returns the loader’s value', async () => {
    const { write, read, errors } = mismatched('v8', 'json');
    await write.set('k', { a: 1 });
    let calls = 0;
    const value = await read.getOrSet('k', () => {
      calls++;
      return 'fresh';
    });
    expect(value).toBe('fresh');
    expect(calls).toBe(1);
    expect(errors.length).toBeGreaterThan(0);
    expect(errors[0]).toMatchObject({ key: 'k', operation: 'getOrSet' });
  });

  it('getSync is a miss too', async () => {
    const { write, read, errors } = mismatched('msgpack', 'json');
    await write.set('k', { a: 1 });
    expect(read.getSync('k', { default: 0 })).toBe(0);
    expect(errors).toHaveLength(1);
  });

  it('a corrupt payload written by a custom serializer is a miss with the cause kept', async () => {
    const serializer: Serializer = {
      name: 'strict',
      serialize: (value) => `S${JSON.stringify(value)}`,
      deserialize: (payload) => {
        const text = payload.toString();
        if (!text.startsWith('S')) throw new SyntaxError('corrupt');
        return JSON.parse(text.slice(1));
      },
    };
    let store: MapStore | undefined;
    const logger = recordingLogger();
    const cache = createCache({
      backend: (context) => (store = new MapStore(context.now)),
      serializer,
      logger,
    });
    await cache.set('k', { a: 1 });
    store!.client.get(cache.makeKey('k'))!.value = 'garbage';
    const errors: Array<CacheEvents['error']> = [];
    cache.on('error', (event) => errors.push(event));
    expect(await cache.get('k')).toBeUndefined();
    expect(errors).toHaveLength(1);
    expect(errors[0]!.error).toBeInstanceOf(CacheError);
    expect((errors[0]!.error as Error).cause).toBeInstanceOf(SyntaxError);
    expect(cache.stats().errors).toBe(1);
    expect(logger.calls.some(([level]) => level === 'warn')).toBe(true);
  });

  it('with nobody listening to error, get still resolves and counts the error', async () => {
    const location = `codec-nolisten-${randomUUID()}`;
    const logger = recordingLogger();
    const write = createCache({ backend: 'memory', location, serializer: 'v8' });
    const read = createCache({ backend: 'memory', location, logger });
    await write.set('k', [1]);
    await expect(read.get('k')).resolves.toBeUndefined();
    expect(read.stats().errors).toBe(1);
    expect(logger.calls).toHaveLength(1);
  });
});
