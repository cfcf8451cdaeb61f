/**
 * `skycache dashboard`: serves the web dashboard for every configured alias until interrupted.
 * Binds to 127.0.0.1 unless `--host` says otherwise.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CacheConfigInput } from '../config/types.js';
import { dashboard } from '../integrations/dashboard/index.js';
import { openCache, print, UsageError } from './context.js';
import type { CommandInput } from './entries.js';

export async function serveDashboard(
  input: CommandInput,
  config: Record<string, CacheConfigInput>,
): Promise<number> {
  const host = typeof input.values.host === 'string' ? input.values.host : '127.0.0.1';
  const port = Number(input.values.port ?? 8100);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new UsageError(`--port takes a port number, got ${String(input.values.port)}`);
  const token =
    typeof input.values.token === 'string'
      ? input.values.token
      : process.env.SKYCACHE_DASHBOARD_TOKEN;
  const opened = Object.keys(config).map((alias) => openCache(config, alias));
  const server = createServer(
    dashboard({
      caches: opened.map(({ cache }) => cache),
      token: token || undefined,
      readOnly: input.values['read-only'] === true,
    }),
  );
  await new Promise<void>((listening, failed) => {
    server.once('error', failed);
    server.listen(port, host, listening);
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${shownHost}:${address.port}/`;
  print(
    input.options,
    { url, aliases: Object.keys(config), token: Boolean(token) },
    () =>
      `skycache dashboard on ${url} (${Object.keys(config).join(', ')})${token ? ', token required' : ''}; Ctrl-C stops it`,
  );
  await new Promise<void>((stop) => {
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  server.closeAllConnections();
  await new Promise((closed) => server.close(closed));
  await Promise.allSettled(opened.map(({ cache }) => cache.close()));
  return 0;
}
