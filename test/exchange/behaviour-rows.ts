// The automotive behaviour package's rows for the exchange's tests: per subject a region, NEV acceptance and financing
// preference drawn from a fixed hash, and a purchase intent that follows them (twice as strongly NEV acceptance).
// Deterministic without a seed, so a test can recompute any aggregate or score from the rows it imported.

export type BehaviourRow = { id: string; region: string; intent: number; nev: number; fin: number };

export const idOf = (i: number): string => `c${String(i).padStart(4, '0')}`;

/** A deterministic uniform in [0, 1) per subject and salt. */
export function uniform(i: number, salt: number): number {
  let x = (i + 1) * 2654435761 + salt * 40503;
  x = Math.imul(x ^ (x >>> 15), 2246822507);
  x = Math.imul(x ^ (x >>> 13), 3266489909);
  return ((x ^ (x >>> 16)) >>> 0) / 2 ** 32;
}

/** `count` rows; `regionOf` places subject i (three regions by default). */
export function behaviourRows(count: number, regionOf = (i: number) => `R0${1 + (i % 3)}`): BehaviourRow[] {
  return Array.from({ length: count }, (_, i) => {
    const nev = Math.round(uniform(i, 1) * 1000) / 1000;
    const fin = Math.round(uniform(i, 2) * 1000) / 1000;
    const noise = (uniform(i, 3) - 0.5) * 0.6;
    return { id: idOf(i), region: regionOf(i), intent: 2 * nev + fin - 1.5 + noise > 0 ? 1 : 0, nev, fin };
  });
}

/** The rows as the CSV the tests import as the view `behaviour`. */
export const behaviourCsv = (rows: readonly BehaviourRow[]): string =>
  `${[
    'id,region_code,purchase_intent,nev_acceptance,financing_preference',
    ...rows.map((r) => `${r.id},${r.region},${r.intent},${r.nev},${r.fin}`),
  ].join('\n')}\n`;

/** The view the tests declare over that CSV (POST /v1/connectors/views). */
export const BEHAVIOUR_VIEW = {
  name: 'behaviour',
  source: { kind: 'csv', path: 'behaviour.csv' },
  subjectColumn: 'id',
  columns: [
    { name: 'id', type: 'string', classification: 'identifier' },
    { name: 'region_code', type: 'string', classification: 'quasi-identifier' },
    { name: 'purchase_intent', type: 'integer', classification: 'label' },
    { name: 'nev_acceptance', type: 'double', classification: 'feature' },
    { name: 'financing_preference', type: 'double', classification: 'feature' },
  ],
};
