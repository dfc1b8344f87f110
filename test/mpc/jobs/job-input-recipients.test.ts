// The PSI filter step admits a subject only if its consent covers the job's purpose for every other party: a refusal
// by any one recipient keeps it out, and later recipients are asked only about the subjects still undecided.
import { describe, expect, it } from 'vitest';
import { pseudonymize } from '../../../consent/pseudonym.ts';
import type { Connectors } from '../../../connectors/connectors.ts';
import { filterInputs, type JobInputDeps } from '../../../mpc/jobs/consent-filter.ts';
import type { JobStore } from '../../../mpc/jobs/store.ts';
import type { JobSpec } from '../../../mpc/jobs/job.ts';

const SUBJECT_KEY = new Uint8Array(32).fill(7);
const RAW = ['c1', 'c2', 'c3', 'c4', 'c5', 'c6'];
const pseudonymOf = (raw: string) => pseudonymize(SUBJECT_KEY, raw);

// Only the fields the input steps read: the parties, the purpose and the id.
const spec = {
  id: '4d2c6a3e-2f7b-4c59-9a51-0c7f0f4f2b11',
  purpose: 'customer-alignment',
  parties: [
    { id: 'dealer-4s', role: 'guest', view: 'customers', idColumn: 'vin' },
    { id: 'insurer-a', role: 'host', view: 'customers', idColumn: 'vin' },
    { id: 'charging-net', role: 'host', view: 'customers', idColumn: 'vin' },
  ],
} as unknown as JobSpec;

describe('the filter step with two recipients', () => {
  it('keeps out a subject refused by either recipient and asks the second only about the rest', async () => {
    const refusedBy: Record<string, Set<string>> = {
      'insurer-a': new Set(['c2', 'c4'].map(pseudonymOf)),
      'charging-net': new Set(['c2', 'c5'].map(pseudonymOf)),
    };
    const asked: { recipient: string; subjects: readonly string[] }[] = [];
    const admitted: string[] = [];
    const deps: JobInputDeps = {
      subjectKey: SUBJECT_KEY,
      now: () => new Date('2026-11-26T00:00:00Z'),
      consent: {
        uncoveredSubjects: async (subjects, _purpose, recipient) => {
          asked.push({ recipient, subjects: [...subjects] });
          return subjects.filter((s) => refusedBy[recipient]?.has(s));
        },
      },
      connectors: {
        keys: {
          async *stream() {
            yield { keys: RAW.map((raw) => `VIN-${raw}`), subjectIds: RAW };
          },
        },
      } as unknown as Connectors,
      store: {
        clearInputs: async () => undefined,
        appendInputs: async (_job: string, _from: number, _ordinals: number[], subjects: string[]) => {
          admitted.push(...subjects);
        },
      } as unknown as JobStore,
    };

    const counts = await filterInputs({
      deps,
      spec,
      self: 'dealer-4s',
      signal: new AbortController().signal,
      onProgress: () => undefined,
    });

    expect(admitted).toEqual(['c1', 'c3', 'c6'].map(pseudonymOf));
    expect(counts).toEqual({ rowsRead: 6, admitted: 3, withoutKey: 0 });
    expect(asked.map((a) => a.recipient)).toEqual(['insurer-a', 'charging-net']);
    expect(asked[0]?.subjects).toEqual(RAW.map(pseudonymOf));
    expect(asked[1]?.subjects).toEqual(['c1', 'c3', 'c5', 'c6'].map(pseudonymOf));
  });
});
