import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { builtinBackends } from '../src/backends/index.js';
import { resolveConfig } from '../src/config/resolve.js';
import type { CacheConfigInput } from '../src/config/types.js';
import { Cache } from '../src/core/cache.js';
import { ConfigError } from '../src/core/errors.js';
import { silentLogger } from '../src/core/logger.js';
import { createCache } from '../src/core/registry.js';
import type { BackendContext, Store } from '../src/core/store.js';
import { jsonSerializer } from '../src/serializers/json.js';
import { msgpackSerializer } from '../src/serializers/msgpack.js';
import { v8Serializer } from '../src/serializers/v8.js';
import { MapStore, opensFor } from './fixtures/custom-backend.js';

const FIXTURE = './test/fixtures/custom-backend.ts';

/** Backends of the contract that this version does not ship yet (the list shrinks as they land). */
const unavailable = (name: string): boolean => !(name in builtinBackends);

/** The ConfigError thrown by `fn`, failing the test if it throws anything else or nothing. */
function configError(fn: () => unknown): ConfigError {
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  expect(thrown, 'expected a ConfigError').toBeInstanceOf(ConfigError);
  expect(thrown).toMatchObject({ code: 'ERR_CACHE_CONFIG' });
  return thrown as ConfigError;
}

/** Asserts `input` is rejected with a message naming the alias and the field. */
function expectRejected(input: unknown, field: string, alias = 'web'): ConfigError {
  const error = configError(() => resolveConfig(input as CacheConfigInput, alias));
  expect(error.message).toContain(alias);
  expect(error.message).toContain(field);
  return error;
}

function uniqueLocation(): string {
  return `config-test-${randomUUID()}`;
}

