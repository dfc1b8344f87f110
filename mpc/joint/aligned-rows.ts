// The rows a joint job runs on (docs/joint-modeling.md, "Alignment"): the intersection a completed PSI job stored at
// every party in one shared order, so that aligned position k is the same customer everywhere. Each party reads its
// declared columns for those customers from its unchanged source and checks consent again for this job's purpose:
// a customer who withdrew since the PSI job, or whose row is gone, is dropped. The parties then agree on the union of
// what each dropped (alignment-exchange.ts), so position k still means one customer at every party.
import { lapsed, partyFor, recipientsOf } from '../jobs/consent-filter.ts';
import { partyOf } from '../jobs/job.ts';
import type { StepContext } from '../jobs/protocol.ts';
import { GatewayError } from '../../core/errors.ts';
import type { ColumnValue } from '../../connectors/view-reader.ts';

const PAGE = 10_000;

/** This party's view of the aligned rows before the exchange: every position's values, and those it drops. */
export type LocalAlignment = {
  /** Aligned rows of the PSI job. */
  rows: number;
  /** Per column, one value per aligned position (null where the row is gone). */
  values: Map<string, ColumnValue[]>;
  /** Positions this party drops, ascending: consent withdrawn since, or the row gone. */
  dropped: number[];
  withdrawn: number;
  missing: number;
  /** The view's generation and source digest as the read began: which data this party computed on. */
  dataVersion: { generation: number; sha256: string };
};

const unavailable = (reason: string, detail: Record<string, unknown> = {}) =>
  new GatewayError('JOB_ALIGNMENT_UNAVAILABLE', `the aligned rows are not available: ${reason}`, {
    reason,
    ...detail,
  });

/**
 * Checks that `psiJob` aligned this job's parties: a completed PSI intersection over the same views, whose output
 * reached this party, with every party of this job among its receivers.
 */
async function alignedCount(context: StepContext, psiJob: string): Promise<number> {
  const record = await context.store.get(psiJob);
  if (record === undefined) throw unavailable('no such PSI job at this party', { psiJob });
  const psi = record.spec;
  if (psi.protocol !== 'psi') throw unavailable('the named job is not a PSI job', { psiJob });
  if (record.state.status !== 'completed') throw unavailable('the PSI job has not completed', { psiJob });
  if (record.output === null || record.output.mode !== 'intersection' || record.output.count === null)
    throw unavailable('the PSI job did not leave an intersection at this party', { psiJob });
  for (const party of context.spec.parties) {
    const there = partyOf(psi, party.id);
    if (there === undefined || !psi.receivers.includes(party.id))
      throw unavailable('a party of this job did not receive the PSI output', { psiJob, party: party.id });
    if (there.view !== party.view) throw unavailable('a party reads another view than it aligned', { party: party.id });
  }
  return record.output.count;
}

/** Reads `columns` of this party's view for every aligned position and finds the positions it must drop. */
export async function readAlignedRows(
  context: StepContext,
  psiJob: string,
  columns: readonly string[],
): Promise<LocalAlignment> {
  const { spec, self } = context;
  const rows = await alignedCount(context, psiJob);
  const party = partyFor(spec, self);
  const subjects: string[] = [];
  for (let from = 0; from < rows; from += PAGE) {
    context.signal.throwIfAborted();
    subjects.push(...(await context.store.readOutput(psiJob, from, PAGE)));
  }
  if (subjects.length !== rows) throw unavailable('the stored intersection is shorter than its count', { psiJob });

  // Described before the read: a refresh committing during it shows as a later generation in the view's history.
  const described = await context.connectors.views.get(party.view);
  const values = new Map<string, ColumnValue[]>(columns.map((c) => [c, new Array<ColumnValue>(rows).fill(null)]));
  const present = new Uint8Array(rows);
  const positionOf = new Map(subjects.map((s, i) => [s, i]));
  // The purpose and every column are checked against this gateway's policies now, not when the PSI job ran.
  const grant = await context.connectors.reader.readViewColumns(party.view, columns, spec.purpose);
  for await (const chunk of context.connectors.reader.readColumnsFor(grant, subjects)) {
    context.signal.throwIfAborted();
    for (const row of chunk) {
      const at = positionOf.get(String(row.subject));
      if (at === undefined || present[at] === 1) continue;
      present[at] = 1;
      for (const column of columns) (values.get(column) as ColumnValue[])[at] = row[column] ?? null;
    }
  }
  const refused = await lapsed({
    consent: context.consent,
    subjects,
    purpose: spec.purpose,
    recipients: recipientsOf(spec, self),
    at: context.now(),
  });
  const dropped: number[] = [];
  let withdrawn = 0;
  let missing = 0;
  subjects.forEach((subject, i) => {
    if (present[i] === 0) missing++;
    else if (refused.has(subject)) withdrawn++;
    else return;
    dropped.push(i);
  });
  const dataVersion = { generation: described.generation, sha256: described.source.sha256 };
  return { rows, values, dropped, withdrawn, missing, dataVersion };
}
