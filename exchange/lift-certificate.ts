// A lift certificate (docs/valuation.md, "Lift certificates"): the measured errors a valuation rests on. The body
// names the package, the target, the split, every job with the data version each party read, the consent basis
// and, per measured subset of dimensions, the model's error, the guest-only baseline's and the reduction, each with
// its bootstrap interval. Nothing else: no row, score, feature or weight. Signed as a statement
// (consent/anchored-statement.ts) under LIFT_CERTIFICATE_CONTEXT. Pure.
import { z } from 'zod';
import type { JobView } from '../mpc/jobs/view.ts';
import { ErrorMetric } from '../mpc/vfl/error-metrics.ts';
import { medianOf } from '../valuation/distributions.ts';
import type { Quantity } from '../valuation/quantity.ts';
import type { BuyerSegment, DataPackage, ValuationRequest } from '../valuation/valuation-input.ts';
import { CertificateDimension, type LiftCertificateRequest, type PlannedSubset } from './lift-certificate-request.ts';

export const LIFT_CERTIFICATE_CONTEXT = 'sealgate/lift-certificate/v1';
export const LIFT_CERTIFICATE_VERSION = 1;

const Interval = z.strictObject({ value: z.number(), low: z.number().nullable(), high: z.number().nullable() });
export type Interval = z.infer<typeof Interval>;

/** What a vertical model job leaves at its guest (mpc/vfl/vfl-protocol.ts), as far as a certificate reads it. */
export const VflJobResult = z.object({
  lift: z.object({
    error: z.string(),
    reduction: z.number(),
    low: z.number().nullable(),
    high: z.number().nullable(),
    model: Interval,
    baseline: Interval,
  }),
  heldOut: z.int(),
  train: z.int(),
  consentBasisRoot: z.string(),
});
export type VflJobResult = z.infer<typeof VflJobResult>;

const DataVersion = z.strictObject({
  party: z.string(),
  view: z.string(),
  generation: z.int(),
  sha256: z.string(),
});

const Measurement = z.strictObject({
  dimensions: z.array(z.string()),
  jobId: z.string(),
  /** e1: the error with the guest's features and these dimensions. */
  error: Interval,
  /** The guest-only baseline this job trained on its own rows (equal across jobs unless consent changed between). */
  baseline: Interval,
  /** (baseline − error) / baseline. */
  reduction: Interval,
  rows: z.strictObject({ train: z.int(), heldOut: z.int() }).nullable(),
  /** SHA-256 over the guest's pseudonyms the job kept, with its purpose (mpc/vfl/vfl-data.ts). */
  trainingConsentRoot: z.string(),
  dataVersions: z.array(DataVersion),
});

export const LiftCertificateBody = z.strictObject({
  version: z.literal(LIFT_CERTIFICATE_VERSION),
  issuer: z.string(),
  certificateId: z.string(),
  issuedAt: z.string(),
  packageId: z.string(),
  consentBasis: z.strictObject({ root: z.string(), records: z.int(), subjects: z.int() }),
  dimensions: z.array(CertificateDimension),
  target: z.strictObject({
    label: z.string(),
    features: z.array(z.string()),
    model: z.enum(['logistic', 'linear']),
    errorMetric: ErrorMetric,
  }),
  split: z.strictObject({ psiJob: z.string(), purpose: z.string(), bootstrap: z.int() }),
  /** e0: the guest-only error of the job that measured the whole package. */
  baseline: Interval,
  /** The whole package first, then every other measured subset. */
  measurements: z.array(Measurement).min(1),
});
export type LiftCertificateBody = z.infer<typeof LiftCertificateBody>;

export type MeasuredSubset = { subset: PlannedSubset; jobId: string; result: VflJobResult; view: JobView };

/** The data version each party reported reading in the job's timeline (mpc/joint/aligned-rows.ts). */
function dataVersionsOf(view: JobView): z.infer<typeof DataVersion>[] {
  const byParty = new Map<string, z.infer<typeof DataVersion>>();
  for (const entry of view.timeline) {
    const { viewGeneration, viewSha256 } = entry.detail;
    const party = view.spec.parties.find((p) => p.id === entry.party);
    if (party === undefined || typeof viewGeneration !== 'number' || typeof viewSha256 !== 'string') continue;
    byParty.set(entry.party, { party: entry.party, view: party.view, generation: viewGeneration, sha256: viewSha256 });
  }
  return view.spec.parties.flatMap((p) => byParty.get(p.id) ?? []);
}

