// Multi-party jobs over HTTP (docs/jobs.md): the steward's API (/v1/jobs) and the signed gateway-to-gateway calls
// that run them (/peer/v1/jobs, docs/peer-protocol.md). Handlers are thin: the job runner does the work.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { JobId, JobRequest } from '../../../mpc/jobs/job.ts';
import type { GatewayContext } from '../../services/context.ts';
import { GatewayError } from '../../../core/errors.ts';
import {
  CancelBody,
  CompleteBody,
  FailBody,
  JOB_PEER_PATHS,
  MessageQuery,
  PeerAck,
  ProposalAnswer,
  ProposalBody,
  ReportBody,
  ResumeBody,
  StartBody,
} from '../../../mpc/jobs/job-peer.ts';
import type { JobRunner } from '../../../mpc/jobs/runner.ts';
import { JobOutputSummary, JobResultDocument } from '../../../mpc/jobs/store.ts';
import { JobList, JobView } from '../../../mpc/jobs/view.ts';
import { formatTraceparent } from '../../../core/trace-context.ts';
import { askerOf } from './request-actor.ts';

/** What these routes need from the gateway context. */
export type JobRouteContext = Pick<GatewayContext, 'peers'> & { jobs: JobRunner };

const STEWARD = { roles: ['data-steward', 'admin'] } as const;
const READ = { roles: ['data-steward', 'compliance-officer', 'admin'] } as const;
const PEER = { peer: true } as const;

const JobParams = z.strictObject({ id: JobId });
const ListQuery = z.strictObject({ limit: z.coerce.number().int().min(1).max(500).default(50) });
const OutputQuery = z.strictObject({
  offset: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(100_000).default(10_000),
});
export const JobOutputView = z.object({
  id: z.string(),
  /** The protocol's output mode (PSI: intersection or cardinality). */
  mode: z.string(),
  count: z.int().nullable(),
  offset: z.int(),
  /** Rows of the output, as pseudonyms of this gateway's own subjects (PSI: the intersection, in the shared order). */
  subjects: z.array(z.string()).nullable(),
  /** Numeric results, for a protocol whose output is a few numbers. */
  values: JobOutputSummary.shape.values,
  /** The protocol's structured result (joint statistics: aggregates by group; models: metrics), or null. */
  result: JobResultDocument.nullable(),
});

const traceOf = (request: FastifyRequest) => (request.trace === null ? undefined : formatTraceparent(request.trace));
/**
 * The verified caller of a peer job route (the guard has run, so it is present); the job it names becomes a ref of
 * the call's audit entry, so the exchange can be found from the job.
 */
const peerOf = (request: FastifyRequest, job: string): string => {
  if (request.peer === null) throw new GatewayError('FORBIDDEN', 'route declares no access policy');
  request.peer.refs = [job];
  return request.peer.id;
};

