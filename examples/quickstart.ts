/**
 * A tour of skycache on the embedded memory backend: no Redis needed.
 * Run: npm run example
 * (In your own code, import from 'skycache'.)
 */
import { cache, caches, createCache, initCaches, KeyNotFoundError } from '../src/index.js';

const c = createCache('memory://quickstart?keyPrefix=app&timeout=5m');

await c.set('user:1', { name: 'Ada', roles: ['admin'] });
console.log('set user:1, stored under', JSON.stringify(c.makeKey('user:1')));
console.log('get user:1 →', await c.get('user:1'));
console.log('ttl user:1 →', Math.round((await c.ttl('user:1'))!), 's left (default timeout 5m)');

let builds = 0;
const buildReport = async () => {
  builds++;
  await new Promise((resolve) => setTimeout(resolve, 20));
  return { total: 42, builtAt: new Date().toISOString() };
};
const reports = await Promise.all(
  Array.from({ length: 10 }, () => c.getOrSet('report', buildReport, '30s')),
);
console.log(
  `getOrSet by 10 concurrent callers → loader ran ${builds} time(s); all got total=${reports[0]!.total}`,
);

await c.setMany({ 'dict_options:colors': ['red'], 'dict_options:sizes': ['S', 'M'], other: 1 });
const found: string[] = [];
for await (const key of c.keys('dict_options:*')) found.push(key);
console.log('keys dict_options:* →', found.sort());
console.log('deletePattern dict_options:* removed', await c.deletePattern('dict_options:*'));

await c.set('token_version:7', 1, null);
await c.incr('token_version:7');
console.log('token_version:7 after incr →', await c.get('token_version:7'), '(never expires)');
try {
  await c.incr('missing');
} catch (error) {
  if (error instanceof KeyNotFoundError) console.log('incr of a missing key →', error.code);
}

const roles = c.namespace('role');
await roles.set('R_HR_ADMIN:menus', [1, 2, 3]);
console.log('namespace key →', roles.makeKey('R_HR_ADMIN:menus'));

initCaches({
  default: 'memory://',
  sessions: { backend: 'memory', keyPrefix: 's', timeout: null },
});
await cache.set('hits', 0);
await cache.incr('hits');
console.log(
  'registry aliases →',
  caches.aliases(),
  '; default cache hits =',
  await cache.get('hits'),
);
console.log('stats of the first cache →', c.stats());
