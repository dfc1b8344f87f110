// Baseline for the HTTP benchmark: a bare Fastify route that answers a POST with a fixed JSON body
// of the same size as a real decision, so the ratio isolates what sealgate adds per request.
import Fastify from 'fastify';

const body = process.env.BARE_BODY ?? '{}';
const app = Fastify({ logger: false });
app.post('/bare', async (_request, reply) => {
  reply.header('content-type', 'application/json; charset=utf-8');
  return body;
});
const address = await app.listen({ port: 0, host: '127.0.0.1' });
process.stdout.write(`bare listening on ${address}\n`);