describe('resolveConfig: URLs', () => {
  it('memory://name with config fields and backend options in the query', () => {
    const config = resolveConfig(
      'memory://name?keyPrefix=app&timeout=5m&version=2&maxEntries=10',
      'web',
    );
    expect(config).toMatchObject({
      alias: 'web',
      backendName: 'memory',
      location: 'name',
      keyPrefix: 'app',
      defaultTimeoutMs: 300_000,
      version: 2,
      options: { maxEntries: 10 },
      sync: true,
    });
  });

  it('memory:// has an empty location and the defaults', () => {
    expect(resolveConfig('memory://', 'default')).toMatchObject({
      backendName: 'memory',
      location: '',
      keyPrefix: '',
      version: 1,
      defaultTimeoutMs: 300_000,
      maxKeyLength: 1024,
      hashKeys: false,
      options: {},
    });
    expect(resolveConfig('memory://', 'default').serializer).toBe(jsonSerializer);
  });

  it('timeout=none is null (never expires); a bare number is seconds', () => {
    expect(resolveConfig('memory://x?timeout=none', 'a').defaultTimeoutMs).toBeNull();
    expect(resolveConfig('memory://x?timeout=90', 'a').defaultTimeoutMs).toBe(90_000);
    expect(resolveConfig('memory://x?timeout=0', 'a').defaultTimeoutMs).toBe(0);
  });

  it('dummy:// is the dummy backend; dummy with a location is a ConfigError', () => {
    expect(resolveConfig('dummy://', 'a')).toMatchObject({ backendName: 'dummy', sync: true });
    const error = configError(() => resolveConfig('dummy://somewhere', 'a'));
    expect(error.message).toContain('"a"');
  });

  it('the scheme is case-insensitive', () => {
    expect(resolveConfig('MEMORY://x', 'a')).toMatchObject({ backendName: 'memory' });
  });

  it('percent-encoding is decoded in the location and the query', () => {
    const config = resolveConfig('memory://my%20cache%2Fone?keyPrefix=a%3Ab%20c', 'a');
    expect(config.location).toBe('my cache/one');
    expect(config.keyPrefix).toBe('a:b c');
  });

  it('malformed percent-encoding is a ConfigError naming the alias', () => {
    const error = configError(() => resolveConfig('memory://bad%E0%A4%A', 'shop'));
    expect(error.message).toContain('"shop"');
  });

  it('other fields and options are coerced from the query', () => {
    const config = resolveConfig(
      'memory://x?serializer=msgpack&maxKeyLength=200&hashKeys=true&maxSize=5000&serialize=true&cullFrequency=3',
      'a',
    );
    expect(config.serializer).toBe(msgpackSerializer);
    expect(config).toMatchObject({
      maxKeyLength: 200,
      hashKeys: true,
      options: { maxSize: 5000, serialize: true, cullFrequency: 3 },
    });
    expect(resolveConfig('memory://x?serializer=v8&hashKeys=0', 'a')).toMatchObject({
      serializer: v8Serializer,
      hashKeys: false,
    });
  });

  it('an unknown scheme is a ConfigError naming the alias', () => {
    const error = configError(() => resolveConfig('mongodb://host/db', 'store'));
    expect(error.message).toContain('"store"');
    expect(error.message).toContain('mongodb');
  });

  it('an unknown query parameter is a ConfigError naming the alias and the parameter', () => {
    const error = expectRejected('memory://x?bogus=1', 'bogus');
    expect(error.message).toContain('memory');
  });

  it.each([
    ['memory://x?version=1.5', 'version'],
    ['memory://x?version=two', 'version'],
    ['memory://x?timeout=5%20m', 'timeout'],
    ['memory://x?timeout=5M', 'timeout'],
    ['memory://x?maxEntries=-1', 'maxEntries'],
    ['memory://x?maxEntries=ten', 'maxEntries'],
    ['memory://x?maxEntries=', 'maxEntries'],
    ['memory://x?serialize=maybe', 'serialize'],
    ['memory://x?hashKeys=yes', 'hashKeys'],
    ['memory://x?serializer=yaml', 'serializer'],
    ['memory://x?maxKeyLength=0', 'maxKeyLength'],
  ])('%s is a ConfigError naming the field %s', (url, field) => {
    expectRejected(url, field);
  });

  it('maxSize with serialize=false in a URL is a ConfigError', () => {
    expectRejected('memory://x?serialize=false&maxSize=100', 'maxSize');
  });

  it('a string that is not a URL is a ConfigError', () => {
    const error = configError(() => resolveConfig('memory', 'web'));
    expect(error.message).toContain('"web"');
  });

  describe('backends not in this version, and secrets', () => {
    it.each(
      [
        ['redis://:secret@h:1/0', 'redis'],
        ['rediss://user:secret@h:6380/2', 'redis'],
        ['postgres://u:secret@h/db', 'postgres'],
        ['postgresql://u:secret@h:5432/db?sslmode=require', 'postgres'],
        ['disk:///var/cache/skycache-test', 'disk'],
      ].filter(([, backend]) => unavailable(backend!)),
    )('%s is a ConfigError saying %s is not available in this version', (url, backend) => {
      const error = configError(() => resolveConfig(url!, 'remote'));
      expect(error.message).toContain('"remote"');
      expect(error.message).toContain(backend);
      expect(error.message).toMatch(/not available in this version/);
      expect(error.message).not.toContain('secret');
    });

    it('an unknown scheme with a password does not show the password', () => {
      const error = configError(() => resolveConfig('mongodb://user:hunter2@h/db', 'a'));
      expect(error.message).not.toContain('hunter2');
    });

    it('a password containing @ does not leak any part of itself', () => {
      // WHATWG URL parsing takes the last @ as the end of the userinfo: the password is `top@secretpw`.
      const error = configError(() => resolveConfig('mongodb://:top@secretpw@h/db', 'a'));
      expect(error.message).not.toContain('secretpw');
    });

    it('a password query parameter does not show in the message', () => {
      const error = configError(() => resolveConfig('mongodb://h/db?password=hunter2', 'a'));
      expect(error.message).not.toContain('hunter2');
    });

    it('a mistyped URL (one slash) with a password does not show it', () => {
      const error = configError(() => resolveConfig('redis:/:hunter2@host/0', 'a'));
      expect(error.message).toContain('"a"');
      expect(error.message).not.toContain('hunter2');
    });
  });
});

