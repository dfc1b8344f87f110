// One party's rows for a horizontal model (docs/hfl.md): its own customers whose consent covers the job's purpose
// for every other party, as feature columns and a label, split into training and held-out rows. Nothing here leaves
// the party; only sums of what is computed from it do, masked.
import { createHash } from 'node:crypto';
import { GatewayError } from '../../core/errors.ts';
import { readConsentedRows } from '../jobs/consented-rows.ts';
import { partyFor } from '../jobs/consent-filter.ts';
import type { StepContext } from '../jobs/protocol.ts';
import { isHeldOut } from '../vfl/training-plan.ts';
import { featuresOf, type HflParams } from './hfl-params.ts';

export type HflData = {
  features: string[];
  /** Raw feature columns over every row kept (a missing value is NaN). */
  columns: Float64Array[];
  label: Float64Array;
  train: number[];
  test: number[];
  /** Subjects read, and those left out for consent or a missing label. */
  subjects: number;
  refused: number;
  missingLabel: number;
  /** SHA-256 over the sorted pseudonyms of the customers trained on: the consent basis this party can show. */
  consentBasisRoot: string;
};

export async function loadHflData(context: StepContext, params: HflParams): Promise<HflData> {
  const party = partyFor(context.spec, context.self);
  const features = featuresOf(party.columns, params.label);
  const read = await readConsentedRows(context, party.columns);
  const kept = read.rows.filter((row) => row[params.label] !== null && row[params.label] !== undefined);
  const numeric = (value: unknown, column: string): number => {
    if (value === null || value === undefined) return Number.NaN;
    if (typeof value !== 'number' || !Number.isFinite(value))
      throw new GatewayError('BAD_INPUT', `column ${column} is not numeric: a linear model needs numbers`, { column });
    return value;
  };
  const columns = features.map((f) => Float64Array.from(kept, (row) => numeric(row[f], f)));
  const label = Float64Array.from(kept, (row) => numeric(row[params.label], params.label));
  if (params.task === 'logistic' && label.some((y) => y !== 0 && y !== 1))
    throw new GatewayError('BAD_INPUT', `label ${params.label} must be 0 or 1 for logistic regression`);
  const train: number[] = [];
  const test: number[] = [];
  kept.forEach((_, i) => (isHeldOut(i, params.testPercent) ? test : train).push(i));
  const basis = createHash('sha256');
  for (const subject of train.map((i) => String(kept[i]?.subject)).sort()) basis.update(`${subject}\n`);
  return {
    features,
    columns,
    label,
    train,
    test,
    subjects: read.subjects,
    refused: read.refused,
    missingLabel: read.rows.length - kept.length,
    consentBasisRoot: basis.digest('hex'),
  };
}
