// Signed event ingest over HTTP: stewards create streams (the HMAC secret is shown once) and list
// them; collectors POST events to /v1/ingest/{stream}. The ingest route keeps the raw body bytes,
// because the signature covers exactly those bytes; that parser is scoped to the ingest route alone.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { IngestReceipt, MAX_BATCH, StreamDescription } from '../../../connectors/ingest-store.ts';
import { SIGNATURE_HEADER } from '../../../connectors/ingest-signature.ts';
import { IngestStreamDeclaration } from '../../../connectors/ingest-stream.ts';
import { GatewayError } from '../../../core/errors.ts';
import { auditedConnectorChange, type ConnectorRouteContext } from './connector.routes.ts';

const STEWARD = { roles: ['data-steward', 'admin'] } as const;
const COLLECTOR = { roles: ['collector'] } as const;

const CreatedStream = z.object({
  stream: StreamDescription,
  /** Shown once. Sign each request with it; the gateway never returns it again. */
  secret: z.string(),
  signatureHeader: z.literal(SIGNATURE_HEADER),
});
const StreamList = z.object({ streams: z.array(StreamDescription) });
const IngestParams = z.strictObject({ stream: z.string().min(1).max(64) });
const IngestHeaders = z.object({ [SIGNATURE_HEADER]: z.string().max(1024).optional() });

export function registerIngestRoutes(app: FastifyInstance, ctx: ConnectorRouteContext): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const { streams } = ctx.connectors;
  const tags = ['connectors'];

  api.post(
    '/v1/connectors/streams',
    {
      config: STEWARD,
      schema: {
        summary:
          'Create an ingest stream with its event schema; the response holds the HMAC signing secret, shown only this once',
        tags,
        body: IngestStreamDeclaration,
        response: { 201: CreatedStream },
      },
    },
    async (request, reply) => {
      const created = await auditedConnectorChange({
        ctx,
        request,
        action: 'stream-create',
        name: request.body.name,
        work: () => streams.create(request.body),
        describe: (c) => ({ refs: [], detail: { fields: c.stream.declaration.fields.length } }),
      });
      return reply.code(201).send({ ...created, signatureHeader: SIGNATURE_HEADER });
    },
  );

  api.get(
    '/v1/connectors/streams',
    {
      config: STEWARD,
      schema: {
        summary: 'Every ingest stream: its event schema and stored event count (never the secret)',
        tags,
        response: { 200: StreamList },
      },
    },
    async () => ({ streams: await streams.list() }),
  );

  // An encapsulated scope: the buffer parser below replaces JSON parsing for this route only.
  void app.register(async (scope) => {
    scope.removeContentTypeParser('application/json');
    scope.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
    scope.withTypeProvider<ZodTypeProvider>().post(
      '/v1/ingest/:stream',
      {
        config: COLLECTOR,
        schema: {
          summary:
            `Append one event or a batch of up to ${MAX_BATCH}, signed with ${SIGNATURE_HEADER}: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, t + "." + raw body)>. ` +
            '202 means the events are committed to disk; a stored eventId rejects the whole batch with 409.',
          tags,
          params: IngestParams,
          headers: IngestHeaders,
          response: { 202: IngestReceipt },
        },
      },
      async (request, reply) => {
        const raw = request.body;
        if (!Buffer.isBuffer(raw)) throw new GatewayError('BAD_INPUT', 'request body is empty');
        const receipt = await streams.ingest(request.params.stream, raw, request.headers[SIGNATURE_HEADER]);
        return reply.code(202).send(receipt);
      },
    );
  });
}
