// A party's own rows for a horizontal protocol (secure sums, federated averaging): every subject of its view whose
// consent in force covers the job's purpose for every other party, with the declared columns the purpose may read.
// Nothing is aligned with anyone: each party reads its own customers, and only aggregates of them leave (masked).
import type { ViewRow } from '../../connectors/view-reader.ts';
import { lapsed, partyFor, recipientsOf } from './consent-filter.ts';
import type { StepContext } from './protocol.ts';

const SUBJECT_CHUNK = 65_536;

export type ConsentedRows = {
  rows: ViewRow[];
  /** Subjects of the view that were read. */
  subjects: number;
  /** Subjects left out because consent does not cover the job's purpose for some other party. */
  refused: number;
};

/** Reads this party's consented rows of `columns` (of its view in the job record). */
export async function readConsentedRows(
  context: Pick<StepContext, 'spec' | 'self' | 'connectors' | 'consent' | 'now' | 'signal'>,
  columns: readonly string[],
): Promise<ConsentedRows> {
  const { spec, self, connectors } = context;
  const party = partyFor(spec, self);
  const recipients = recipientsOf(spec, self);
  const admitted: string[] = [];
  let subjects = 0;
  for await (const chunk of connectors.reader.streamSubjects(party.view, SUBJECT_CHUNK)) {
    context.signal.throwIfAborted();
    subjects += chunk.length;
    const refused = await lapsed({
      consent: context.consent,
      subjects: chunk,
      purpose: spec.purpose,
      recipients,
      at: context.now(),
    });
    for (const s of chunk) if (!refused.has(s)) admitted.push(s);
  }
  // The purpose is checked again as the columns are read: a policy change since admission takes effect here.
  const grant = await connectors.reader.readViewColumns(party.view, columns, spec.purpose);
  const rows: ViewRow[] = [];
  for await (const chunk of connectors.reader.readColumnsFor(grant, admitted)) {
    context.signal.throwIfAborted();
    rows.push(...chunk);
  }
  return { rows, subjects, refused: subjects - admitted.length };
}
