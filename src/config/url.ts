/**
 * Cache URLs: `memory://name?keyPrefix=app&timeout=5m`, `disk:///abs/dir`, `disk://./rel/dir`,
 * `redis://[:pw@]host:port/db`, `rediss://…`, `postgres://…`, `postgresql://…`, `dummy://`.
 * Query parameters set config fields and backend options; the drivers' own parameters stay in the
 * location. Values are strings here; `resolveConfig` coerces and validates them.
 */
import { ConfigError } from '../core/errors.js';
import { redactSecrets } from './redact.js';
import { L1_URL_PARAMETERS } from './tiers.js';
import type { CacheConfig } from './types.js';

const SCHEMES: Record<string, string> = {
  memory: 'memory',
  disk: 'disk',
  redis: 'redis',
  rediss: 'redis',
  'redis+cluster': 'redis',
  'rediss+cluster': 'redis',
  postgres: 'postgres',
  postgresql: 'postgres',
  dummy: 'dummy',
};

/** Config fields settable from a URL query. */
export const URL_CONFIG_FIELDS = [
  'operationTimeout',
  'failOpen',
  'keyPrefix',
  'timeout',
  'version',
  'keyFunction',
  'serializer',
  'maxKeyLength',
  'hashKeys',
  'bus',
];

/** A URL split into the config it sets and the query parameters left for the backend. */
export interface ParsedCacheUrl {
  readonly config: CacheConfig;
  /** Query parameters that are neither config fields: backend options or driver parameters. */
  readonly parameters: ReadonlyMap<string, string>;
  /** For network URLs: the URL without skycache's own parameters (driver parameters kept). */
  readonly rebuild: (driverParameters: ReadonlySet<string>) => string;
}

/** Whether a string looks like a cache URL (has a scheme). */
export function isCacheUrl(text: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(text);
}

/** @throws ConfigError naming the alias, for an unknown scheme or a malformed URL */
export function parseCacheUrl(url: string, alias: string): ParsedCacheUrl {
  const where = `cache "${alias}": url ${JSON.stringify(redactSecrets(url))}`;
  const schemeEnd = url.indexOf('://');
  const scheme = url.slice(0, schemeEnd).toLowerCase();
  const backend = SCHEMES[scheme];
  if (!backend) {
    throw new ConfigError(
      `${where}: unknown scheme "${scheme}:"; use one of ${Object.keys(SCHEMES).join(', ')}`,
    );
  }
  const rest = url.slice(schemeEnd + 3);
  const queryStart = rest.search(/[?#]/);
  const body = queryStart === -1 ? rest : rest.slice(0, queryStart);
  const query = queryStart === -1 ? '' : rest.slice(queryStart + 1).replace(/#.*$/, '');
  const searchParams = new URLSearchParams(query);

  const config: Record<string, unknown> = { backend };
  const parameters = new Map<string, string>();
  for (const [name, value] of searchParams) {
    const l1Field = Object.hasOwn(L1_URL_PARAMETERS, name) ? L1_URL_PARAMETERS[name] : undefined;
    if (l1Field) {
      config.l1 = { ...(config.l1 as Record<string, unknown> | undefined), [l1Field]: value };
    } else if (URL_CONFIG_FIELDS.includes(name)) {
      config[name] = name === 'timeout' && value === 'none' ? null : value;
    } else {
      parameters.set(name, value);
    }
  }

  let location: string;
  try {
    location = backend === 'redis' || backend === 'postgres' ? url : decodeURIComponent(body);
  } catch {
    throw new ConfigError(`${where}: the location is not valid percent-encoding`);
  }
  if (backend === 'dummy' && body !== '')
    throw new ConfigError(`${where}: dummy:// takes no location`);
  config.location = location;

  const rebuild = (driverParameters: ReadonlySet<string>): string => {
    const kept = new URLSearchParams();
    for (const [name, value] of searchParams)
      if (driverParameters.has(name)) kept.append(name, value);
    const keptQuery = kept.toString();
    return `${url.slice(0, schemeEnd + 3)}${body}${keptQuery ? `?${keptQuery}` : ''}`;
  };
  return { config: config as unknown as CacheConfig, parameters, rebuild };
}
