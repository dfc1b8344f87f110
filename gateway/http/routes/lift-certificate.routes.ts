// Lift certificates over HTTP (docs/valuation.md, "Lift certificates"): ask for one (202: its jobs run in the
// background), follow it, list a package's, and fetch the signed certificate with its audit receipt, which
// `npm run verify -- --statement` checks against the chain.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { GatewayError } from '../../../core/errors.ts';
import { AnchoredStatement } from '../../../consent/anchored-statement.ts';
import { CertificateFailure, CertificateStatus } from '../../../exchange/lift-certificate-store.ts';
import { PackageId } from '../../../valuation/valuation-input.ts';
import type { GatewayContext } from '../../services/context.ts';
import { askerOf } from './request-actor.ts';

const WRITE = { roles: ['data-steward', 'admin'] } as const;
const READ = { roles: ['data-steward', 'compliance-officer', 'admin'] } as const;

const CertificateParams = z.strictObject({ id: z.uuid() });
const PackageParams = z.strictObject({ packageId: PackageId });
const ListQuery = z.strictObject({ limit: z.coerce.number().int().min(1).max(500).default(50) });

const CertificateView = z.object({
  certificateId: z.string(),
  packageId: z.string(),
  createdAt: z.string(),
  createdBy: z.string(),
  status: CertificateStatus,
  request: z.record(z.string(), z.unknown()),
  jobs: z.array(
    z.object({ dimensions: z.array(z.string()), jobId: z.string().nullable(), status: z.string().nullable() }),
  ),
  statement: AnchoredStatement.nullable(),
  statementHash: z.string().nullable(),
  auditSeq: z.number().int().nullable(),
  failure: CertificateFailure.nullable(),
});
const StatementProofResponse = z.object({ statement: AnchoredStatement, receipt: z.record(z.string(), z.unknown()) });

export function registerLiftCertificateRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['valuations'];
  const certificates = ctx.liftCertificates;

  api.post(
    '/v1/lift-certificates',
    {
      config: WRITE,
      bodyLimit: 256 * 1024,
      schema: {
        summary:
          "Measure a package's lift: one vertical model job per subset of its dimensions, with and without them on the same split; only error metrics, intervals and row counts leave the gateways",
        tags,
        body: z.unknown(),
        response: { 202: CertificateView },
      },
    },
    async (request, reply) => reply.code(202).send(await certificates.create(request.body, askerOf(request))),
  );

  api.get(
    '/v1/lift-certificates/:id',
    {
      config: READ,
      schema: {
        summary: 'A lift certificate: its jobs and their status, and once issued the signed certificate',
        tags,
        params: CertificateParams,
        response: { 200: CertificateView },
      },
    },
    async (request) => certificates.get(request.params.id),
  );

  api.get(
    '/v1/lift-certificates/:id/proof',
    {
      config: READ,
      schema: {
        summary:
          'The signed certificate and the receipt of the audit entry that recorded its hash (verify with npm run verify -- --statement)',
        tags,
        params: CertificateParams,
        response: { 200: StatementProofResponse },
      },
    },
    async (request) => StatementProofResponse.parse(await certificates.proof(request.params.id)),
  );

  api.get(
    '/v1/packages/:packageId/lift-certificates',
    {
      config: READ,
      schema: {
        summary: "A package's lift certificates, newest first (NOT_FOUND when this gateway never certified it)",
        tags,
        params: PackageParams,
        querystring: ListQuery,
        response: { 200: z.object({ certificates: z.array(CertificateView) }) },
      },
    },
    async (request) => {
      const listed = await certificates.list(request.params.packageId, request.query.limit);
      if (listed.length === 0)
        throw new GatewayError('NOT_FOUND', 'no lift certificate of this package', {
          packageId: request.params.packageId,
        });
      return { certificates: listed };
    },
  );

  // After the job runner's own recovery (registered before): the certificates wait on the jobs it resumes.
  app.addHook('onListen', async () => {
    void certificates
      .recover()
      .catch((error: unknown) => app.log.error({ err: error }, 'could not recover interrupted lift certificates'));
  });
}
