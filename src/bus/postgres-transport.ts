/**
 * The bus over PostgreSQL `LISTEN`/`NOTIFY`: one dedicated connection (not from a pool: a pooled
 * connection would lose its `LISTEN` when handed to someone else) that listens and also publishes
 * with `pg_notify`. Notifications are delivered when the publishing transaction commits, so a
 * receiver hears of a write only after that write is visible to its own queries.
 *
 * Health: `up` once `LISTEN` returned; `down` on any error or end of the connection (a
 * `pg_terminate_backend` of the listener, a restart, a network failure), after which it reconnects
 * with backoff. A publish that times out ends the connection too: a server that does not answer a
 * `pg_notify` cannot be trusted to deliver notifications either.
 */
import type { Client, Notification } from 'pg';
import { loadPg } from '../backends/postgres/connection.js';
import { sleep } from '../core/timers.js';
import { withDeadline } from '../core/deadline.js';
import type { BusTransport, TransportEvents } from './bus.js';

/** Longest wait between two reconnect attempts, in ms. */
const MAX_RECONNECT_DELAY_MS = 2_000;

/** Options of {@link PostgresBusTransport}. */
export interface PostgresBusOptions {
  /** `postgres://…` DSN (`''` reads PGHOST, PGUSER… like libpq). */
  readonly location: string;
  /** Channel name (up to 63 bytes). */
  readonly channel: string;
  readonly alias: string;
  /** Most a connection attempt may take, in ms. */
  readonly connectTimeoutMs: number;
}

function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export class PostgresBusTransport implements BusTransport {
  readonly kind = 'postgres';
  readonly #options: PostgresBusOptions;
  #client: Client | undefined;
  #closed = false;
  #stopWaiting: (() => void) | undefined;
  /** Publishes waiting for the connection. */
  readonly #connected = new Set<() => void>();

  constructor(options: PostgresBusOptions) {
    this.#options = options;
  }

  /** The listening connection's backend pid (tests terminate it), while connected. */
  get listenerPid(): number | undefined {
    return (this.#client as unknown as { processID?: number } | undefined)?.processID;
  }

  start(events: TransportEvents): void {
    void this.#run(events);
  }

  async #run(events: TransportEvents): Promise<void> {
    const pg = loadPg(this.#options.alias);
    let attempt = 0;
    while (!this.#closed) {
      const client = new pg.Client({
        ...(this.#options.location === '' ? {} : { connectionString: this.#options.location }),
        connectionTimeoutMillis: this.#options.connectTimeoutMs,
        keepAlive: true,
        // Names the channel, so an operator (or a test) can find the listeners of one store.
        application_name: `skycache-bus ${this.#options.channel}`.slice(0, 63),
      });
      let reason: unknown = new Error('the listening connection ended');
      const ended = new Promise<void>((resolve) => {
        this.#stopWaiting = resolve;
        client.on('error', (error) => {
          reason = error;
          resolve();
        });
        client.on('end', () => resolve());
      });
      client.on('notification', (notification: Notification) => {
        if (notification.channel === this.#options.channel) {
          events.message(notification.payload ?? '');
        }
      });
      let wasUp = false;
      try {
        await client.connect();
        await client.query(`LISTEN ${quoteIdentifier(this.#options.channel)}`);
        if (this.#closed) break;
        this.#client = client;
        wasUp = true;
        attempt = 0;
        events.up();
        for (const resume of [...this.#connected]) resume();
        await ended;
      } catch (error) {
        reason = error;
      } finally {
        if (this.#client === client) this.#client = undefined;
        client.end().catch(() => {});
      }
      if (this.#closed) break;
      if (wasUp) events.down(reason);
      await sleep(Math.min(50 * 2 ** Math.min(attempt++, 10), MAX_RECONNECT_DELAY_MS));
    }
  }

  publish(text: string, timeoutMs: number): Promise<void> {
    if (this.#closed) return Promise.reject(new Error('the bus is closed'));
    let client: Client | undefined;
    let send = (): void => {};
    const sent = new Promise<void>((resolve, reject) => {
      send = () => {
        this.#connected.delete(send);
        client = this.#client;
        if (!client) return;
        client
          .query('SELECT pg_notify($1, $2)', [this.#options.channel, text])
          .then(() => resolve(), reject);
      };
      // While (re)connecting, the publish waits for the connection, within the same time limit.
      if (this.#client) send();
      else this.#connected.add(send);
    });
    return withDeadline(sent, timeoutMs, () => {
      this.#connected.delete(send);
      if (client) this.#drop(client);
      return new Error(`pg_notify got no answer within ${timeoutMs} ms`);
    });
  }

  /** Ends a connection that stopped answering; the run loop reconnects. */
  #drop(client: Client): void {
    if (this.#client !== client) return;
    this.#client = undefined;
    const stream = (client as unknown as { connection?: { stream?: { destroy(): void } } })
      .connection?.stream;
    stream?.destroy();
    this.#stopWaiting?.();
  }

  async close(): Promise<void> {
    this.#closed = true;
    const client = this.#client;
    this.#client = undefined;
    this.#stopWaiting?.();
    await client?.end().catch(() => {});
  }
}
