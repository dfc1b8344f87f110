// Lift certificates as a service (docs/valuation.md, "Lift certificates"): check the request and its outputs, run
// one vertical model job per planned subset of dimensions (one at a time: each already uses both cores), then sign
// the certificate as a statement and record its hash in the audit log, whose anchoring puts it on chain. The jobs
// are the runtime's durable jobs; this module keeps which job measures which subset, so a restarted gateway picks
// the certificate up where it stood.
import { randomUUID } from 'node:crypto';
import {
  signStatement,
  statementHash,
  type AnchoredStatement,
  type StatementProof,
} from '../consent/anchored-statement.ts';
import type { Signer } from '../consent/signer.ts';
import type { Clock } from '../core/clock.ts';
import { GatewayError } from '../core/errors.ts';
import { parseRequest } from './parse-request.ts';
import type { JobAskerToken, JobRunner } from '../mpc/jobs/runner.ts';
import type { JobView } from '../mpc/jobs/view.ts';
import { defaultErrorMetric } from '../mpc/vfl/error-metrics.ts';
import {
  certificateBody,
  LIFT_CERTIFICATE_CONTEXT,
  LiftCertificateBody,
  VflJobResult,
  type MeasuredSubset,
} from './lift-certificate.ts';
import {
  CERTIFICATE_OUTPUTS,
  LiftCertificateRequest,
  planSubsets,
  subsetJobRequest,
} from './lift-certificate-request.ts';
import type {
  CertificateFailure,
  LiftCertificateStore,
  PlannedJob,
  StoredCertificate,
} from './lift-certificate-store.ts';
import { outputRefusedError, refusedOutput } from './output-check.ts';

export type CertificateView = Omit<StoredCertificate, 'request' | 'jobs'> & {
  request: LiftCertificateRequest;
  jobs: (PlannedJob & { status: string | null })[];
};

export type LiftCertificates = {
  /**
   * Checks the request, submits the job for the whole package (so the runner's admission answers now: COLUMN_DENIED,
   * CONSENT_DENIED, BAD_INPUT) and runs the rest in the background. Throws BAD_INPUT, OUTPUT_REFUSED, NOT_FOUND.
   */
  create(input: unknown, asker: JobAskerToken): Promise<CertificateView>;
  /** NOT_FOUND for an unknown id. */
  get(certificateId: string): Promise<CertificateView>;
  list(packageId: string, limit: number): Promise<CertificateView[]>;
  /** The signed certificate and its audit entry's receipt. CONFLICT while it runs or after it failed. */
  proof(certificateId: string): Promise<StatementProof>;
  /** The body and statement hash of an issued certificate; null when unknown, running or failed. */
  issued(certificateId: string): Promise<{ body: LiftCertificateBody; statementHash: string } | null>;
  /** Resolves once the certificate is issued or failed (tests and the CLI). */
  settled(certificateId: string): Promise<CertificateView>;
  /** Picks up certificates a stop interrupted: their jobs resume in the runner; this waits for them again. */
  recover(): Promise<void>;
  /** Stops recording outcomes: what a stop interrupts stays running on disk and resumes at the next start. */
  close(): Promise<void>;
};

export type LiftCertificatesOptions = {
  partyId: string;
  store: LiftCertificateStore;
  clock: Clock;
  signer: Pick<Signer, 'keyId' | 'publicKey' | 'sign'>;
  jobs: Pick<JobRunner, 'submit' | 'get' | 'settled' | 'output'>;
  /** Writes an audit entry of kind `valuation`; returns its seq. */
  audit(entry: {
    actor: string;
    action: string;
    outcome: 'ok' | 'deny' | 'error';
    refs: string[];
    detail: Record<string, string | number | null>;
  }): Promise<{ seq: number }>;
  /** The receipt of an audit entry (consent/receipt.ts). */
  receipt(seq: number): Promise<unknown>;
  /** Whether the token that asked is still live: a revoked token's certificate submits no further job. */
  isTokenLive(tokenId: string): Promise<boolean>;
  log: { warn(object: object, message: string): void };
};

/** What the store keeps as a certificate's request: the parsed request and who asked, for the jobs it submits. */
type StoredRequest = { input: LiftCertificateRequest; asker: JobAskerToken };

class CertificateFailed extends Error {
  readonly failure: CertificateFailure;
  constructor(failure: CertificateFailure) {
    super(failure.message);
    this.failure = failure;
  }
}