describe('resolveConfig: objects', () => {
  it('every field is taken as given', () => {
    const keyFunction = (key: string, prefix: string, version: number) =>
      `${prefix}/${version}/${key}`;
    const config = resolveConfig(
      {
        backend: 'memory',
        location: 'objects',
        timeout: '1.5h',
        keyPrefix: 'p',
        version: 7,
        keyFunction,
        serializer: 'v8',
        maxKeyLength: 64,
        hashKeys: true,
        logger: silentLogger,
        options: { maxEntries: 5, maxSize: 1000 },
      },
      'objs',
    );
    expect(config).toMatchObject({
      alias: 'objs',
      backendName: 'memory',
      location: 'objects',
      defaultTimeoutMs: 5_400_000,
      keyPrefix: 'p',
      version: 7,
      keyFunction,
      maxKeyLength: 64,
      hashKeys: true,
      options: { maxEntries: 5, maxSize: 1000 },
    });
    expect(config.serializer).toBe(v8Serializer);
    expect(config.logger).toBe(silentLogger);
  });

  it('timeout null is never; timeout 0 is kept as 0 (keep nothing)', () => {
    expect(resolveConfig({ backend: 'memory', timeout: null }, 'a').defaultTimeoutMs).toBeNull();
    expect(resolveConfig({ backend: 'memory', timeout: 0 }, 'a').defaultTimeoutMs).toBe(0);
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['a bad timeout', { backend: 'memory', timeout: '5 minutes' }, 'timeout'],
    ['a timeout object', { backend: 'memory', timeout: { s: 1 } }, 'timeout'],
    ['version 1.5', { backend: 'memory', version: 1.5 }, 'version'],
    ['version NaN', { backend: 'memory', version: NaN }, 'version'],
    ['a negative maxEntries', { backend: 'memory', options: { maxEntries: -1 } }, 'maxEntries'],
    ['a fractional maxEntries', { backend: 'memory', options: { maxEntries: 2.5 } }, 'maxEntries'],
    ['a negative maxSize', { backend: 'memory', options: { maxSize: -10 } }, 'maxSize'],
    ['a string serialize option', { backend: 'memory', options: { serialize: 'no' } }, 'serialize'],
    [
      'an unknown option',
      { backend: 'memory', options: { evictionPolicy: 'lfu' } },
      'evictionPolicy',
    ],
    ['an option on dummy', { backend: 'dummy', options: { maxEntries: 5 } }, 'maxEntries'],
    ['options that are not an object', { backend: 'memory', options: 'x' }, 'options'],
    ['options as an array', { backend: 'memory', options: [] }, 'options'],
    ['an unknown top-level field', { backend: 'memory', ttl: 5 }, 'ttl'],
    ['a misspelt field', { backend: 'memory', keyprefix: 'x' }, 'keyprefix'],
    ['an unknown serializer name', { backend: 'memory', serializer: 'yaml' }, 'serializer'],
    [
      'a serializer object without deserialize',
      { backend: 'memory', serializer: { name: 'x', serialize: String } },
      'serializer',
    ],
    ['a serializer number', { backend: 'memory', serializer: 3 }, 'serializer'],
    ['a logger without debug', { backend: 'memory', logger: { warn() {}, error() {} } }, 'logger'],
    ['a logger string', { backend: 'memory', logger: 'console' }, 'logger'],
    ['a numeric keyFunction', { backend: 'memory', keyFunction: 5 }, 'keyFunction'],
    ['an empty keyFunction', { backend: 'memory', keyFunction: '' }, 'keyFunction'],
    ['a keyPrefix number', { backend: 'memory', keyPrefix: 5 }, 'keyPrefix'],
    ['a location number', { backend: 'memory', location: 5 }, 'location'],
    ['maxKeyLength 0', { backend: 'memory', maxKeyLength: 0 }, 'maxKeyLength'],
    ['hashKeys "yes"', { backend: 'memory', hashKeys: 'yes' }, 'hashKeys'],
    ['no backend', { location: 'x' }, 'backend'],
    ['an empty backend', { backend: '' }, 'backend'],
    ['a numeric backend', { backend: 42 }, 'backend'],
    ['a backend name with spaces', { backend: 'my backend' }, 'backend'],
    [
      'maxSize with serialize: false',
      { backend: 'memory', options: { serialize: false, maxSize: 100 } },
      'maxSize',
    ],
  ])('%s is a ConfigError naming the alias and the field', (_label, input, field) => {
    expectRejected(input, field);
  });

  it.each([null, 42, [], true])('%j as a whole config is a ConfigError', (input) => {
    const error = configError(() => resolveConfig(input as unknown as CacheConfigInput, 'odd'));
    expect(error.message).toContain('"odd"');
  });

  it('a custom serializer object is kept as is', () => {
    const serializer = { name: 'x', serialize: JSON.stringify, deserialize: JSON.parse };
    expect(resolveConfig({ backend: 'memory', serializer }, 'a').serializer).toBe(serializer);
  });

  it('createCache validates eagerly and returns a Cache', () => {
    expect(createCache({ backend: 'memory', location: uniqueLocation() })).toBeInstanceOf(Cache);
    expect(() => createCache({ backend: 'memory', version: 1.5 }, 'web')).toThrow(ConfigError);
  });
});