export function registerJobRoutes(app: FastifyInstance, ctx: JobRouteContext): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const { jobs } = ctx;
  const tags = ['jobs'];

  api.post(
    '/v1/jobs',
    {
      config: STEWARD,
      schema: {
        summary:
          'Submit a multi-party job with this gateway as guest: checked here, then proposed to every party, then run step by step',
        tags,
        body: JobRequest,
        response: { 201: JobView },
      },
    },
    async (request, reply) => reply.code(201).send(await jobs.submit(request.body, askerOf(request), traceOf(request))),
  );

  api.get(
    '/v1/jobs',
    {
      config: READ,
      schema: {
        summary: 'Recent jobs at this gateway, newest first',
        tags,
        querystring: ListQuery,
        response: { 200: JobList },
      },
    },
    async (request) => ({
      jobs: (await jobs.list(request.query.limit)).map(({ timeline: _t, spec, ...rest }) => ({
        ...rest,
        purpose: spec.purpose,
        parties: spec.parties.map((p) => p.id),
      })),
    }),
  );

  api.get(
    '/v1/jobs/:id',
    {
      config: READ,
      schema: {
        summary:
          "A job: status, every party's timeline with timings, byte counts and rows, live progress, failure code",
        tags,
        params: JobParams,
        response: { 200: JobView },
      },
    },
    async (request) => jobs.get(request.params.id),
  );

  api.post(
    '/v1/jobs/:id/cancel',
    {
      config: STEWARD,
      schema: { summary: 'Cancel a job here and at every party', tags, params: JobParams, response: { 200: JobView } },
    },
    async (request) => jobs.cancel(request.params.id, askerOf(request)),
  );

  api.post(
    '/v1/jobs/:id/resume',
    {
      config: STEWARD,
      schema: {
        summary:
          'Resume a job that failed because a party was unreachable, from its last completed step (coordinator only)',
        tags,
        params: JobParams,
        response: { 200: JobView },
      },
    },
    async (request) => jobs.resume(request.params.id, askerOf(request)),
  );

  api.get(
    '/v1/jobs/:id/output',
    {
      config: STEWARD,
      schema: {
        summary:
          "The job's output at this receiver: the intersection as this gateway's own pseudonyms, or the cardinality only",
        tags,
        params: JobParams,
        querystring: OutputQuery,
        response: { 200: JobOutputView },
      },
    },
    async (request) => jobs.output(request.params.id, request.query.offset, request.query.limit, askerOf(request)),
  );

  void app.register(async (scope) => {
    ctx.peers.auth.install(scope);
    const peerApi = scope.withTypeProvider<ZodTypeProvider>();
    const ptags = ['peer protocol'];
    const ack = { 200: PeerAck };
    /** A signed job call that carries a JSON body and is answered with an acknowledgement. */
    const peerCall = <Body extends z.ZodType>(summary: string, body: Body) => ({
      config: PEER,
      schema: { summary, tags: ptags, body, response: ack },
    });

    peerApi.post(
      JOB_PEER_PATHS.propose,
      {
        config: PEER,
        schema: {
          summary: 'Propose a job; the party checks it under its own rules and accepts or declines',
          tags: ptags,
          body: ProposalBody,
          response: { 200: ProposalAnswer },
        },
      },
      async (request) =>
        jobs.peer.propose(peerOf(request, request.body.spec.id), request.body.spec, traceOf(request) ?? ''),
    );

    peerApi.post(
      JOB_PEER_PATHS.start,
      peerCall('Start an attempt at a step (coordinator to participant); idempotent per attempt', StartBody),
      async (request) => {
        await jobs.peer.start(
          peerOf(request, request.body.job),
          request.body.job,
          request.body.step,
          request.body.attempt,
        );
        return { ok: true };
      },
    );

    peerApi.post(
      JOB_PEER_PATHS.report,
      {
        config: PEER,
        schema: {
          summary: 'Report how an attempt ended (participant to coordinator)',
          tags: ptags,
          body: ReportBody,
          response: ack,
        },
      },
      async (request) => ({
        ok: true,
        ...(await jobs.peer.report(
          peerOf(request, request.body.job),
          request.body.job,
          request.body.step,
          request.body,
        )),
      }),
    );

    peerApi.post(
      JOB_PEER_PATHS.messages,
      {
        config: PEER,
        // The body is one protocol frame (application/octet-stream), checked by the protocol's step, not by a schema.
        schema: {
          summary: 'One framed protocol message of an attempt (for PSI, a bucket of blinded points)',
          tags: ptags,
          querystring: MessageQuery,
          response: ack,
        },
      },
      async (request) => {
        if (!Buffer.isBuffer(request.body))
          throw new GatewayError('UNSUPPORTED_MEDIA_TYPE', 'a PSI message is application/octet-stream');
        return {
          ok: true,
          ...(await jobs.peer.message(
            peerOf(request, request.query.job),
            request.query.job,
            request.query.attempt,
            request.body,
          )),
        };
      },
    );

    peerApi.post(
      JOB_PEER_PATHS.fail,
      peerCall('The job failed, with its stable code: every party records the same failure', FailBody),
      async (request) => {
        await jobs.peer.fail(
          peerOf(request, request.body.job),
          request.body.job,
          request.body.failure,
          request.body.epoch,
        );
        return { ok: true };
      },
    );

    peerApi.post(
      JOB_PEER_PATHS.cancel,
      peerCall('Cancel the job (a participant asks the coordinator, the coordinator tells everyone)', CancelBody),
      async (request) => {
        await jobs.peer.cancel(peerOf(request, request.body.job), request.body.job);
        return { ok: true };
      },
    );

    peerApi.post(
      JOB_PEER_PATHS.complete,
      peerCall('Every step is done at every party: the job is completed', CompleteBody),
      async (request) => {
        await jobs.peer.complete(peerOf(request, request.body.job), request.body.job);
        return { ok: true };
      },
    );

    peerApi.post(
      JOB_PEER_PATHS.resume,
      peerCall('Resume from a step after a reachability failure or a restart', ResumeBody),
      async (request) => {
        await jobs.peer.resume(
          peerOf(request, request.body.job),
          request.body.job,
          request.body.fromStep,
          request.body.epoch,
        );
        return { ok: true };
      },
    );
  });

  // Interrupted jobs resume once this gateway can be reached: the participants' answers must find it listening.
  app.addHook('onListen', async () => {
    void jobs.recover().catch((error: unknown) => app.log.error({ err: error }, 'could not recover interrupted jobs'));
  });
}
