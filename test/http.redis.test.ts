/**
 * The HTTP caching scenarios against Redis (the shared server of the Redis tests, database 11),
 * through the Express adapter: every process of an app shares these entries, so everything an
 * entry needs (envelope, path namespaces, tag tokens) lives in the store. Skipped with a message
 * when Redis is not reachable; CI (SKYCACHE_REQUIRE_SERVICES=1) fails instead.
 */
import { randomUUID } from 'node:crypto';
import { makeRedisCache, probeRedis, redisUrl } from './fixtures/redis-servers.js';
import { expressHarness } from './http.harness.js';
import { describeHttpCaching } from './http.scenarios.js';
import { describeWithService } from './support/services.js';

const unavailable = await probeRedis();

describeWithService('Redis', unavailable, 'HTTP caching on Redis', () => {
  describeHttpCaching(expressHarness, {
    cacheName: 'redis',
    // A prefix per test: the scenarios count entries and must not see another test's.
    makeCache: () => makeRedisCache({ location: redisUrl(10), keyPrefix: `http-${randomUUID()}` }),
  });
});
