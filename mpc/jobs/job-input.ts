// A party's PSI input (DESIGN.md §6, docs/jobs.md): the consent filter step admits only subjects whose consent in
// force covers the job's purpose for every other party (the bulk filter, one set operation per chunk), and records
// them by pseudonym; the exchange step re-reads their shared identifiers from the unchanged source, checks consent
// again, and streams them into PSI. Raw identifiers exist only in these chunks, never in a table or a message.
import type { ConsentLog } from '../../consent/consent-log.ts';
import { pseudonymize } from '../../consent/pseudonym.ts';
import type { Connectors } from '../../connectors/connectors.ts';
import { partyOf, type JobParty, type JobSpec } from './job.ts';
import { GatewayError } from '../../core/errors.ts';
import type { JobStore } from './store.ts';

export type JobInputDeps = {
  connectors: Connectors;
  consent: Pick<ConsentLog, 'uncoveredSubjects'>;
  store: JobStore;
  subjectKey: Uint8Array;
  now: () => Date;
};

export type FilterCounts = { rowsRead: number; admitted: number; withoutKey: number };

const PAGE_ROWS = 65_536;

function partyFor(spec: JobSpec, self: string): JobParty {
  const party = partyOf(spec, self);
  if (party === undefined) throw new GatewayError('BAD_INPUT', 'this gateway is not a party of the job', { job: spec.id });
  return party;
}

/** Consent filter recipients at `self`: every other party learns something derived from its subjects. */
export const recipientsOf = (spec: JobSpec, self: string): string[] => spec.parties.map((p) => p.id).filter((id) => id !== self);

/**
 * The subjects of `subjects` whose consent does not cover `purpose` for some recipient at `at`: the bulk filter's
 * complement. Both steps ask for the few subjects left out rather than the many let in, so a million admitted rows
 * do not come back from DuckDB as a million strings, row objects and set entries, all garbage soon after.
 */
async function lapsed(consent: JobInputDeps['consent'], subjects: readonly string[], purpose: string, recipients: readonly string[], at: Date): Promise<Set<string>> {
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
export async function filterInputs(deps: JobInputDeps, spec: JobSpec, self: string, signal: AbortSignal, onProgress: (rowsRead: number) => void): Promise<FilterCounts> {
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
    const refused = await lapsed(deps.consent, candidates.map((c) => c.subject), spec.purpose, recipients, deps.now());
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

export type ExchangeInput = {
  /** The shared identifiers of the admitted rows whose consent still holds, in input-row order. */
  ids: AsyncGenerator<string>;
  /** For each PSI row (position in `ids`), its admitted input row; complete once `ids` is exhausted. */
  inputRows(): Uint32Array;
  /** Admitted at the filter step but withdrawn or expired since: left out of PSI. */
  readonly withdrawn: number;
};

/** The exchange step's input, streamed: one chunk of keys and one page of admitted rows in memory at a time. */
export function exchangeInput(deps: JobInputDeps, spec: JobSpec, self: string, signal: AbortSignal): ExchangeInput {
  const party = partyFor(spec, self);
  const recipients = recipientsOf(spec, self);
  let rows = new Uint32Array(1024);
  let size = 0;
  let withdrawn = 0;
  const keep = (inputRow: number) => {
    if (size === rows.length) {
      const grown = new Uint32Array(rows.length * 2);
      grown.set(rows);
      rows = grown;
    }
    rows[size++] = inputRow;
  };

  async function* ids(): AsyncGenerator<string> {
    let page = { ordinals: [] as number[], subjects: [] as string[] };
    let pageAt = 0;
    let nextRow = 0;
    const loadPage = async () => {
      page = await deps.store.readInputs(spec.id, nextRow, PAGE_ROWS);
      pageAt = 0;
    };
    await loadPage();
    let ordinal = 0;
    for await (const chunk of deps.connectors.keys.stream(party.view, party.idColumn)) {
      signal.throwIfAborted();
      const picked: { key: string; subject: string; inputRow: number }[] = [];
      for (let i = 0; i < chunk.keys.length; i++, ordinal++) {
        if (pageAt === page.ordinals.length && page.ordinals.length > 0) {
          nextRow += page.ordinals.length;
          await loadPage();
        }
        if (page.ordinals[pageAt] !== ordinal) continue;
        const key = chunk.keys[i];
        if (key === null || key === undefined) throw new GatewayError('INTEGRITY_VIOLATION', 'an admitted row has lost its join key', { job: spec.id });
        picked.push({ key, subject: page.subjects[pageAt] as string, inputRow: nextRow + pageAt });
        pageAt++;
      }
      if (picked.length === 0) continue;
      // Consent is checked again now: a withdrawal since the filter step takes effect before anything is sent.
      const gone = await lapsed(deps.consent, picked.map((p) => p.subject), spec.purpose, recipients, deps.now());
      for (const p of picked) {
        if (gone.has(p.subject)) { withdrawn++; continue; }
        keep(p.inputRow);
        yield p.key;
      }
    }
    if (pageAt < page.ordinals.length) throw new GatewayError('INTEGRITY_VIOLATION', 'the source has fewer rows than were admitted', { job: spec.id });
  }

  return {
    ids: ids(),
    inputRows: () => rows.slice(0, size),
    get withdrawn() { return withdrawn; },
  };
}