export function createLiftCertificates(options: LiftCertificatesOptions): LiftCertificates {
  const { store, clock, jobs, partyId } = options;
  const running = new Map<string, Promise<void>>();
  let isClosing = false;

  const requestOf = (row: StoredCertificate): StoredRequest => {
    const stored = row.request as { input: unknown; asker: JobAskerToken };
    return { input: LiftCertificateRequest.parse(stored.input), asker: stored.asker };
  };

  const viewOf = async (row: StoredCertificate): Promise<CertificateView> => {
    const statuses = await Promise.all(
      row.jobs.map((j) =>
        j.jobId === null
          ? null
          : jobs.get(j.jobId).then(
              (v) => v.status,
              () => 'unknown',
            ),
      ),
    );
    return {
      ...row,
      request: requestOf(row).input,
      jobs: row.jobs.map((j, i) => ({ ...j, status: statuses[i] ?? null })),
    };
  };

  const find = async (certificateId: string): Promise<StoredCertificate> => {
    const row = await store.get(certificateId);
    if (row === null) throw new GatewayError('NOT_FOUND', 'no such lift certificate', { certificateId });
    return row;
  };

  /** The PSI job the certificate's jobs align on: completed, led by this gateway, with every dimension's holder. */
  const alignmentOf = async (request: LiftCertificateRequest): Promise<JobView> => {
    const psi = await jobs.get(request.psiJob);
    const refuse = (why: string) =>
      new GatewayError('BAD_INPUT', `psiJob ${request.psiJob}: ${why}`, { psiJob: request.psiJob });
    if (psi.spec.protocol !== 'psi') throw refuse('not a PSI job');
    if (psi.status !== 'completed') throw refuse(`the job is ${psi.status}, not completed`);
    if (psi.spec.parties.find((p) => p.role === 'guest')?.id !== partyId)
      throw refuse('this gateway was not its guest');
    for (const d of request.dimensions) {
      const holder = psi.spec.parties.find((p) => p.id === d.party);
      if (holder === undefined || holder.role === 'guest')
        throw new GatewayError('BAD_INPUT', `dimension ${d.id}: ${d.party} is not a host of the PSI job`, {
          dimension: d.id,
          party: d.party,
        });
    }
    return psi;
  };

  const submit = async (request: LiftCertificateRequest, psi: JobView, dimensions: string[], asker: JobAskerToken) =>
    (await jobs.submit(subsetJobRequest(request, psi.spec, { dimensions }), asker)).id;

  const measure = async (row: StoredCertificate): Promise<void> => {
    const { input: request, asker } = requestOf(row);
    const psi = await jobs.get(request.psiJob);
    const planned = [...row.jobs];
    const measured: MeasuredSubset[] = [];
    for (let i = 0; i < planned.length; i++) {
      const job = planned[i] as PlannedJob;
      let jobId = job.jobId;
      if (jobId === null) {
        if (!(await options.isTokenLive(asker.tokenId)))
          throw new CertificateFailed({
            code: 'FORBIDDEN',
            message: 'the token that asked for the certificate was revoked: no further job is submitted for it',
            jobId: null,
          });
        jobId = await submit(request, psi, job.dimensions, asker);
        planned[i] = { ...job, jobId };
        await store.setJobs(row.certificateId, planned);
      }
      const view = await jobs.settled(jobId);
      if (view.status !== 'completed')
        throw new CertificateFailed({
          code: view.failure?.code ?? 'JOB_FAILED',
          message: `the job measuring ${job.dimensions.join(', ')} ended ${view.status}: ${view.failure?.message ?? ''}`,
          jobId,
        });
      const output = await jobs.output(jobId, 0, 0, asker);
      const result = VflJobResult.safeParse(output.result);
      if (!result.success)
        throw new CertificateFailed({ code: 'INTERNAL', message: 'a job left no lift to certify', jobId });
      measured.push({ subset: { dimensions: job.dimensions }, jobId, result: result.data, view });
    }
    const body = certificateBody(
      request,
      {
        issuer: partyId,
        certificateId: row.certificateId,
        issuedAt: clock.now().toISOString(),
        purpose: request.purpose ?? psi.spec.purpose,
        errorMetric: request.target.errorMetric ?? defaultErrorMetric(request.target.model),
      },
      measured,
    );
    const statement: AnchoredStatement = signStatement(LIFT_CERTIFICATE_CONTEXT, body, options.signer);
    const hash = statementHash(statement.context, statement.body);
    // A stop between the audit entry and the store's update signs again at the next start: a second entry, with
    // another issuedAt, then records the certificate that is kept. The first names a statement nobody was given.
    const { seq } = await options.audit({
      actor: `token:${asker.tokenId}`,
      action: 'lift-certificate-issue',
      outcome: 'ok',
      refs: [row.certificateId, ...measured.map((m) => m.jobId)],
      detail: { packageId: row.packageId, statementHash: hash },
    });
    await store.issue(row.certificateId, { statement, statementHash: hash, auditSeq: seq });
  };

  const start = (row: StoredCertificate): void => {
    const work = measure(row).catch(async (error: unknown) => {
      // A stop interrupts the waits; the certificate stays running and the next start picks it up.
      if (isClosing) return;
      const failure: CertificateFailure =
        error instanceof CertificateFailed
          ? error.failure
          : error instanceof GatewayError
            ? { code: error.code, message: error.message, jobId: null }
            : { code: 'INTERNAL', message: 'the certificate could not be completed', jobId: null };
      if (!(error instanceof CertificateFailed || error instanceof GatewayError))
        options.log.warn({ err: error, certificateId: row.certificateId }, 'lift certificate failed');
      await store.fail(row.certificateId, failure);
      await options.audit({
        actor: 'gateway',
        action: 'lift-certificate-fail',
        outcome: 'error',
        refs: [row.certificateId, ...(failure.jobId === null ? [] : [failure.jobId])],
        detail: { packageId: row.packageId, code: failure.code },
      });
    });
    const tracked = work.finally(() => running.delete(row.certificateId));
    running.set(row.certificateId, tracked);
  };

  return {
    async create(raw, asker) {
      const request = parseRequest(LiftCertificateRequest, raw, 'a lift certificate request');
      const refusal = refusedOutput(request.outputs, CERTIFICATE_OUTPUTS);
      if (refusal !== null) {
        await options.audit({
          actor: `token:${asker.tokenId}`,
          action: 'output-refused',
          outcome: 'deny',
          refs: [request.psiJob],
          detail: { packageId: request.packageId, output: refusal.output, rule: refusal.rule },
        });
        throw outputRefusedError(refusal, 'lift certificate');
      }
      if (!request.outputs.includes('error-metrics'))
        throw new GatewayError('BAD_INPUT', 'a lift certificate returns error-metrics: ask for them', {
          outputs: request.outputs,
        });
      const psi = await alignmentOf(request);
      const plan = planSubsets(request);
      const certificateId = randomUUID();
      // The whole package's job first, before anything is stored: its admission refuses what the others would too.
      const first = await submit(request, psi, (plan[0] as { dimensions: string[] }).dimensions, asker);
      const planned = plan.map((s, i) => ({ dimensions: s.dimensions, jobId: i === 0 ? first : null }));
      const stored: StoredRequest = { input: request, asker };
      await store.insert({
        certificateId,
        packageId: request.packageId,
        createdAt: clock.now().toISOString(),
        createdBy: `token:${asker.tokenId}`,
        request: stored,
        jobs: planned,
      });
      await options.audit({
        actor: `token:${asker.tokenId}`,
        action: 'lift-certificate-request',
        outcome: 'ok',
        refs: [certificateId, request.psiJob, first],
        detail: { packageId: request.packageId, subsets: plan.length },
      });
      const row = await find(certificateId);
      start(row);
      return viewOf(row);
    },
    get: async (certificateId) => viewOf(await find(certificateId)),
    list: async (packageId, limit) => Promise.all((await store.listByPackage(packageId, limit)).map(viewOf)),
    async proof(certificateId) {
      const row = await find(certificateId);
      if (row.status !== 'issued' || row.statement === null || row.auditSeq === null)
        throw new GatewayError('CONFLICT', `the lift certificate is ${row.status}, not issued`, {
          certificateId,
          status: row.status,
        });
      return { statement: row.statement, receipt: await options.receipt(row.auditSeq) };
    },
    async issued(certificateId) {
      const row = await store.get(certificateId);
      if (row?.status !== 'issued' || row.statement === null || row.statementHash === null) return null;
      return { body: LiftCertificateBody.parse(row.statement.body), statementHash: row.statementHash };
    },
    async settled(certificateId) {
      const row = await find(certificateId);
      // Running on disk but not here yet (a start's recovery has not reached it): pick it up now.
      if (row.status === 'running' && !running.has(certificateId) && !isClosing) start(row);
      await running.get(certificateId);
      return viewOf(await find(certificateId));
    },
    async recover() {
      for (const row of await store.running()) if (!running.has(row.certificateId)) start(row);
    },
    async close() {
      // Not awaited: a certificate waits on jobs that end only after the next start. What is on disk resumes then.
      isClosing = true;
    },
  };
}
