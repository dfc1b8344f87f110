// Sensitivity of the NPV to its inputs (DESIGN.md §7, step 5): a tornado moves one input at a time from its P10 to
// its P90 with the others at P50, and elasticities say by how many percent the NPV moves per percent of an input.
// Both take the model as a callback, `npvAt(overrides)`: the NPV with the named inputs set to the given values and
// every other input at its P50 (an empty map: all at P50). Pure: the callback is the only thing called.
import { GatewayError } from '../core/errors.ts';

/** The NPV with `overrides` applied and every input not named in them at its P50. */
export type NpvAt = (overrides: ReadonlyMap<string, number>) => number;

export type TornadoInput = { name: string; p10: number; p50: number; p90: number };

export type TornadoBar = {
  name: string;
  /** The input's P10. */
  low: number;
  /** The input's P90. */
  high: number;
  npvAtLow: number;
  npvAtHigh: number;
  /** |npvAtHigh − npvAtLow|. */
  swing: number;
};

export type Tornado = { base: number; bars: TornadoBar[] };

export type ElasticityInput = { name: string; p50: number };

export type Elasticity =
  | { name: string; elasticity: number; npvAtDown: number; npvAtUp: number; reason: null }
  | { name: string; elasticity: null; npvAtDown: null; npvAtUp: null; reason: string };

function npv(npvAt: NpvAt, overrides: ReadonlyMap<string, number>): number {
  const value = npvAt(overrides);
  if (!Number.isFinite(value)) {
    const at = [...overrides].map(([k, x]) => `${k}=${x}`).join(', ') || 'P50';
    throw new GatewayError('BAD_INPUT', `the NPV at ${at} is not a finite number`);
  }
  return value;
}

function checkNames(names: readonly string[]): void {
  const seen = new Set<string>();
  for (const name of names) {
    if (typeof name !== 'string' || name.length === 0)
      throw new GatewayError('BAD_INPUT', 'every input needs a non-empty name');
    if (seen.has(name)) throw new GatewayError('BAD_INPUT', `input ${name} is named twice`, { name });
    seen.add(name);
  }
}

/**
 * The tornado: `base` is the NPV with every input at P50; each bar sets one input to its P10, then to its P90, the
 * rest at P50. Bars come widest first (swing descending), equal swings by name (code-unit order), so the chart and
 * its hash are the same for the same inputs. Inputs must be finite with p10 ≤ p50 ≤ p90 and distinct names; an
 * input whose NPV falls as it rises simply has npvAtLow > npvAtHigh.
 */
export function tornado(inputs: readonly TornadoInput[], npvAt: NpvAt): Tornado {
  checkNames(inputs.map((i) => i.name));
  for (const { name, p10, p50, p90 } of inputs) {
    if (![p10, p50, p90].every(Number.isFinite) || !(p10 <= p50 && p50 <= p90))
      throw new GatewayError('BAD_INPUT', `input ${name} needs finite p10 ≤ p50 ≤ p90`, { name });
  }
  const base = npv(npvAt, new Map());
  const bars = inputs.map(({ name, p10, p90 }): TornadoBar => {
    const npvAtLow = npv(npvAt, new Map([[name, p10]]));
    const npvAtHigh = npv(npvAt, new Map([[name, p90]]));
    return { name, low: p10, high: p90, npvAtLow, npvAtHigh, swing: Math.abs(npvAtHigh - npvAtLow) };
  });
  bars.sort((a, b) => b.swing - a.swing || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { base, bars };
}

/**
 * Arc elasticities at P50 by central difference: with x the input's P50, r = `relativeStep` and NPV₀ the NPV with
 * every input at P50,
 *
 *   ε = ((NPV(x(1+r)) − NPV(x(1−r))) / NPV₀) / ((x(1+r) − x(1−r)) / x) = (NPV(x(1+r)) − NPV(x(1−r))) / (2r · NPV₀).
 *
 * x is the arc's midpoint, so this is the arc elasticity over [x(1−r), x(1+r)] measured against the NPV at P50 (for
 * an NPV linear in the input, the arc's mean NPV). An input at 0, or an NPV₀ of 0, has no relative change: its
 * elasticity is null with the reason, and the NPV is not evaluated for it. Results keep the inputs' order.
 */
export function elasticities(inputs: readonly ElasticityInput[], npvAt: NpvAt, relativeStep = 0.01): Elasticity[] {
  if (!Number.isFinite(relativeStep) || relativeStep <= 0 || relativeStep >= 1)
    throw new GatewayError('BAD_INPUT', 'relativeStep must lie strictly between 0 and 1', { relativeStep });
  checkNames(inputs.map((i) => i.name));
  for (const { name, p50 } of inputs) {
    if (!Number.isFinite(p50)) throw new GatewayError('BAD_INPUT', `input ${name} needs a finite p50`, { name });
  }
  const base = npv(npvAt, new Map());
  const none = (name: string, reason: string): Elasticity => ({
    name,
    elasticity: null,
    npvAtDown: null,
    npvAtUp: null,
    reason,
  });
  return inputs.map(({ name, p50 }): Elasticity => {
    if (p50 === 0) return none(name, `input ${name} is 0 at P50: a relative change of it is undefined`);
    if (base === 0) return none(name, 'the NPV is 0 at P50: a relative change of it is undefined');
    const npvAtDown = npv(npvAt, new Map([[name, p50 * (1 - relativeStep)]]));
    const npvAtUp = npv(npvAt, new Map([[name, p50 * (1 + relativeStep)]]));
    const elasticity = (npvAtUp - npvAtDown) / (2 * relativeStep * base);
    return { name, elasticity, npvAtDown, npvAtUp, reason: null };
  });
}
