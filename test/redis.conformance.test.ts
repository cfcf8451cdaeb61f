/**
 * The shared conformance suite against the running Redis (database 15, used by no other test file).
 */
import { runConformanceSuite } from '../src/testing/index.js';
import { makeRedisCache, probeRedis, redisRegistered, redisUrl } from './fixtures/redis-servers.js';
import { describeWithService } from './support/services.js';

const location = redisUrl(15);
const unavailable = await probeRedis();

describeWithService('Redis', unavailable, 'redis backend, single node', () => {
  runConformanceSuite({
    name: 'conformance',
    backendName: redisRegistered ? 'redis' : undefined,
    supportsSync: false,
    // A network round trip or four between storing and reading a TTL, on a machine that may be
    // busy with the other test files: more slack than the in-process default of 50 ms.
    ttlPrecisionMs: 150,
    makeCache: (overrides) => makeRedisCache({ location, ...overrides }),
  });
});