describe('resolveConfig: upper-case settings', () => {
  it('LocMemCache with every field', () => {
    const keyFunction = (key: string, prefix: string, version: number) =>
      `${prefix}!${version}!${key}`;
    const config = resolveConfig(
      {
        BACKEND: 'fastapp.cache.backends.LocMemCache',
        LOCATION: 'upper',
        TIMEOUT: null,
        KEY_PREFIX: 'site',
        VERSION: 3,
        KEY_FUNCTION: keyFunction,
        OPTIONS: { MAX_ENTRIES: 50, CULL_FREQUENCY: 3 },
      },
      'legacy',
    );
    expect(config).toMatchObject({
      alias: 'legacy',
      backendName: 'memory',
      location: 'upper',
      defaultTimeoutMs: null,
      keyPrefix: 'site',
      version: 3,
      keyFunction,
      options: { maxEntries: 50, cullFrequency: 3 },
    });
  });

  it('a LocMemCache store really is bounded by OPTIONS.MAX_ENTRIES', async () => {
    const cache = createCache({
      BACKEND: 'django.core.cache.backends.locmem.LocMemCache',
      LOCATION: uniqueLocation(),
      OPTIONS: { MAX_ENTRIES: 2 },
    });
    await cache.set('a', 1);
    await cache.set('b', 2);
    await cache.set('c', 3);
    expect((await cache.getMany(['a', 'b', 'c'])).size).toBe(2);
  });

  it('TIMEOUT as a number of seconds and DIRECTORY as the location', () => {
    expect(
      resolveConfig({ BACKEND: 'x.LocMemCache', TIMEOUT: 60, DIRECTORY: 'dir' }, 'a'),
    ).toMatchObject({ defaultTimeoutMs: 60_000, location: 'dir' });
  });

  it('DummyCache is the dummy backend', () => {
    expect(
      resolveConfig({ BACKEND: 'django.core.cache.backends.dummy.DummyCache' }, 'a'),
    ).toMatchObject({ backendName: 'dummy' });
  });

  it.each(
    [
      ['fastapp.cache.redis.RedisCache', 'redis'],
      ['fastapp.cache.DiskCacheBackend', 'disk'],
      ['fastapp.cache.PostgresBackend', 'postgres'],
    ].filter(([, backend]) => unavailable(backend!)),
  )('%s maps to %s (not available in this version: ConfigError)', (path, backend) => {
    const error = configError(() =>
      resolveConfig({ BACKEND: path!, LOCATION: 'redis://:secret@h:1/0' }, 'old'),
    );
    expect(error.message).toContain(backend);
    expect(error.message).not.toContain('secret');
  });

  it('an unknown upper-case field is a ConfigError naming the alias and the field', () => {
    const error = expectRejected({ BACKEND: 'x.LocMemCache', MAX_ENTRIES: 5 }, 'MAX_ENTRIES');
    expect(error.message).toContain('"web"');
  });

  it('a lower-case field mixed into upper-case settings is a ConfigError', () => {
    expectRejected({ BACKEND: 'x.LocMemCache', location: 'x' }, 'location');
  });

  it('an unknown OPTIONS entry is a ConfigError naming it', () => {
    expectRejected({ BACKEND: 'x.LocMemCache', OPTIONS: { EVICTION: 'lfu' } }, 'eviction');
  });

  it('OPTIONS that are not an object is a ConfigError', () => {
    expectRejected({ BACKEND: 'x.LocMemCache', OPTIONS: 5 }, 'OPTIONS');
  });

  it('a bad upper-case value is validated like the lower-case field', () => {
    expectRejected({ BACKEND: 'x.LocMemCache', TIMEOUT: '5 m' }, 'timeout');
    expectRejected({ BACKEND: 'x.LocMemCache', VERSION: 1.5 }, 'version');
    expectRejected({ BACKEND: 'x.LocMemCache', OPTIONS: { MAX_ENTRIES: -1 } }, 'maxEntries');
  });
});

