/**
 * Turns whatever the user wrote (object, URL, upper-case settings) into a validated
 * {@link ResolvedConfig}. Every mistake is a `ConfigError` naming the alias and the field; secrets
 * never appear in messages.
 */
import type { BackendDefinition, OptionSpec } from '../backends/definition.js';
import { builtinBackends, knownBackendNames } from '../backends/index.js';
import { configDurationToMs } from '../core/duration.js';
import { ConfigError } from '../core/errors.js';
import { stderrLogger, type Logger } from '../core/logger.js';
import { resolveSerializer } from '../serializers/index.js';
import { redactSecrets } from './redact.js';
import type { CacheConfig, CacheConfigInput, ResolvedConfig } from './types.js';
import { resolveTiers } from './tiers.js';
import { fromUpperCaseSettings, isUpperCaseSettings } from './upper-case.js';
import { isCacheUrl, parseCacheUrl } from './url.js';

const FIELDS = new Set([
  'backend',
  'location',
  'timeout',
  'keyPrefix',
  'version',
  'keyFunction',
  'serializer',
  'maxKeyLength',
  'hashKeys',
  'logger',
  'operationTimeout',
  'circuitBreaker',
  'failOpen',
  'options',
  'l1',
  'bus',
]);

const DEFAULT_TIMEOUT_MS = 300_000;
const DEFAULT_MAX_KEY_LENGTH = 1024;
const DEFAULT_OPERATION_TIMEOUT_MS = 250;

function fail(alias: string, field: string, problem: string): never {
  throw new ConfigError(`cache "${alias}": field "${field}": ${problem}`);
}

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(redactSecrets(value));
  if (typeof value === 'function') return 'a function';
  if (value !== null && typeof value === 'object') return 'an object';
  return String(value);
}

/** Validates one option (or field) value; strings from a URL are coerced first. */
function coerce(value: unknown, spec: OptionSpec, alias: string, field: string): unknown {
  const fromText = typeof value === 'string';
  switch (spec.kind) {
    case 'integer':
    case 'number': {
      const number = fromText && value.trim() !== '' ? Number(value) : value;
      if (
        typeof number !== 'number' ||
        !Number.isFinite(number) ||
        (spec.kind === 'integer' && !Number.isInteger(number))
      ) {
        fail(
          alias,
          field,
          `expected ${spec.kind === 'integer' ? 'an integer' : 'a number'}, got ${show(value)}`,
        );
      }
      if (spec.min !== undefined && number < spec.min)
        fail(alias, field, `must be at least ${spec.min}, got ${number}`);
      if (spec.kind === 'integer' && spec.max !== undefined && number > spec.max) {
        fail(alias, field, `must be at most ${spec.max}, got ${number}`);
      }
      return number;
    }
    case 'boolean': {
      if (typeof value === 'boolean') return value;
      if (value === 'true' || value === '1') return true;
      if (value === 'false' || value === '0') return false;
      return fail(alias, field, `expected true or false, got ${show(value)}`);
    }
    case 'string':
      return typeof value === 'string'
        ? value
        : fail(alias, field, `expected a string, got ${show(value)}`);
    case 'duration':
      configDurationToMs(value, `cache "${alias}": field "${field}"`);
      return value;
    case 'enum':
      return typeof value === 'string' && spec.values.includes(value)
        ? value
        : fail(alias, field, `expected one of ${spec.values.join(', ')}, got ${show(value)}`);
    case 'object':
      return value;
  }
}

function resolveBackend(
  backend: unknown,
  alias: string,
): { definition?: BackendDefinition; factoryOrSpecifier?: ResolvedConfig['backend'] } {
  if (typeof backend === 'function')
    return { factoryOrSpecifier: backend as ResolvedConfig['backend'] };
  if (typeof backend !== 'string' || backend === '') {
    return fail(
      alias,
      'backend',
      `expected a backend name, a module specifier or a factory function, got ${show(backend)}`,
    );
  }
  const definition = builtinBackends[backend];
  if (definition) return { definition };
  if ((knownBackendNames as readonly string[]).includes(backend)) {
    return fail(
      alias,
      'backend',
      `the "${backend}" backend is not available in this version of skycache; available: ${Object.keys(builtinBackends).join(', ')}`,
    );
  }
  if (/\s/.test(backend)) fail(alias, 'backend', `unknown backend ${show(backend)}`);
  return { factoryOrSpecifier: backend };
}

