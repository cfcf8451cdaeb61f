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

/** Validates a key given to a call. @throws InvalidKeyError */
export function assertKey(key: unknown): asserts key is string {
  if (typeof key !== 'string' || key.length === 0) {
    throw new InvalidKeyError(
      `a cache key must be a non-empty string, got ${key === '' ? 'an empty string' : typeof key}`,
    );
  }
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

  constructor(config: ResolvedConfig) {
    this.keyPrefix = config.keyPrefix;
    this.version = config.version;
    this.#alias = config.alias;
    this.#maxKeyLength = config.maxKeyLength;
    this.#hashKeys = config.hashKeys;
    this.#keyFunction = config.keyFunction;
    this.pending = typeof config.keyFunction === 'string';
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
      : `${this.keyPrefix}:${version}:${part}`;
    if (typeof made !== 'string' || made.length === 0) {
      throw new InvalidKeyError(
        `keyFunction returned ${typeof made === 'string' ? 'an empty string' : typeof made}`,
      );
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
   */
  scope(pattern: string, version: number, namespace: string): KeyScope {
    if (this.#keyFunction !== undefined) {
      return { match: { prefix: '', pattern }, toCallerKey: (stored) => stored };
    }
    const prefix = `${this.keyPrefix}:${version}:${namespace}`;
    return { match: { prefix, pattern }, toCallerKey: (stored) => stored.slice(prefix.length) };
  }

  /**
   * The literal prefix of a namespace's stored keys at `version`, for a namespace's `clear()`.
   * A custom key function qualifies if it keeps the key as a suffix of the made key.
   * @throws UnsupportedOperationError otherwise
   */
  namespacePrefix(version: number, namespace: string): string {
    const keyFunction = this.#keyFunction === undefined ? undefined : this.#keyFunctionSync();
    if (!keyFunction) return `${this.keyPrefix}:${version}:${namespace}`;
    const made = keyFunction(namespace + PROBE, this.keyPrefix, version);
    if (typeof made === 'string' && made.endsWith(namespace + PROBE))
      return made.slice(0, made.length - PROBE.length);
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