export function certificateBody(
  request: LiftCertificateRequest,
  header: { issuer: string; certificateId: string; issuedAt: string; purpose: string; errorMetric: ErrorMetric },
  measured: readonly MeasuredSubset[],
): LiftCertificateBody {
  const withRowCounts = request.outputs.includes('row-counts');
  const measurements = measured.map(({ subset, jobId, result, view }) => ({
    dimensions: subset.dimensions,
    jobId,
    error: result.lift.model,
    baseline: result.lift.baseline,
    reduction: { value: result.lift.reduction, low: result.lift.low, high: result.lift.high },
    rows: withRowCounts ? { train: result.train, heldOut: result.heldOut } : null,
    trainingConsentRoot: result.consentBasisRoot,
    dataVersions: dataVersionsOf(view),
  }));
  return LiftCertificateBody.parse({
    version: LIFT_CERTIFICATE_VERSION,
    issuer: header.issuer,
    certificateId: header.certificateId,
    issuedAt: header.issuedAt,
    packageId: request.packageId,
    consentBasis: request.consentBasis,
    dimensions: request.dimensions,
    target: { ...request.target, errorMetric: header.errorMetric },
    split: { psiJob: request.psiJob, purpose: header.purpose, bootstrap: request.training.bootstrap },
    baseline: (measurements[0] as (typeof measurements)[number]).baseline,
    measurements,
  });
}

/**
 * A valuation segment's errors from a certificate: e0 the baseline, e1 the whole package's error and each measured
 * subset's, every e1 a triangular distribution over its bootstrap interval (a fixed number without one), so the
 * valuation's Monte Carlo carries the measurement's uncertainty. The source cites the certificate by id and hash.
 */
export function segmentErrorsFromCertificate(
  body: LiftCertificateBody,
  certificateHash: string,
): Pick<ValuationRequest['segments'][number], 'errors' | 'subsetErrors'> {
  const asQuantity = (i: Interval) =>
    i.low === null || i.high === null || !(i.low < i.high)
      ? i.value
      : {
          kind: 'triangular' as const,
          min: Math.min(i.low, i.value),
          mode: i.value,
          max: Math.max(i.high, i.value),
        };
  const [full, ...subsets] = body.measurements;
  return {
    errors: {
      e0: body.baseline.value,
      e1: asQuantity((full as (typeof body.measurements)[number]).error),
      source: { kind: 'lift-certificate', certificateId: body.certificateId, certificateHash },
    },
    subsetErrors: subsets.map((m) => ({ dimensions: m.dimensions, e1: asQuantity(m.error) })),
  };
}

/**
 * Why a valuation segment may not cite this certificate, or null. It must be for the same package and dimensions,
 * and the medians of the segment's e0, e1 and subset errors must lie in the certificate's intervals for them (equal
 * the value when there is no interval): a citation may widen a measurement, never move it.
 */
export function citationProblem(
  segment: Pick<BuyerSegment, 'id' | 'errors' | 'subsetErrors'>,
  pkg: Pick<DataPackage, 'packageId' | 'dimensions'>,
  body: LiftCertificateBody,
): string | null {
  if (body.packageId !== pkg.packageId) return `the certificate is for package ${body.packageId}`;
  const sameDimensions = (a: readonly string[], b: readonly string[]) =>
    a.length === b.length && a.every((id) => b.includes(id));
  const packageDimensions = pkg.dimensions.map((d) => d.id);
  if (
    !sameDimensions(
      packageDimensions,
      body.dimensions.map((d) => d.id),
    )
  )
    return `the certificate measures dimensions ${body.dimensions.map((d) => d.id).join(', ')}`;
  const within = (q: Quantity, i: Interval) => {
    const m = medianOf(q);
    const slack = 1e-9 * Math.max(1, Math.abs(i.value));
    return i.low === null || i.high === null
      ? Math.abs(m - i.value) <= slack
      : m >= Math.min(i.low, i.value) - slack && m <= Math.max(i.high, i.value) + slack;
  };
  const [full] = body.measurements as [LiftCertificateBody['measurements'][number]];
  if (!within(segment.errors.e0, body.baseline)) return "its e0 lies outside the certificate's baseline interval";
  if (!within(segment.errors.e1, full.error)) return "its e1 lies outside the certificate's interval for the package";
  for (const s of segment.subsetErrors) {
    const measured = body.measurements.find((m) => sameDimensions(m.dimensions, s.dimensions));
    if (measured === undefined) return `the certificate did not measure dimensions ${s.dimensions.join(', ')}`;
    if (!within(s.e1, measured.error))
      return `its error for ${s.dimensions.join(', ')} lies outside the certificate's interval`;
  }
  return null;
}
