/**
 * The bus over Redis pub/sub: a dedicated subscriber connection (a subscribed connection can do
 * nothing else) and a publisher connection, both made from the same settings as a Redis store.
 *
 * Health comes from the subscriber: `up` once `SUBSCRIBE` is confirmed, and again after each
 * reconnect (node-redis re-subscribes before it reports `ready`); `down` as soon as the driver
 * reports an error, a reconnect or the end of the connection. `CLIENT KILL TYPE pubsub` on the
 * server is therefore seen at once.
 *
 * Redis Cluster: see redis-cluster-transport.ts (sharded pub/sub); `openBus` picks it.
 */
import { ConfigError } from '../core/errors.js';
import { withDeadline } from '../core/deadline.js';
import { loadDriver, type NodeRedisClient } from '../backends/redis/client.js';
import type { RedisSettings } from '../backends/redis/options.js';
import type { BusTransport, TransportEvents } from './bus.js';

/** The subscriber's extra surface (node-redis pub/sub). */
interface SubscriberClient extends NodeRedisClient {
  subscribe(channel: string, listener: (message: string) => void): Promise<void>;
  duplicate(overrides?: Record<string, unknown>): SubscriberClient;
}

function noop(): void {}

export class RedisBusTransport implements BusTransport {
  readonly kind = 'redis';
  readonly #settings: RedisSettings;
  readonly #channel: string;
  readonly #alias: string;
  #subscriber: SubscriberClient | undefined;
  #publisher: SubscriberClient | undefined;
  #events: TransportEvents | undefined;
  #subscribed = false;
  #subscribing = false;
  #closed = false;
  readonly #onPubSubMessage = (message: string) => this.#events?.message(message);

  constructor(settings: RedisSettings, channel: string, alias: string) {
    if (settings.target.kind === 'cluster') {
      throw new ConfigError(
        `cache "${alias}": field "bus": a Redis Cluster needs the sharded pub/sub transport (openBus picks it)`,
      );
    }
    this.#settings = settings;
    this.#channel = channel;
    this.#alias = alias;
  }

  /** The subscriber's raw client (tests kill its connection). */
  get subscriberClient(): NodeRedisClient | undefined {
    return this.#subscriber;
  }

  #makeClient(): SubscriberClient {
    const target = this.#settings.target;
    // Commands fail at once while the connection is down, instead of waiting in a queue to be
    // replayed later: the bus retries publishes itself, in order.
    if (target.kind === 'given') {
      return (target.client as SubscriberClient).duplicate({ disableOfflineQueue: true });
    }
    const redis = loadDriver(this.#alias);
    return redis.createClient({
      ...(target.options as Record<string, unknown>),
      disableOfflineQueue: true,
    }) as SubscriberClient;
  }

  start(events: TransportEvents): void {
    this.#events = events;
    const subscriber = (this.#subscriber = this.#makeClient());
    const down = (reason?: unknown) => {
      if (!this.#closed) events.down(reason ?? new Error('the subscriber connection ended'));
    };
    subscriber.on('error', down);
    subscriber.on('reconnecting', () => down());
    subscriber.on('end', () => down());
    subscriber.on('ready', () => this.#onReady());
    subscriber.connect().catch(noop);
    this.#publisher = this.#makeClient();
    this.#publisher.on('error', noop);
    this.#publisher.connect().catch(noop);
  }

  #onReady(): void {
    if (this.#closed) return;
    // After a reconnect the driver has already re-subscribed before `ready`.
    if (this.#subscribed) {
      this.#events!.up();
      return;
    }
    if (this.#subscribing) return;
    this.#subscribing = true;
    this.#subscriber!.subscribe(this.#channel, this.#onPubSubMessage).then(
      () => {
        this.#subscribing = false;
        if (this.#closed) return;
        this.#subscribed = true;
        if (this.#subscriber!.isReady) this.#events!.up();
      },
      () => {
        // The connection dropped first; the next `ready` tries again.
        this.#subscribing = false;
      },
    );
  }

  publish(text: string, timeoutMs: number): Promise<void> {
    const publisher = this.#publisher;
    if (!publisher || this.#closed) return Promise.reject(new Error('the bus is closed'));
    let send = (): void => {};
    const sent = new Promise<void>((resolve, reject) => {
      send = () => {
        publisher.off('ready', send);
        publisher.sendCommand(['PUBLISH', this.#channel, text]).then(() => resolve(), reject);
      };
      // While (re)connecting, the publish waits for the connection, within the same time limit.
      if (publisher.isReady) send();
      else publisher.on('ready', send);
    });
    return withDeadline(sent, timeoutMs, () => {
      publisher.off('ready', send);
      return new Error(`PUBLISH got no answer within ${timeoutMs} ms`);
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    const clients = [this.#subscriber, this.#publisher];
    this.#subscriber = this.#publisher = undefined;
    await Promise.all(
      clients.map(async (client) => {
        if (!client?.isOpen) return;
        if (!client.isReady) {
          client.destroy();
          return;
        }
        await client.close().catch(() => client.destroy());
      }),
    );
  }
}
