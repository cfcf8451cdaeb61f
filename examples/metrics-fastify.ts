/**
 * Prometheus metrics for every configured cache, served by Fastify at /metrics.
 * Run: npx tsx examples/metrics-fastify.ts, then curl http://127.0.0.1:3000/metrics
 * (In your own code, import from 'skycache' and 'skycache/prometheus'.)
 */
import Fastify from 'fastify';
import { collectDefaultMetrics, register } from 'prom-client';
import { caches, initCaches } from '../src/index.js';
import { registerMetrics } from '../src/integrations/prometheus/index.js';

initCaches({ default: 'memory://app', sessions: 'memory://sessions' });
collectDefaultMetrics();
registerMetrics(); // every alias, on prom-client's default registry, labelled cache="<alias>"

const app = Fastify();
app.get('/metrics', async (_request, reply) =>
  reply.type(register.contentType).send(await register.metrics()),
);
app.get('/items/:id', async (request) => {
  const { id } = request.params as { id: string };
  return caches.get().getOrSet(`item:${id}`, () => ({ id, at: Date.now() }), '30s');
});

await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT ?? 3000) });
console.log('try: curl http://127.0.0.1:3000/items/1 && curl http://127.0.0.1:3000/metrics');
