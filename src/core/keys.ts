/**
 * Key making: the one owner of how a caller's key becomes the key a store sees, and of which
 * stored keys a pattern covers.
 *
 * Default layout (Django's): `${keyPrefix}:${version}:${namespace}${key}`. With `hashKeys` the key
 * part is replaced by its SHA-256 hex (the namespace stays visible so a namespace can be cleared).
 */
import { createHash } from 'node:crypto';
import { importExport, requireExport } from '../config/module-loader.js';
import type { KeyFunction, ResolvedConfig } from '../config/types.js';
import {
  ConfigError,
  InvalidKeyError,
  InvalidValueError,
  UnsupportedOperationError,
} from './errors.js';
import { parseGlob } from './glob.js';
import type { KeyHint, KeyMatch } from './store.js';

/** Which stored keys an operation covers, and how to turn one back into what the caller sees. */
export interface KeyScope {
  readonly match: KeyMatch;
  /** What `keys()` yields for a stored key. */
  toCallerKey(storedKey: string): string;
}

/** A key no caller uses, to see where a custom key function puts the key. */
const PROBE = '\u0000skycache-probe';

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** `String.prototype.isWellFormed` (Node 20; the project's `lib` setting predates its typing). */
type WellFormedCheck = string & { isWellFormed(): boolean };

/**
 * Validates a key given to a call: a non-empty, well-formed string. A lone UTF-16 surrogate is
 * refused because every one of them becomes U+FFFD once encoded as UTF-8 (Redis, PostgreSQL), so
 * `'a\uD800'` and `'a\uDC00'` would name the same entry there while memory and disk kept them apart.
 * @param what how the message names the input (`'a cache key'`, `'a lock name'`, …)
 * @throws InvalidKeyError
 */
export function assertKey(key: unknown, what = 'a cache key'): asserts key is string {
  if (typeof key !== 'string' || key.length === 0) {
    throw new InvalidKeyError(
      `${what} must be a non-empty string, got ${key === '' ? 'an empty string' : describeNonString(key)}`,
    );
  }
  if (!(key as WellFormedCheck).isWellFormed()) {
    throw new InvalidKeyError(
      `${what} must be a well-formed string: it contains a lone UTF-16 surrogate, which would collide with other keys once encoded as UTF-8`,
    );
  }
}

/**
 * Validates a namespace, lock or `runOnce` name (the same rule as keys: they become part of made
 * keys). @param what e.g. `'a lock name'` @throws InvalidKeyError
 */
export function assertName(name: unknown, what: string): asserts name is string {
  assertKey(name, what);
}

/** Names the type of a rejected key without converting it (a Symbol or a null-prototype object cannot be). */
function describeNonString(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : typeof value;
}

/** Validates a version given to a call. @throws InvalidValueError */
export function assertVersion(version: unknown): asserts version is number {
  if (!Number.isSafeInteger(version)) {
    throw new InvalidValueError(`version must be an integer, got ${String(version)}`);
  }
}

/** Makes keys for one cache configuration; shared by the cache and its namespace views. */
export class KeyMaker {
  readonly keyPrefix: string;
  readonly version: number;
  readonly #alias: string;
  readonly #maxKeyLength: number;
  readonly #hashKeys: boolean;
  #keyFunction: KeyFunction | string | undefined;

  /** `prefix:version:` at the default version: most made keys start with it. */
  readonly #defaultHead: string;

  constructor(config: ResolvedConfig) {
    this.keyPrefix = config.keyPrefix;
    this.version = config.version;
    this.#defaultHead = `${config.keyPrefix}:${config.version}:`;
    this.#alias = config.alias;
    this.#maxKeyLength = config.maxKeyLength;
    this.#hashKeys = config.hashKeys;
    this.#keyFunction = config.keyFunction;
    this.pending = typeof config.keyFunction === 'string';
    if (!(this.keyPrefix as WellFormedCheck).isWellFormed()) {
      throw new ConfigError(
        `cache "${this.#alias}": field "keyPrefix" contains a lone UTF-16 surrogate (it would collide with other prefixes once encoded as UTF-8)`,
      );
    }
  }

  get #where(): string {
    return `cache "${this.#alias}": field "keyFunction"`;
  }

  /** Whether a module-specifier key function still has to be imported (a field: read per call). */
  pending: boolean;

  /** Imports a module-specifier key function (first async operation). */
  async load(): Promise<void> {
    if (typeof this.#keyFunction !== 'string') return;
    this.#setKeyFunction(await importExport(this.#keyFunction, this.#where));
  }

  #keyFunctionSync(): KeyFunction | undefined {
    if (typeof this.#keyFunction === 'string') {
      this.#setKeyFunction(requireExport(this.#keyFunction, this.#where));
    }
    return this.#keyFunction as KeyFunction | undefined;
  }

  #setKeyFunction(value: unknown): void {
    if (typeof value !== 'function')
      throw new ConfigError(`${this.#where}: the export is not a function`);
    this.#keyFunction = value as KeyFunction;
    this.pending = false;
  }

  /**
   * The stored key for `key` in `namespace` (`''` or `'a:b:'`).
   * @throws InvalidKeyError for a bad key or a made key longer than `maxKeyLength` bytes
   */
  make(key: string, version: number, namespace: string): string {
    assertKey(key);
    const part = this.#hashKeys ? namespace + sha256(key) : namespace + key;
    const keyFunction = this.#keyFunction === undefined ? undefined : this.#keyFunctionSync();
    const made = keyFunction
      ? keyFunction(part, this.keyPrefix, version)
      : version === this.version
        ? this.#defaultHead + part
        : `${this.keyPrefix}:${version}:${part}`;
    if (typeof made !== 'string' || made.length === 0) {
      throw new InvalidKeyError(
        `keyFunction returned ${typeof made === 'string' ? 'an empty string' : typeof made}`,
      );
    }
    // The default layout is well-formed when its parts are; a custom function may cut a pair.
    if (keyFunction && !(made as WellFormedCheck).isWellFormed()) {
      throw new InvalidKeyError('keyFunction returned a string with a lone UTF-16 surrogate');
    }
    // A UTF-16 unit is at most 3 UTF-8 bytes, so short keys skip the byte count.
    if (made.length * 3 > this.#maxKeyLength && Buffer.byteLength(made) > this.#maxKeyLength) {
      throw new InvalidKeyError(
        `made key is ${Buffer.byteLength(made)} bytes, longer than maxKeyLength ${this.#maxKeyLength}: ${made.slice(0, 64)}…`,
      );
    }
    return made;
  }

  /**
   * The stored keys a glob covers. With the default layout the glob is over the caller's keys
   * (relative to the namespace); with a custom key function it is over the whole stored key; with
   * `hashKeys` it is over the stored hash.
   *
   * An empty pattern matches only an empty key part, and no key is empty: it covers nothing
   * (`keys('')` yields nothing, `deletePattern('')` removes nothing).
   * @throws InvalidKeyError for a pattern with a lone surrogate, or one (with the namespace) whose
   *   shortest match is longer than `maxKeyLength` bytes
   */
  scope(pattern: string, version: number, namespace: string): KeyScope {
    if (!(pattern as WellFormedCheck).isWellFormed()) {
      throw new InvalidKeyError(
        'a pattern must be a well-formed string (no lone UTF-16 surrogate)',
      );
    }
    if (this.#keyFunction !== undefined) {
      this.#assertReachable('', pattern);
      return { match: { prefix: '', pattern }, toCallerKey: (stored) => stored };
    }
    const prefix = `${this.keyPrefix}:${version}:${namespace}`;
    this.#assertReachable(prefix, pattern);
    return { match: { prefix, pattern }, toCallerKey: (stored) => stored.slice(prefix.length) };
  }

  /**
   * Refuses a prefix and pattern whose shortest match (keys are never empty, so at least one
   * character after the prefix) is longer than `maxKeyLength` bytes: no key of this cache can be
   * that long, so it is the caller's mistake (a 200,000-character namespace), and it must not
   * reach a store as a 200 kB command or RegExp.
   * @throws InvalidKeyError
   */
  #assertReachable(prefix: string, pattern: string): void {
    // Cheap bound first: a UTF-16 unit is at most 3 UTF-8 bytes.
    if ((prefix.length + Math.max(pattern.length, 1)) * 3 <= this.#maxKeyLength) return;
    let bytes = Buffer.byteLength(prefix);
    let rest = 0;
    for (const token of parseGlob(pattern)) {
      if (token.type === 'literal') rest += Buffer.byteLength(token.text);
      else if (token.type !== 'star') rest += 1;
    }
    bytes += Math.max(rest, 1);
    if (bytes > this.#maxKeyLength) {
      throw new InvalidKeyError(
        `keys matching this ${prefix.length > 0 ? 'namespace and pattern' : 'pattern'} would be at least ${bytes} bytes long, more than maxKeyLength ${this.#maxKeyLength}`,
      );
    }
  }

  /**
   * The literal prefix of a namespace's stored keys at `version`, for a namespace's `clear()`.
   * A custom key function qualifies if it keeps the key as a suffix of the made key.
   * @throws UnsupportedOperationError otherwise
   */
  namespacePrefix(version: number, namespace: string): string {
    const keyFunction = this.#keyFunction === undefined ? undefined : this.#keyFunctionSync();
    if (!keyFunction) {
      const prefix = `${this.keyPrefix}:${version}:${namespace}`;
      this.#assertReachable(prefix, '*');
      return prefix;
    }
    const made = keyFunction(namespace + PROBE, this.keyPrefix, version);
    if (typeof made === 'string' && made.endsWith(namespace + PROBE)) {
      const prefix = made.slice(0, made.length - PROBE.length);
      this.#assertReachable(prefix, '*');
      return prefix;
    }
    throw new UnsupportedOperationError(
      'clear() of a namespace needs a keyFunction that ends the made key with the key it was given',
    );
  }

  /**
   * The literal prefix of every stored key of the cache, across versions, for `clear()`; `''`
   * when the cache has no prefix (clear then empties the whole store).
   */
  clearPrefix(): string {
    if (this.keyPrefix === '') return '';
    return this.#keyFunction === undefined ? `${this.keyPrefix}:` : this.keyPrefix;
  }
}

/** A made key and the store's hint for it, kept between calls. */
export interface MadeKey extends KeyHint {
  readonly made: string;
}

/**
 * Made keys of recently used caller keys at the default version, so that a hot key's made key is
 * built (and hashed by the store) once instead of on every call, and an in-process store can keep
 * a handle in it. Two generations bound the memory: when the young map fills, it becomes the old
 * one and the previous old one is dropped.
 */
export class MadeKeyMemo {
  #young = new Map<string, MadeKey>();
  #old = new Map<string, MadeKey>();

  // 16,384 per generation: working sets up to ~32k hot keys stay memoized, for a few MB at most.
  constructor(private readonly limit = 16_384) {}

  get(key: string): MadeKey | undefined {
    // Kept tiny so that it is inlined into the caller's hot path.
    return this.#young.get(key) ?? this.#promote(key);
  }

  #promote(key: string): MadeKey | undefined {
    const old = this.#old.get(key);
    if (old !== undefined) this.set(key, old);
    return old;
  }

  set(key: string, made: MadeKey): void {
    if (this.#young.size >= this.limit) {
      this.#old = this.#young;
      this.#young = new Map();
    }
    this.#young.set(key, made);
  }
}
