/**
 * Loading user code named by a module specifier with an optional export: `'my-pkg#MyBackend'`,
 * `'./backends/x.js#default'`. Relative and absolute paths are resolved against the working
 * directory; package names are resolved from the working directory's `node_modules`, the way the
 * user's own `import` would find them.
 */
import { createRequire } from 'node:module';
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError } from '../core/errors.js';

interface Specifier {
  readonly module: string;
  readonly exportName: string;
}

function parseSpecifier(specifier: string): Specifier {
  const hash = specifier.lastIndexOf('#');
  if (hash <= 0) return { module: specifier, exportName: 'default' };
  return { module: specifier.slice(0, hash), exportName: specifier.slice(hash + 1) || 'default' };
}

function resolveFromCwd(module: string): string {
  if (module.startsWith('.') || isAbsolute(module)) return resolve(process.cwd(), module);
  return createRequire(resolve(process.cwd(), 'noop.js')).resolve(module);
}

function pickExport(
  namespace: Record<string, unknown>,
  { module, exportName }: Specifier,
  where: string,
): unknown {
  let value = namespace[exportName];
  // A CommonJS module imported from ESM puts module.exports on `default`.
  if (value === undefined && exportName !== 'default') {
    const fallback = namespace.default as Record<string, unknown> | undefined;
    value = fallback?.[exportName];
  }
  if (value === undefined)
    throw new ConfigError(`${where}: module "${module}" has no export "${exportName}"`);
  return value;
}

/** Imports `specifier` and returns the named export. @throws ConfigError if either is missing */
export async function importExport(specifier: string, where: string): Promise<unknown> {
  const parsed = parseSpecifier(specifier);
  let namespace: Record<string, unknown>;
  try {
    let target: string;
    try {
      target = pathToFileURL(resolveFromCwd(parsed.module)).href;
    } catch {
      target = parsed.module;
    }
    namespace = (await import(target)) as Record<string, unknown>;
  } catch (error) {
    throw new ConfigError(
      `${where}: cannot load module "${parsed.module}": ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  return pickExport(namespace, parsed, where);
}

/**
 * Loads `specifier` synchronously, for the `…Sync` API before any async call has run. Works for
 * CommonJS, and for ES modules where Node supports `require(esm)` (20.19 and later).
 * @throws ConfigError
 */
export function requireExport(specifier: string, where: string): unknown {
  const parsed = parseSpecifier(specifier);
  let namespace: Record<string, unknown>;
  try {
    namespace = createRequire(resolve(process.cwd(), 'noop.js'))(
      resolveFromCwd(parsed.module),
    ) as Record<string, unknown>;
  } catch (error) {
    throw new ConfigError(
      `${where}: cannot load module "${parsed.module}": ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  return pickExport(namespace, parsed, where);
}