function resolveOptions(
  definition: BackendDefinition | undefined,
  options: unknown,
  urlParameters: ReadonlyMap<string, string>,
  alias: string,
): Record<string, unknown> {
  if (
    options !== undefined &&
    (options === null || typeof options !== 'object' || Array.isArray(options))
  ) {
    fail(alias, 'options', `expected an object, got ${show(options)}`);
  }
  const given: Record<string, unknown> = { ...(options as Record<string, unknown> | undefined) };
  const driverParameters = new Set(definition?.driverQueryParameters ?? []);
  for (const [name, value] of urlParameters) {
    if (!driverParameters.has(name)) given[name] = value;
  }
  if (!definition) return given;
  const resolved: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(given)) {
    const spec = definition.options[name];
    if (!spec) {
      const known = Object.keys(definition.options);
      fail(
        alias,
        `options.${name}`,
        `unknown option for the ${definition.name} backend; ${known.length ? `known: ${known.join(', ')}` : 'it takes none'}`,
      );
    }
    if (value !== undefined) resolved[name] = coerce(value, spec, alias, `options.${name}`);
  }
  const problem = definition.validate?.(resolved);
  if (problem) throw new ConfigError(`cache "${alias}": ${problem}`);
  return resolved;
}

function resolveLogger(value: unknown, alias: string): Logger {
  if (value === undefined) return stderrLogger;
  const candidate = value as Partial<Logger> | null;
  if (
    candidate !== null &&
    typeof candidate === 'object' &&
    typeof candidate.warn === 'function' &&
    typeof candidate.error === 'function' &&
    typeof candidate.debug === 'function'
  ) {
    return candidate as Logger;
  }
  return fail(
    alias,
    'logger',
    'expected a pino-compatible logger with warn, error and debug methods',
  );
}

function resolveOperationTimeout(value: unknown, alias: string): number {
  if (value === undefined) return DEFAULT_OPERATION_TIMEOUT_MS;
  const ms = configDurationToMs(value, `cache "${alias}": field "operationTimeout"`);
  if (ms <= 0) fail(alias, 'operationTimeout', `must be positive, got ${show(value)}`);
  return ms;
}

/** On by default for network backends (those without a synchronous API), off for the others. */
function resolveCircuitBreaker(
  value: unknown,
  definition: BackendDefinition | undefined,
  alias: string,
): ResolvedConfig['circuitBreaker'] {
  if (value === false || value === 'false') return undefined;
  if (value === undefined) {
    return definition && !definition.sync ? { failures: 5, openForMs: 5000 } : undefined;
  }
  if (value === null || typeof value !== 'object') {
    return fail(
      alias,
      'circuitBreaker',
      `expected { failures, openFor } or false, got ${show(value)}`,
    );
  }
  const { failures, openFor, ...rest } = value as Record<string, unknown>;
  const unknown = Object.keys(rest)[0];
  if (unknown !== undefined)
    fail(alias, `circuitBreaker.${unknown}`, 'unknown field; expected failures, openFor');
  return {
    failures: coerce(
      failures ?? 5,
      { kind: 'integer', min: 1 },
      alias,
      'circuitBreaker.failures',
    ) as number,
    openForMs: configDurationToMs(
      openFor ?? '5s',
      `cache "${alias}": field "circuitBreaker.openFor"`,
    ),
  };
}

/**
 * Validates a cache configuration.
 * @param alias the name it is registered under, used in every message
 * @throws ConfigError naming the alias and the field
 */
