// `sealgate certificate ID`: a lift certificate of a running gateway as a table (docs/valuation.md, "Lift
// certificates"): per measured subset of dimensions, its job, the error with its interval and the reduction against
// the guest-only baseline; then the status and the statement hash. Exit codes: 0 printed, 1 refused or unreachable.
import { z } from 'zod';
import { LiftCertificateBody } from '../../exchange/lift-certificate.ts';
import { readGateway, renderTable, type ReadOptions } from './gateway-get.ts';

const View = z.object({
  certificateId: z.string(),
  packageId: z.string(),
  status: z.string(),
  jobs: z.array(
    z.object({ dimensions: z.array(z.string()), jobId: z.string().nullable(), status: z.string().nullable() }),
  ),
  statement: z.object({ body: LiftCertificateBody }).nullable(),
  statementHash: z.string().nullable(),
  failure: z.object({ code: z.string(), message: z.string() }).nullable(),
});

const fixed = (x: number): string => x.toFixed(4);
const interval = (i: { value: number; low: number | null; high: number | null }): string =>
  i.low === null || i.high === null ? fixed(i.value) : `${fixed(i.value)} [${fixed(i.low)}, ${fixed(i.high)}]`;
const percent = (i: { value: number; low: number | null; high: number | null }): string => {
  const p = (x: number) => `${(x * 100).toFixed(1)} %`;
  return i.low === null || i.high === null ? p(i.value) : `${p(i.value)} [${p(i.low)}, ${p(i.high)}]`;
};

export function renderCertificate(view: z.infer<typeof View>): string[] {
  const body = view.statement?.body ?? null;
  const lines = [`certificate ${view.certificateId} of package ${view.packageId}: ${view.status}`];
  if (body === null) {
    const rows = view.jobs.map((j) => [j.dimensions.join('+'), j.jobId ?? 'not submitted', j.status ?? '']);
    lines.push(...renderTable([['DIMENSIONS', 'JOB', 'STATUS'], ...rows]));
  } else {
    lines.push(`${body.target.model} model of ${body.target.label}, error: ${body.target.errorMetric.name}`);
    lines.push(`baseline (the guest's own features): ${interval(body.baseline)}`);
    const rows = body.measurements.map((m) => [
      m.dimensions.join('+'),
      interval(m.error),
      percent(m.reduction),
      m.rows === null ? '' : `${m.rows.train} / ${m.rows.heldOut}`,
      m.jobId,
    ]);
    lines.push(
      ...renderTable([['DIMENSIONS', 'ERROR [95 %]', 'REDUCTION [95 %]', 'TRAIN / HELD OUT', 'JOB'], ...rows]),
    );
    lines.push(`statement hash ${view.statementHash ?? ''}`);
  }
  if (view.failure !== null) lines.push(`failed: ${view.failure.code}: ${view.failure.message}`);
  return lines;
}

export async function showCertificate(certificateId: string, options: ReadOptions): Promise<number> {
  const view = await readGateway(`/v1/lift-certificates/${encodeURIComponent(certificateId)}`, View.parse, options);
  if (view === null) return 1;
  for (const line of renderCertificate(view)) options.io.stdout(line);
  return 0;
}
