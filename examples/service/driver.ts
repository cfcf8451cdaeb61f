/**
 * Drives the reference service from outside, as a user would: spawn it (and, when asked, a private
 * `redis-server` to stop and start), call its HTTP API over fresh connections (so that the cluster
 * spreads them over its workers), and run `redis-cli`. Used by the demo and by the tests.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The service's entry point and the TypeScript runner that starts it without a build. */
export const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));
export const TSX_CLI = createRequire(import.meta.url).resolve('tsx/cli');

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function waitUntil(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs = 60_000,
) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(100);
  }
}

/** A `redis-server` owned by the caller, on a port of its own (never the shared 6379). */
export class PrivateRedis {
  #process: ChildProcess | undefined;
  private constructor(readonly port: number) {}

  static async start(): Promise<PrivateRedis> {
    const redis = new PrivateRedis(await freePort());
    await redis.restart();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}/0`;
  }

  /** Starts it again on the same port, empty (no persistence), as after a crash. */
  async restart(): Promise<void> {
    const child = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore' },
    );
    this.#process = child;
    await waitUntil(
      'redis-server answering',
      async () => (await this.cli('ping')) === 'PONG',
      15_000,
    );
  }

  /** Kills it (SIGKILL: no goodbye to clients). */
  async kill(): Promise<void> {
    const child = this.#process;
    this.#process = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  async cli(...args: string[]): Promise<string> {
    const { stdout } = await run(
      'redis-cli',
      ['-h', '127.0.0.1', '-p', String(this.port), ...args],
      {
        timeout: 10_000,
      },
    );
    return stdout.trim();
  }

  /** A shell line with `redis-cli` pointed at this server (the seed's commands as written). */
  async shell(line: string): Promise<string> {
    const { stdout } = await run(
      'sh',
      ['-c', line.replaceAll('redis-cli', `redis-cli -p ${this.port}`)],
      {
        timeout: 10_000,
      },
    );
    return stdout.trim();
  }
}

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

/** One HTTP call on a new connection (`agent: false`), JSON in and out. */
export function call(
  base: string,
  method: string,
  path: string,
  options: { token?: string; body?: unknown; timeoutMs?: number } = {},
): Promise<Answer> {
  const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
  const headers: Record<string, string> = {};
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (payload !== undefined) headers['content-type'] = 'application/json';
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, base), { method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown = text;
        try {
          body = text ? JSON.parse(text) : undefined;
        } catch {
          // not JSON
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
      });
    });
    req.setTimeout(options.timeoutMs ?? 30_000, () =>
      req.destroy(new Error(`${method} ${path}: timeout`)),
    );
    req.once('error', reject);
    req.end(payload);
  });
}

export async function login(base: string, username: string, password: string): Promise<string> {
  const answer = await call(base, 'POST', '/auth/login', { body: { username, password } });
  if (answer.status !== 200)
    throw new Error(`login ${username}: ${answer.status} ${JSON.stringify(answer.body)}`);
  return (answer.body as { token: string }).token;
}

/** A running service process with its output collected. */
export class ServiceProcess {
  output = '';
  readonly exited: Promise<number | null>;

  private constructor(
    readonly child: ChildProcess,
    readonly base: string,
  ) {
    child.stdout?.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  /**
   * Starts `main.ts` with `env` over the current environment and waits for its banner.
   * @param options.cwd where `./var` ends up
   */
  static async start(options: { env: Record<string, string>; cwd: string; timeoutMs?: number }) {
    const port = Number(options.env.PORT ?? (await freePort()));
    const child = spawn(process.execPath, [TSX_CLI, MAIN], {
      cwd: options.cwd,
      env: { ...process.env, LOG_LEVEL: 'info', ...options.env, PORT: String(port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const service = new ServiceProcess(child, `http://127.0.0.1:${port}`);
    let exitCode: number | null | undefined;
    void service.exited.then((code) => (exitCode = code));
    await waitUntil(
      'the service printing its banner',
      () => {
        if (exitCode !== undefined)
          throw new Error(`the service exited (${exitCode}):\n${service.output}`);
        return service.output.includes('skycache reference service on');
      },
      options.timeoutMs ?? 120_000,
    ).catch((error: Error) => {
      child.kill('SIGKILL');
      throw new Error(`${error.message}\n${service.output}`);
    });
    return service;
  }

  /** Log lines (JSON, one per line) whose message includes `text`. */
  lines(text: string): string[] {
    return this.output.split('\n').filter((line) => line.includes(text));
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
    await this.exited;
    clearTimeout(timer);
  }
}