export function resolveConfig(input: CacheConfigInput, alias: string): ResolvedConfig {
  let config: CacheConfig;
  let urlParameters: ReadonlyMap<string, string> = new Map();
  let rebuildUrl: ((driverParameters: ReadonlySet<string>) => string) | undefined;
  if (typeof input === 'string') {
    if (!isCacheUrl(input)) {
      throw new ConfigError(
        `cache "${alias}": expected a URL such as memory://, redis://host:6379/0 or disk:///dir, got ${show(input)}`,
      );
    }
    const parsed = parseCacheUrl(input, alias);
    config = parsed.config;
    urlParameters = parsed.parameters;
    rebuildUrl = parsed.rebuild;
  } else if (input !== null && typeof input === 'object' && !Array.isArray(input)) {
    config = isUpperCaseSettings(input) ? fromUpperCaseSettings(input, alias) : input;
  } else {
    throw new ConfigError(
      `cache "${alias}": expected a config object or a URL string, got ${show(input)}`,
    );
  }

  for (const field of Object.keys(config)) {
    if (!FIELDS.has(field))
      fail(alias, field, `unknown field; expected one of ${[...FIELDS].join(', ')}`);
  }
  const { definition, factoryOrSpecifier } = resolveBackend(config.backend, alias);
  const options = resolveOptions(definition, config.options, urlParameters, alias);

  let location = config.location ?? '';
  if (typeof location !== 'string')
    fail(alias, 'location', `expected a string, got ${show(location)}`);
  if (rebuildUrl && (definition?.name === 'redis' || definition?.name === 'postgres')) {
    location = rebuildUrl(new Set(definition.driverQueryParameters ?? []));
  }

  const timeout = config.timeout;
  const defaultTimeoutMs =
    timeout === undefined
      ? DEFAULT_TIMEOUT_MS
      : timeout === null
        ? null
        : configDurationToMs(timeout, `cache "${alias}": field "timeout"`);
  const keyPrefix = config.keyPrefix ?? '';
  if (typeof keyPrefix !== 'string')
    fail(alias, 'keyPrefix', `expected a string, got ${show(keyPrefix)}`);
  const version = coerce(config.version ?? 1, { kind: 'integer' }, alias, 'version') as number;
  const maxKeyLength = coerce(
    config.maxKeyLength ?? DEFAULT_MAX_KEY_LENGTH,
    { kind: 'integer', min: 1 },
    alias,
    'maxKeyLength',
  ) as number;
  const hashKeys = coerce(
    config.hashKeys ?? false,
    { kind: 'boolean' },
    alias,
    'hashKeys',
  ) as boolean;
  const keyFunction = config.keyFunction;
  if (
    keyFunction !== undefined &&
    typeof keyFunction !== 'function' &&
    (typeof keyFunction !== 'string' || keyFunction === '')
  ) {
    fail(
      alias,
      'keyFunction',
      `expected a function or a 'module#export' specifier, got ${show(keyFunction)}`,
    );
  }

  const backendName = definition?.name ?? 'custom';
  const tiers = resolveTiers(config.l1, config.bus, backendName, location, alias);

  return {
    alias,
    backendName,
    backend: definition?.factory ?? factoryOrSpecifier!,
    location,
    redactedLocation: redactSecrets(location),
    defaultTimeoutMs,
    keyPrefix,
    version,
    keyFunction,
    serializer: resolveSerializer(config.serializer, `cache "${alias}": field "serializer"`),
    maxKeyLength,
    hashKeys,
    logger: resolveLogger(config.logger, alias),
    operationTimeoutMs: resolveOperationTimeout(config.operationTimeout, alias),
    circuitBreaker: resolveCircuitBreaker(config.circuitBreaker, definition, alias),
    failOpen: coerce(config.failOpen ?? false, { kind: 'boolean' }, alias, 'failOpen') as boolean,
    options,
    l1: tiers.l1,
    bus: tiers.bus,
    sync: definition?.sync ?? false,
  };
}
