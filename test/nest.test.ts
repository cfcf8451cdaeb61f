/**
 * A real NestJS application (Fastify platform, listening on a port) with
 * `CacheModule.register({ stores: [new Keyv({ store: new KeyvSkycache(cache) })] })`: the
 * `CacheInterceptor` serves a route's second request from skycache, and a service gets the
 * cache-manager through `@Inject(CACHE_MANAGER)`. Runs on the memory and Redis backends.
 *
 * How the decorators are applied: Nest's decorators are legacy (`experimentalDecorators`) ones.
 * This repository compiles standard decorators (its `@cached` is one), `tsc --noEmit` checks the
 * test folder with those settings, where a parameter decorator is an error (TS1206), and vitest's
 * esbuild transform emits no `design:paramtypes` metadata either way. So the app below applies
 * Nest's decorators as the calls `tsc --experimentalDecorators` emits for `@Controller()`,
 * `@Get()`, `@Inject()`…, with every injection token explicit; an application writes the usual
 * `@` syntax (docs/keyv.md shows it). Nest reads the same metadata either way.
 */
import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import {
  CACHE_MANAGER,
  CacheInterceptor,
  CacheModule,
  type Cache as CacheManager,
} from '@nestjs/cache-manager';
import {
  Controller,
  Get,
  Inject,
  Injectable,
  Module,
  Param,
  type Type,
  UseInterceptors,
  type INestApplication,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import Keyv from 'keyv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Cache } from '../src/core/cache.js';
import { createCache } from '../src/core/registry.js';
import { KeyvSkycache } from '../src/integrations/keyv/index.js';
import { makeRedisCache, probeRedis, redisUrl } from './fixtures/redis-servers.js';
import { describeWithService } from './support/services.js';

// `@Decorator() class X {}`
function decorateClass(
  target: abstract new (...args: never[]) => unknown,
  ...decorators: ClassDecorator[]
): void {
  Reflect.decorate(decorators, target);
}
// `@Decorator() method() {}`
function decorateMethod(prototype: object, name: string, ...decorators: MethodDecorator[]): void {
  const descriptor = Object.getOwnPropertyDescriptor(prototype, name)!;
  Object.defineProperty(prototype, name, Reflect.decorate(decorators, prototype, name, descriptor));
}

/** The data source the controller reads; counts reads so the test can see cache hits. */
class ItemsRepository {
  reads = 0;
  find(id: string): { id: string; name: string } {
    this.reads += 1;
    return { id, name: `item ${id}` };
  }
}
decorateClass(ItemsRepository, Injectable());

// @Controller('items') @UseInterceptors(CacheInterceptor)
class ItemsController {
  // constructor(@Inject(ItemsRepository) private readonly items: ItemsRepository)
  constructor(private readonly items: ItemsRepository) {}
  // @Get(':id') show(@Param('id') id: string)
  show(id: string): { id: string; name: string } {
    return this.items.find(id);
  }
}
Inject(ItemsRepository)(ItemsController, undefined, 0);
Param('id')(ItemsController.prototype, 'show', 0);
decorateMethod(ItemsController.prototype, 'show', Get(':id'));
decorateClass(ItemsController, Controller('items'), UseInterceptors(CacheInterceptor));

/** A service that uses the cache-manager directly. */
class GreetingService {
  loads = 0;
  // constructor(@Inject(CACHE_MANAGER) private readonly cacheManager: Cache)
  constructor(readonly cacheManager: CacheManager) {}
  greet(name: string): Promise<string> {
    return this.cacheManager.wrap(
      `greeting:${name}`,
      async () => {
        this.loads += 1;
        return `hello ${name}`;
      },
      60_000, // cache-manager TTLs are milliseconds
    );
  }
}
Inject(CACHE_MANAGER)(GreetingService, undefined, 0);
decorateClass(GreetingService, Injectable());

function appModule(store: KeyvSkycache | Keyv): Type {
  class AppModule {}
  decorateClass(
    AppModule,
    Module({
      // CacheModule's `ttl` is milliseconds too: 30 s here.
      imports: [CacheModule.register({ stores: [store], ttl: 30_000 })],
      controllers: [ItemsController],
      providers: [ItemsRepository, GreetingService],
    }),
  );
  return AppModule;
}

/**
 * `bare`: `stores: [new KeyvSkycache(cache)]`, which CacheModule wraps in a Keyv of its own with no
 * namespace; otherwise `stores: [new Keyv({ store })]`, whose keys carry Keyv's `keyv:`.
 */
function nestAppOn(name: string, makeCache: () => Cache, bare = false): void {
  const ns = bare ? '' : 'keyv:';
  let cache: Cache;
  let app: INestApplication;
  let base: string;

  beforeAll(async () => {
    cache = makeCache();
    const store = new KeyvSkycache(cache);
    app = await NestFactory.create(
      appModule(bare ? store : new Keyv({ store })),
      new FastifyAdapter(),
      { logger: false },
    );
    await app.listen(0, '127.0.0.1');
    base = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  });
  afterAll(async () => {
    await app?.close();
    await cache?.clear();
    await cache?.close();
  });

  it(`serves the second request from skycache (${name})`, async () => {
    const first = await fetch(`${base}/items/7`);
    expect(first.status).toBe(200);
    expect(await first.json()).toEqual({ id: '7', name: 'item 7' });
    // The interceptor stores the response under the request URL, in Keyv's namespace.
    expect(await cache.has(`${ns}/items/7`)).toBe(true);
    const left = await cache.ttl(`${ns}/items/7`);
    expect(left).toBeGreaterThan(25);
    expect(left).toBeLessThanOrEqual(30);

    const second = await fetch(`${base}/items/7`);
    expect(await second.json()).toEqual({ id: '7', name: 'item 7' });
    expect(app.get(ItemsRepository).reads).toBe(1);

    // What the store holds is what the route answers: change it behind Nest's back.
    const raw = await cache.get<string>(`${ns}/items/7`);
    await cache.set(`${ns}/items/7`, raw!.replace('item 7', 'edited in skycache'));
    expect(await (await fetch(`${base}/items/7`)).json()).toEqual({
      id: '7',
      name: 'edited in skycache',
    });
    expect(app.get(ItemsRepository).reads).toBe(1);
  });

  it(`injects the cache-manager into a service (${name})`, async () => {
    const greetings = app.get(GreetingService);
    expect(await greetings.greet('ada')).toBe('hello ada');
    expect(await greetings.greet('ada')).toBe('hello ada');
    expect(greetings.loads).toBe(1);
    expect(await cache.has(`${ns}greeting:ada`)).toBe(true);
    expect(greetings.cacheManager).toBe(app.get(CACHE_MANAGER));
    await greetings.cacheManager.del('greeting:ada');
    expect(await cache.has(`${ns}greeting:ada`)).toBe(false);
  });
}

describe('NestJS CacheModule on a skycache memory store', () => {
  nestAppOn('memory', () => createCache({ backend: 'memory', location: `nest-${randomUUID()}` }));
});

describe('NestJS CacheModule on a bare KeyvSkycache store', () => {
  nestAppOn(
    'memory, bare store',
    () => createCache({ backend: 'memory', location: `nest-${randomUUID()}` }),
    true,
  );
});

describeWithService(
  'Redis',
  await probeRedis(),
  'NestJS CacheModule on a skycache Redis store',
  () => {
    nestAppOn('redis', () =>
      makeRedisCache({ location: redisUrl(0), keyPrefix: `nest-${randomUUID()}` }),
    );
  },
);
