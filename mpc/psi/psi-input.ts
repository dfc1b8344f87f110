// A party's PSI input (DESIGN.md §6, docs/jobs.md): the exchange step re-reads the shared identifiers of the rows the
// consent filter admitted (mpc/jobs/consent-filter.ts) from the unchanged source, checks consent again, and streams
// them into PSI. Raw identifiers exist only in these chunks, never in a table or a message.
import { GatewayError } from '../../core/errors.ts';
import type { JobSpec } from '../jobs/job.ts';
import { lapsed, partyFor, recipientsOf, type JobInputDeps } from '../jobs/consent-filter.ts';

const PAGE_ROWS = 65_536;

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
        if (key === null || key === undefined)
          throw new GatewayError('INTEGRITY_VIOLATION', 'an admitted row has lost its join key', { job: spec.id });
        picked.push({ key, subject: page.subjects[pageAt] as string, inputRow: nextRow + pageAt });
        pageAt++;
      }
      if (picked.length === 0) continue;
      // Consent is checked again now: a withdrawal since the filter step takes effect before anything is sent.
      const gone = await lapsed({
        consent: deps.consent,
        subjects: picked.map((p) => p.subject),
        purpose: spec.purpose,
        recipients,
        at: deps.now(),
      });
      for (const p of picked) {
        if (gone.has(p.subject)) {
          withdrawn++;
          continue;
        }
        keep(p.inputRow);
        yield p.key;
      }
    }
    if (pageAt < page.ordinals.length)
      throw new GatewayError('INTEGRITY_VIOLATION', 'the source has fewer rows than were admitted', { job: spec.id });
  }

  return {
    ids: ids(),
    inputRows: () => rows.slice(0, size),
    get withdrawn() {
      return withdrawn;
    },
  };
}