describe('custom backends', () => {
  it('a BackendFactory function receives the context and its store is used', async () => {
    const contexts: BackendContext[] = [];
    let store: MapStore | undefined;
    const cache = createCache(
      {
        backend: (context) => {
          contexts.push(context);
          store = new MapStore(context.now);
          return store;
        },
        location: 'somewhere',
        options: { anything: 'goes', n: 1 },
        keyPrefix: 'cx',
      },
      'custom-alias',
    );
    expect(cache.backend).toBe('custom');
    expect(contexts).toHaveLength(0);
    await cache.set('k', { v: 1 });
    expect(contexts).toHaveLength(1);
    expect(contexts[0]).toMatchObject({
      alias: 'custom-alias',
      location: 'somewhere',
      options: { anything: 'goes', n: 1 },
    });
    expect(typeof contexts[0]!.now()).toBe('number');
    expect(store!.client.has('cx:1:k')).toBe(true);
    expect(await cache.get('k')).toEqual({ v: 1 });
    expect(contexts).toHaveLength(1);
    expect(cache.supportsSync).toBe(true);
    await cache.close();
    expect(store!.closed).toBe(1);
  });

  it('an async BackendFactory works for the async API', async () => {
    const cache = createCache({
      backend: async (context): Promise<Store> => new MapStore(context.now),
    });
    await cache.set('a', 'b');
    expect(await cache.get('a')).toBe('b');
  });

  it('a factory returning something that is not a store makes the first operation reject with ConfigError', async () => {
    const cache = createCache({ backend: () => ({}) as unknown as Store }, 'broken');
    const error = await cache.get('a').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain('"broken"');
  });

  it('a module specifier is loaded on the first operation, not before', async () => {
    const location = uniqueLocation();
    const cache = createCache(
      { backend: `${FIXTURE}#makeStore`, location, keyPrefix: 'mod' },
      'from-module',
    );
    expect(cache.backend).toBe('custom');
    expect(opensFor(location)).toBe(0);
    await cache.set('k', [1, 2]);
    expect(opensFor(location)).toBe(1);
    expect(await cache.get('k')).toEqual([1, 2]);
    expect(await cache.incr('n', 1).catch((e: unknown) => (e as Error).name)).toBe(
      'KeyNotFoundError',
    );
    expect(opensFor(location)).toBe(1);
    expect((cache.connection() as Map<string, unknown>).has('mod:1:k')).toBe(true);
    // Once loaded, the sync twins work on the (sync) store.
    expect(cache.getSync('k')).toEqual([1, 2]);
    await cache.close();
  });

  it('a module specifier without #export uses the default export', async () => {
    const location = uniqueLocation();
    const cache = createCache({ backend: FIXTURE, location });
    await cache.set('k', 1);
    expect(await cache.get('k')).toBe(1);
    expect(opensFor(location)).toBe(1);
  });

  it('a missing module: creating works, the first operation rejects with ConfigError', async () => {
    const cache = createCache({ backend: './test/fixtures/no-such-module.ts#x' }, 'ghost');
    const error = await cache.set('a', 1).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain('"ghost"');
    expect((error as Error).message).toContain('backend');
    // getOrSet does not swallow configuration mistakes.
    await expect(cache.getOrSet('a', () => 1)).rejects.toBeInstanceOf(ConfigError);
  });

  it('a missing package: the first operation rejects with ConfigError', async () => {
    const cache = createCache({ backend: 'skycache-no-such-package-xyz#Backend' }, 'ghost');
    await expect(cache.get('a')).rejects.toBeInstanceOf(ConfigError);
  });

  it('a missing export: the first operation rejects with ConfigError naming it', async () => {
    const cache = createCache({ backend: `${FIXTURE}#noSuchExport` }, 'ghost');
    const error = await cache.get('a').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain('noSuchExport');
  });

  it('an export that is not a function: the first operation rejects with ConfigError', async () => {
    const cache = createCache({ backend: `${FIXTURE}#notAFunction` }, 'ghost');
    await expect(cache.has('a')).rejects.toBeInstanceOf(ConfigError);
  });

  it('custom backend options are passed through unvalidated', () => {
    expect(
      resolveConfig({ backend: `${FIXTURE}#makeStore`, options: { whatever: [1] } }, 'a').options,
    ).toEqual({ whatever: [1] });
  });
});

