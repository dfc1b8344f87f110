// The consent filter step (DESIGN.md §6, docs/jobs.md), which a protocol puts first among its steps: it admits only
// the subjects of this party's view whose consent in force covers the job's purpose for every other party (the bulk
// filter, one set operation per chunk), and records them by pseudonym with their source row. A later step re-reads
// what it needs of the admitted rows from the unchanged source and checks consent again (mpc/psi/psi-input.ts).
import type { ConsentLog } from '../../consent/consent-log.ts';
import { pseudonymize } from '../../consent/pseudonym.ts';
import type { Connectors } from '../../connectors/connectors.ts';
import { partyOf, type JobParty, type JobSpec } from './job.ts';
import { GatewayError } from '../../core/errors.ts';
import type { ProtocolStep, StepContext } from './protocol.ts';
import type { JobStore } from './store.ts';

export type JobInputDeps = {
  connectors: Connectors;
  consent: Pick<ConsentLog, 'uncoveredSubjects'>;
  store: JobStore;
  subjectKey: Uint8Array;
  now: () => Date;
};

export type FilterCounts = { rowsRead: number; admitted: number; withoutKey: number };

export function partyFor(spec: JobSpec, self: string): JobParty {
  const party = partyOf(spec, self);
  if (party === undefined)
    throw new GatewayError('BAD_INPUT', 'this gateway is not a party of the job', { job: spec.id });
  return party;
}

/** Consent filter recipients at `self`: every other party learns something derived from its subjects. */
export const recipientsOf = (spec: JobSpec, self: string): string[] =>
  spec.parties.map((p) => p.id).filter((id) => id !== self);

/**
 * The subjects of `subjects` whose consent does not cover `purpose` for some recipient at `at`: the bulk filter's
 * complement. Both steps ask for the few subjects left out rather than the many let in, so a million admitted rows
 * do not come back from DuckDB as a million strings, row objects and set entries, all garbage soon after.
 */
export async function lapsed({
  consent,
  subjects,
  purpose,
  recipients,
  at,
}: {
  consent: JobInputDeps['consent'];
  subjects: readonly string[];
  purpose: string;
  recipients: readonly string[];
  at: Date;
}): Promise<Set<string>> {
  const out = new Set<string>();
  for (const recipient of recipients) {
    // A subject refused for one recipient is out: the next recipient is asked only about the rest.
    const undecided = out.size === 0 ? subjects : subjects.filter((s) => !out.has(s));
    if (undecided.length === 0) break;
    for (const s of await consent.uncoveredSubjects(undecided, purpose, recipient, at)) out.add(s);
  }
  return out;
}

/**
 * The filter step: replaces this party's admitted inputs for the job. `onProgress` gets the source rows read so
 * far. Rows without a join key are skipped (they cannot match anyone).
 */
export async function filterInputs({
  deps,
  spec,
  self,
  signal,
  onProgress,
}: {
  deps: JobInputDeps;
  spec: JobSpec;
  self: string;
  signal: AbortSignal;
  onProgress: (rowsRead: number) => void;
}): Promise<FilterCounts> {
  const party = partyFor(spec, self);
  const recipients = recipientsOf(spec, self);
  await deps.store.clearInputs(spec.id);
  const counts: FilterCounts = { rowsRead: 0, admitted: 0, withoutKey: 0 };
  for await (const chunk of deps.connectors.keys.stream(party.view, party.idColumn)) {
    signal.throwIfAborted();
    const candidates: { at: number; subject: string }[] = [];
    chunk.keys.forEach((key, i) => {
      if (key === null) counts.withoutKey++;
      else candidates.push({ at: i, subject: pseudonymize(deps.subjectKey, chunk.subjectIds[i] as string) });
    });
    const refused = await lapsed({
      consent: deps.consent,
      subjects: candidates.map((c) => c.subject),
      purpose: spec.purpose,
      recipients,
      at: deps.now(),
    });
    const ordinals: number[] = [];
    const subjects: string[] = [];
    for (const c of candidates) {
      if (refused.has(c.subject)) continue;
      ordinals.push(counts.rowsRead + c.at);
      subjects.push(c.subject);
    }
    signal.throwIfAborted();
    await deps.store.appendInputs(spec.id, counts.admitted, ordinals, subjects);
    counts.admitted += subjects.length;
    counts.rowsRead += chunk.keys.length;
    onProgress(counts.rowsRead);
  }
  return counts;
}

/** The filter as a protocol step: rows read of the view so far against its row count; no bytes cross the wire. */
export function consentFilterStep(context: StepContext): ProtocolStep {
  let rowsRead = 0;
  let total: number | null = null;
  return {
    progress: () => ({ rows: rowsRead, total, bytesIn: 0, bytesOut: 0 }),
    async run() {
      const party = partyOf(context.spec, context.self);
      if (party !== undefined) total = (await context.connectors.views.get(party.view)).rows;
      const counts = await filterInputs({
        deps: context,
        spec: context.spec,
        self: context.self,
        signal: context.signal,
        onProgress: (n) => {
          rowsRead = n;
        },
      });
      const detail = { rowsRead: counts.rowsRead, admitted: counts.admitted, withoutKey: counts.withoutKey };
      return { rows: counts.rowsRead, rowsTotal: total, bytesIn: 0, bytesOut: 0, detail };
    },
  };
}
