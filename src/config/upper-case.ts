/**
 * The settings shape of the original Python framework, accepted as it is:
 * `{ BACKEND: 'fastapp.cache.redis.RedisCache', LOCATION, TIMEOUT, KEY_PREFIX, VERSION,
 *    KEY_FUNCTION, DIRECTORY, OPTIONS: { MAX_ENTRIES, CULL_FREQUENCY, … } }`.
 */
import { ConfigError } from '../core/errors.js';
import type { CacheConfig, UpperCaseCacheSettings } from './types.js';

const BACKEND_SUFFIXES: Array<[suffix: string, backend: string]> = [
  ['LocMemCache', 'memory'],
  ['DiskCacheBackend', 'disk'],
  ['RedisCache', 'redis'],
  ['PostgresBackend', 'postgres'],
  ['DummyCache', 'dummy'],
];

const FIELDS: Record<string, keyof CacheConfig> = {
  LOCATION: 'location',
  DIRECTORY: 'location',
  TIMEOUT: 'timeout',
  KEY_PREFIX: 'keyPrefix',
  VERSION: 'version',
  KEY_FUNCTION: 'keyFunction',
};

/** `MAX_ENTRIES` → `maxEntries`. */
function camelCase(name: string): string {
  return name.toLowerCase().replace(/_([a-z0-9])/g, (_, ch: string) => ch.toUpperCase());
}

/** Whether a config object is in the upper-case shape. */
export function isUpperCaseSettings(value: object): value is UpperCaseCacheSettings {
  return 'BACKEND' in value;
}

/** @throws ConfigError for unknown upper-case fields */
export function fromUpperCaseSettings(
  settings: UpperCaseCacheSettings,
  alias: string,
): CacheConfig {
  const path = settings.BACKEND;
  const builtin =
    typeof path === 'string'
      ? BACKEND_SUFFIXES.find(([suffix]) => path.endsWith(suffix))
      : undefined;
  const config: Record<string, unknown> = { backend: builtin ? builtin[1] : path };
  for (const [name, value] of Object.entries(settings)) {
    if (name === 'BACKEND') continue;
    if (name === 'OPTIONS') {
      if (value === null || typeof value !== 'object') {
        throw new ConfigError(`cache "${alias}": field "OPTIONS": expected an object`);
      }
      config.options = Object.fromEntries(
        Object.entries(value).map(([key, v]) => [camelCase(key), v]),
      );
      continue;
    }
    const field = FIELDS[name];
    if (!field) {
      throw new ConfigError(
        `cache "${alias}": unknown field "${name}"; expected one of BACKEND, OPTIONS, ${Object.keys(FIELDS).join(', ')}`,
      );
    }
    config[field] = value;
  }
  return config as unknown as CacheConfig;
}
