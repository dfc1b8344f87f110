// One party's data for a vertical model: the agreed aligned rows, its own feature columns standardized over the
// training rows, and at the guest the label (standardized too for linear regression) and an intercept column.
import { createHash } from 'node:crypto';
import { GatewayError } from '../../core/errors.ts';
import type { Mailbox } from '../jobs/framed-messages.ts';
import { partyFor } from '../jobs/consent-filter.ts';
import { guestOf } from '../jobs/job.ts';
import type { StepContext } from '../jobs/protocol.ts';
import { readAlignedRows } from '../joint/aligned-rows.ts';
import { agreeOnRows, keptValues } from '../joint/alignment-exchange.ts';
import type { Task } from './linear-model.ts';
import { applyScaler, fitScaler, type Scaler } from './standardize.ts';
import { splitRows } from './training-plan.ts';
import { featuresOf, type VflParams } from './vfl-params.ts';

export type PartyData = {
  isGuest: boolean;
  /** This party's feature names; the guest's intercept column is not among them. */
  features: string[];
  /** Standardized feature columns over the kept rows, then (guest) a column of ones. */
  columns: Float64Array[];
  scaler: Scaler;
  /** Guest only: the label over the kept rows (standardized for linear regression). */
  label: Float64Array | null;
  labelScaler: { mean: number; scale: number } | null;
  /** Indexes into the kept rows. */
  train: number[];
  test: number[];
  kept: number;
  clipped: number;
  detail: {
    aligned: number;
    withdrawn: number;
    missing: number;
    droppedElsewhere: number;
    viewGeneration: number;
    viewSha256: string;
  };
  consentBasisRoot: string;
};

/** How many columns (weights) each party trains: its features, plus the intercept at the guest. */
export function columnCounts(context: Pick<StepContext, 'spec'>, params: VflParams): Map<string, number> {
  const guest = guestOf(context.spec).id;
  return new Map(
    context.spec.parties.map((p) => [
      p.id,
      featuresOf(p.columns, p.role, params.label).length + (p.id === guest ? 1 : 0),
    ]),
  );
}

export async function loadPartyData(
  context: StepContext,
  mailbox: Mailbox,
  params: VflParams,
  task: Task,
): Promise<PartyData> {
  const { spec, self } = context;
  const party = partyFor(spec, self);
  const isGuest = guestOf(spec).id === self;
  const features = featuresOf(party.columns, party.role, params.label);
  const local = await readAlignedRows(context, params.psiJob, isGuest ? [params.label, ...features] : features);
  const agreed = await agreeOnRows(context, mailbox, local, 'train.vfl');
  if (agreed.kept.length === 0)
    throw new GatewayError('JOB_ALIGNMENT_UNAVAILABLE', 'no aligned customer is left to train on');
  const numeric = (name: string) =>
    Float64Array.from(keptValues(local.values.get(name) ?? [], agreed.kept), (v) => {
      if (v === null) return Number.NaN;
      if (typeof v !== 'number')
        throw new GatewayError('BAD_INPUT', `column ${name} is not numeric: a linear model needs numbers`);
      return v;
    });
  const { train, test } = splitRows(agreed.kept, params.testPercent);
  if (train.length === 0 || test.length === 0)
    throw new GatewayError('BAD_INPUT', 'too few aligned customers to hold some out for evaluation');
  const raw = features.map(numeric);
  const scaler = fitScaler(raw, train);
  const scaled = applyScaler(scaler, raw);
  let label: Float64Array | null = null;
  let labelScaler: PartyData['labelScaler'] = null;
  if (isGuest) {
    const y = numeric(params.label);
    if (y.some((v) => Number.isNaN(v)))
      throw new GatewayError('BAD_INPUT', `label ${params.label} is empty for some aligned customers`);
    if (task === 'logistic') {
      if (y.some((v) => v !== 0 && v !== 1))
        throw new GatewayError('BAD_INPUT', `label ${params.label} must be 0 or 1`);
      label = y;
    } else {
      const fitted = fitScaler([y], train);
      labelScaler = { mean: fitted.means[0] as number, scale: fitted.scales[0] as number };
      label = y.map((v) => (v - (labelScaler as { mean: number }).mean) / (labelScaler as { scale: number }).scale);
    }
  }
  const columns = isGuest ? [...scaled.columns, new Float64Array(agreed.kept.length).fill(1)] : scaled.columns;
  const subjects = agreed.kept.length;
  // The consent basis: the customers this party trained on, as its own pseudonyms, sorted and hashed.
  const pseudonyms: string[] = [];
  for (let from = 0; from < local.rows; from += 10_000)
    pseudonyms.push(...(await context.store.readOutput(params.psiJob, from, 10_000)));
  const basis = createHash('sha256').update(`sealgate/consent-basis/${spec.purpose}`);
  for (const p of keptValues(pseudonyms, agreed.kept).sort()) basis.update(`\n${p}`);
  return {
    isGuest,
    features,
    columns,
    scaler,
    label,
    labelScaler,
    train,
    test,
    kept: subjects,
    clipped: scaled.clipped,
    detail: {
      aligned: local.rows,
      withdrawn: local.withdrawn,
      missing: local.missing,
      droppedElsewhere: agreed.droppedElsewhere,
      viewGeneration: local.dataVersion.generation,
      viewSha256: local.dataVersion.sha256,
    },
    consentBasisRoot: basis.digest('hex'),
  };
}