describe('keyFunction as a module specifier', () => {
  it('is loaded on the first operation and used for every key', async () => {
    const location = uniqueLocation();
    const cache = createCache(
      {
        backend: 'memory',
        location,
        keyPrefix: 'kp',
        version: 4,
        keyFunction: `${FIXTURE}#keyFunction`,
      },
      'kf',
    );
    await cache.set('user', 'ann');
    expect(cache.makeKey('user')).toBe('custom|kp|v4|user');
    expect(cache.makeKey('user', 9)).toBe('custom|kp|v9|user');
    // A cache on the same location whose keys are used as they are sees the stored keys.
    const raw = createCache({ backend: 'memory', location, keyFunction: (key) => key });
    expect(await raw.has('custom|kp|v4|user')).toBe(true);
    expect(await raw.has('kp:4:user')).toBe(false);
    expect(await cache.get('user')).toBe('ann');
  });

  it('a string keyFunction in a URL query', async () => {
    const cache = createCache(
      `memory://${uniqueLocation()}?keyPrefix=u&keyFunction=${encodeURIComponent(`${FIXTURE}#keyFunction`)}`,
    );
    await cache.set('x', 1);
    expect(cache.makeKey('x')).toBe('custom|u|v1|x');
  });

  it('a missing keyFunction module makes the first operation reject with ConfigError', async () => {
    const cache = createCache(
      { backend: 'memory', location: uniqueLocation(), keyFunction: './nope.ts#fn' },
      'kf',
    );
    const error = await cache.set('a', 1).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain('keyFunction');
  });

  it('a keyFunction export that is not a function is a ConfigError', async () => {
    const cache = createCache({
      backend: 'memory',
      location: uniqueLocation(),
      keyFunction: `${FIXTURE}#notAFunction`,
    });
    await expect(cache.get('a')).rejects.toBeInstanceOf(ConfigError);
  });
});
