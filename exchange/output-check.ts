// The output check (DESIGN.md §8, "usable, not visible"): what a buyer-facing job may return. Every kind of output
// has one rule; a request names the outputs it wants, and anything its kind of job does not allow is refused before
// anything runs, with the rule that refused it. Rows, row-level scores and features never leave a gateway, whatever
// the job. Pure.
import { GatewayError } from '../core/errors.ts';

export const OUTPUT_RULES = {
  'error-metrics': 'metrics: errors of a model on held-out rows, with their bootstrap intervals',
  'row-counts': 'counts: how many rows trained and were held out',
  'aggregates': 'aggregates over at least k subjects',
  'model-weights': 'a model as weights, never the rows it was trained on',
  'own-subject-scores': "scores of the buyer's own subjects only, keyed by the identifiers it sent",
  'rows': 'never: rows stay in the gateway that holds them',
  'scores': 'never: row-level scores of subjects the buyer does not hold would disclose their data',
  'features': 'never: feature values are rows by another name',
} as const;
export type OutputKind = keyof typeof OUTPUT_RULES;

/** Outputs that no job returns. */
const NEVER: ReadonlySet<string> = new Set<OutputKind>(['rows', 'scores', 'features']);

export type OutputRefusal = { output: string; rule: string };

/**
 * The first requested output `allowed` does not list, with the rule that refuses it, or null when every one is
 * allowed. An unknown name is refused as unknown: an output is allowed only by name.
 */
export function refusedOutput(requested: readonly string[], allowed: readonly OutputKind[]): OutputRefusal | null {
  for (const output of requested) {
    if (allowed.includes(output as OutputKind)) continue;
    if (NEVER.has(output)) return { output, rule: `${output}: ${OUTPUT_RULES[output as OutputKind]}` };
    if (output in OUTPUT_RULES) return { output, rule: `${output}: not an output of this kind of job` };
    return { output, rule: `${output}: not a known output (known: ${Object.keys(OUTPUT_RULES).join(', ')})` };
  }
  return null;
}

export const outputRefusedError = (refusal: OutputRefusal, job: string): GatewayError =>
  new GatewayError('OUTPUT_REFUSED', `a ${job} may not return ${refusal.output}`, { ...refusal });
