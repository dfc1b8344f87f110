// Consent lifecycle over HTTP: grant, read, withdraw, revoke, renew, supersede, subject history,
// pseudonymization and the bulk consent filter. Handlers are thin: the consent log does the work.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { pseudonymize } from '../../../consent/pseudonym.ts';
import type { CommandContext, RecordResult } from '../../../consent/consent-log.ts';
import type { GatewayContext } from '../../services/context.ts';
import {
  ConsentRecordView,
  ConsentWriteResult,
  FilterRequest,
  FilterResponse,
  IdempotencyHeaders,
  PseudonymRequest,
  PseudonymResponse,
  ReasonBody,
  RecordIdParams,
  SubjectHistory,
  SubjectParams,
} from './consent-schemas.ts';
import { ConsentGrantInput, RenewInput } from '../../../consent/record.ts';
import { declaredFieldsSerializerCompiler } from '../response-serializer.ts';
import { isGatewayError } from '../../../core/errors.ts';
import type { ConsentWriteKind } from '../metrics.ts';

/** Collectors record consent; stewards and admins manage it; officers read it. */
const WRITE = { roles: ['collector', 'data-steward', 'admin'] } as const;
const READ = { roles: ['collector', 'data-steward', 'compliance-officer', 'admin'] } as const;
const STEWARD = { roles: ['data-steward', 'admin'] } as const;

/** Who did it, as recorded in the event and audit log: the token id, never the token. */
export function commandContext(request: FastifyRequest): CommandContext {
  const key = request.headers['idempotency-key'];
  return {
    actor: `token:${request.principal?.tokenId ?? 'unknown'}`,
    ...(typeof key === 'string' ? { idempotencyKey: key } : {}),
  };
}

export function registerConsentRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const { consent } = ctx;
  const tags = ['consent'];

  /**
   * Makes one write through the consent log and adds the signed pending receipt of its last event (for supersede: the
   * new grant). The write is counted for /metrics by kind and outcome, 'ok' or the error code; a request refused before
   * the handler (authentication, validation) made no write, and only the request histogram has it.
   */
  const write = async (kind: ConsentWriteKind, command: () => Promise<RecordResult>) => {
    let result: RecordResult;
    try {
      result = await command();
    } catch (error) {
      ctx.metrics.consentWrites.inc({ kind, outcome: isGatewayError(error) ? error.code : 'INTERNAL' });
      throw error;
    }
    ctx.metrics.consentWrites.inc({ kind, outcome: 'ok' });
    const last = result.events.at(-1);
    // The write's own event is among the newest, so this is a memory read (a replayed write may read the store).
    const event = last === undefined ? undefined : (await consent.eventsAt([last.seq]))[0];
    return event === undefined ? result : { ...result, receipt: await ctx.ledger.receipts.pendingReceiptFor(event) };
  };

  api.post(
    '/v1/consents',
    {
      config: WRITE,
      // Built by the consent log's typed code: written with the declared fields only, not re-validated.
      serializerCompiler: declaredFieldsSerializerCompiler,
      schema: {
        summary:
          'Grant consent. Give subjectId (pseudonymized here, never stored) or subject. 201 means the signed event is on disk.',
        tags,
        headers: IdempotencyHeaders,
        body: ConsentGrantInput,
        response: { 201: ConsentWriteResult },
      },
    },
    async (request, reply) =>
      reply.code(201).send(await write('grant', () => consent.grantParsed(request.body, commandContext(request)))),
  );

  api.get(
    '/v1/consents/:id',
    {
      config: READ,
      schema: {
        summary: 'A consent record, its current status and its signed event history',
        tags,
        params: RecordIdParams,
        response: { 200: ConsentRecordView },
      },
    },
    async (request) => consent.getRecord(request.params.id),
  );

  api.post(
    '/v1/consents/:id/withdraw',
    {
      config: WRITE,
      serializerCompiler: declaredFieldsSerializerCompiler,
      schema: {
        summary: 'Withdraw consent (by or for the subject); effective at the next decision',
        tags,
        params: RecordIdParams,
        headers: IdempotencyHeaders,
        body: ReasonBody.optional(),
        response: { 200: ConsentWriteResult },
      },
    },
    async (request) =>
      write('withdraw', () => consent.withdraw(request.params.id, commandContext(request), request.body?.reason)),
  );

  api.post(
    '/v1/consents/:id/revoke',
    {
      config: STEWARD,
      serializerCompiler: declaredFieldsSerializerCompiler,
      schema: {
        summary: 'Revoke consent (by the controller)',
        tags,
        params: RecordIdParams,
        headers: IdempotencyHeaders,
        body: ReasonBody.optional(),
        response: { 200: ConsentWriteResult },
      },
    },
    async (request) =>
      write('revoke', () => consent.revoke(request.params.id, commandContext(request), request.body?.reason)),
  );

  api.post(
    '/v1/consents/:id/renew',
    {
      config: WRITE,
      serializerCompiler: declaredFieldsSerializerCompiler,
      schema: {
        summary: 'Move expiresAt; purposes, categories and notice cannot change here (use supersede)',
        tags,
        params: RecordIdParams,
        headers: IdempotencyHeaders,
        body: RenewInput,
        response: { 200: ConsentWriteResult },
      },
    },
    async (request) => write('renew', () => consent.renew(request.params.id, request.body, commandContext(request))),
  );

  api.post(
    '/v1/consents/:id/supersede',
    {
      config: WRITE,
      serializerCompiler: declaredFieldsSerializerCompiler,
      schema: {
        summary:
          'Grant fresh consent that replaces this record (needed to change purpose, data categories or notice version)',
        tags,
        params: RecordIdParams,
        headers: IdempotencyHeaders,
        body: ConsentGrantInput,
        response: { 201: ConsentWriteResult },
      },
    },
    async (request, reply) =>
      reply
        .code(201)
        .send(
          await write('supersede', () => consent.supersede(request.params.id, request.body, commandContext(request))),
        ),
  );

  api.get(
    '/v1/subjects/:subject/consents',
    {
      config: READ,
      schema: {
        summary: 'Every consent record of a subject pseudonym, with full history',
        tags,
        params: SubjectParams,
        response: { 200: SubjectHistory },
      },
    },
    async (request) => ({
      subject: request.params.subject,
      records: await consent.subjectHistory(request.params.subject),
    }),
  );

  api.post(
    '/v1/subjects/pseudonyms',
    {
      config: WRITE,
      schema: {
        summary: "Turn raw subject ids into this gateway's pseudonyms (keyed HMAC); nothing is stored",
        tags,
        body: PseudonymRequest,
        response: { 200: PseudonymResponse },
      },
    },
    async (request) => ({ subjects: request.body.subjectIds.map((id) => pseudonymize(ctx.identity.subjectKey, id)) }),
  );

  api.post(
    '/v1/consents/filter',
    {
      config: STEWARD,
      schema: {
        summary: 'Keep the subjects whose consent covers (purpose, recipient, at): one set operation in DuckDB',
        tags,
        body: FilterRequest,
        response: { 200: FilterResponse },
      },
    },
    async (request) => {
      const { subjects, purpose, recipient } = request.body;
      const at = request.body.at === undefined ? ctx.clock.now() : new Date(request.body.at);
      const covered = await consent.filterSubjects(subjects, purpose, recipient, at);
      return {
        purpose,
        recipient,
        at: at.toISOString(),
        requested: subjects.length,
        covered: covered.length,
        subjects: covered,
      };
    },
  );
}
