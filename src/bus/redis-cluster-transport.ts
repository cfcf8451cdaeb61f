/**
 * The bus over a Redis Cluster: sharded pub/sub (`SSUBSCRIBE`/`SPUBLISH`, Redis ≥ 7.0) on one
 * channel. One channel gives one ordered stream per publisher, which gap detection needs (one
 * channel per node would not); and a sharded channel stays on the shard that owns its hash slot,
 * where plain `PUBLISH` in a Cluster is broadcast to every node over the cluster bus.
 *
 * Two Cluster clients of their own, made from the store's settings: a subscriber (with
 * `minimizeConnections`, so its only node connection is the one node-redis opens on the master
 * that owns the channel's slot) and a publisher. Health comes from the subscriber: `up` once
 * `SSUBSCRIBE` is confirmed, and again each time its node connection is ready (node-redis
 * re-subscribes before it reports `ready`); `down` on any error, reconnect or end that the Cluster
 * client reports for a node, or on a failed move of the channel to another shard. A first
 * connection that fails is retried here, with backoff, until `close`.
 */
import type { RedisArgument } from '../backends/redis/client.js';
import { loadDriver } from '../backends/redis/client.js';
import { reconnectDelay, type RedisSettings } from '../backends/redis/options.js';
import { sleep } from '../core/timers.js';
import { withDeadline } from '../core/deadline.js';
import type { BusTransport, TransportEvents } from './bus.js';

/** The part of a node-redis Cluster client the bus uses. */
interface ClusterClient {
  readonly isOpen: boolean;
  on(event: string, listener: (...args: unknown[]) => void): this;
  connect(): Promise<unknown>;
  sSubscribe(channel: string, listener: (message: string) => void): Promise<void>;
  sendCommand(
    firstKey: RedisArgument | undefined,
    isReadonly: boolean | undefined,
    args: readonly RedisArgument[],
  ): Promise<unknown>;
  duplicate(overrides?: Record<string, unknown>): ClusterClient;
  close(): Promise<unknown>;
  destroy(): unknown;
}

function noop(): void {}

export class RedisClusterBusTransport implements BusTransport {
  readonly kind = 'redis';
  readonly #settings: RedisSettings;
  readonly #channel: string;
  readonly #alias: string;
  #subscriber: ClusterClient | undefined;
  #publisher: ClusterClient | undefined;
  #publisherConnected: Promise<unknown> | undefined;
  #events: TransportEvents | undefined;
  #subscribed = false;
  #closed = false;
  readonly #onPubSubMessage = (message: string) => this.#events?.message(message);

  constructor(settings: RedisSettings, channel: string, alias: string) {
    this.#settings = settings;
    this.#channel = channel;
    this.#alias = alias;
  }

  /** The subscriber's Cluster client (tests inspect it). */
  get subscriberClient(): object | undefined {
    return this.#subscriber;
  }

  #makeCluster(overrides: Record<string, unknown>): ClusterClient {
    const target = this.#settings.target;
    if (target.kind === 'given') return (target.client as ClusterClient).duplicate(overrides);
    const options = target.options as { defaults?: Record<string, unknown> };
    return loadDriver(this.#alias).createCluster({
      ...options,
      ...overrides,
      // Commands fail at once while a node connection is down instead of waiting to be replayed:
      // the bus retries publishes itself, in order.
      defaults: { ...options.defaults, disableOfflineQueue: true },
    }) as unknown as ClusterClient;
  }

  start(events: TransportEvents): void {
    this.#events = events;
    const subscriber = (this.#subscriber = this.#makeCluster({ minimizeConnections: true }));
    const down = (reason?: unknown) => {
      if (!this.#closed) events.down(reason ?? new Error('the subscriber connection ended'));
    };
    subscriber.on('error', down);
    subscriber.on('node-error', down);
    subscriber.on('node-reconnecting', () => down());
    subscriber.on('node-disconnect', () => down());
    subscriber.on('sharded-channel-moved-error', down);
    subscriber.on('node-ready', () => {
      if (this.#subscribed && !this.#closed) events.up();
    });
    void this.#subscribe(subscriber);
    this.#publisher = this.#makeCluster({});
    this.#publisher.on('error', noop);
    this.#publisher.on('node-error', noop);
  }

  /** Connects and subscribes, retrying with backoff until it succeeds or the bus closes. */
  async #subscribe(subscriber: ClusterClient): Promise<void> {
    for (let attempt = 0; !this.#closed; attempt++) {
      try {
        if (!subscriber.isOpen) await subscriber.connect();
        await subscriber.sSubscribe(this.#channel, this.#onPubSubMessage);
        if (this.#closed) return;
        this.#subscribed = true;
        this.#events!.up();
        return;
      } catch (error) {
        if (this.#closed) return;
        this.#events!.down(error);
        await sleep(reconnectDelay(attempt, this.#settings.reconnectMaxDelayMs));
      }
    }
  }

  publish(text: string, timeoutMs: number): Promise<void> {
    const publisher = this.#publisher;
    if (!publisher || this.#closed) return Promise.reject(new Error('the bus is closed'));
    if (!this.#publisherConnected) {
      this.#publisherConnected = publisher.isOpen ? Promise.resolve() : publisher.connect();
      // A failed first connection is tried again by the next publish.
      this.#publisherConnected.catch(() => (this.#publisherConnected = undefined));
    }
    const sent = this.#publisherConnected
      .then(() => publisher.sendCommand(this.#channel, false, ['SPUBLISH', this.#channel, text]))
      .then(() => undefined);
    return withDeadline(
      sent,
      timeoutMs,
      () => new Error(`SPUBLISH got no answer within ${timeoutMs} ms`),
    );
  }

  async close(): Promise<void> {
    this.#closed = true;
    const clients = [this.#subscriber, this.#publisher];
    this.#subscriber = this.#publisher = undefined;
    await Promise.all(
      clients.map(async (client) => {
        if (!client?.isOpen) return;
        await client.close().catch(() => client.destroy());
      }),
    );
  }
}
