// What the coordinator sees of one party does not depend on that party's input (Bonawitz et al., CCS 2017, Thm 6.3,
// checked empirically). Three parties; in world X party-00 holds +1 and party-01 holds 0, in world X′ party-00 holds
// −1 and party-01 holds +2: the sum is the same, so everything the coordinator may learn is the same. From the
// coordinator's view of each round (all it receives), we take party-00's masked input y and, after unmasking, y minus
// its self mask PRG(b), with b rebuilt from the shares the coordinator received: what is left, x + pairwise masks,
// must be as uniform in X′ as in X. A chi-square two-sample test on the top four bits over seeded rounds compares
// them; the control runs the same test on the raw inputs and must tell the worlds apart, so the test can fail.
import { describe, expect, it } from 'vitest';
import { expandMask } from '../../../mpc/secagg/mask-prg.ts';
import { quantize, type Quantization } from '../../../mpc/secagg/quantize.ts';
import { subInPlace, type RingVector } from '../../../mpc/secagg/ring.ts';
import type { SecAggConfig } from '../../../mpc/secagg/secagg-config.ts';
import type { MaskedInputMessage, UnmaskMessage } from '../../../mpc/secagg/secagg-messages.ts';
import { combineShares } from '../../../mpc/secagg/seed-shares.ts';
import { identities, partyNames, runRound, startRound } from './secagg-fixture.ts';

const parties = partyNames(3);
const [target] = parties as [string];
const dimension = 16;
const rounds = 120;
const q: Quantization = { ring: 32, clip: 4, fractionBits: 16 };
/** χ² critical value for 15 degrees of freedom at α = 0.001. */
const CRITICAL_15 = 37.7;

const constant = (value: number) => quantize(new Float64Array(dimension).fill(value), q);
const WORLDS = {
  'X': [constant(1), constant(0), constant(0)],
  'X′': [constant(-1), constant(2), constant(0)],
} as const;

type View = { masked: RingVector; unmasked: RingVector; input: RingVector; sum: RingVector };

/** One round in `world`: party-00's masked input and its unmasked remainder, as the coordinator can compute them. */
async function coordinatorView(world: keyof typeof WORLDS, index: number): Promise<View> {
  const config: SecAggConfig = {
    session: `privacy/${index}/0`,
    parties,
    threshold: 2,
    neighbours: null,
    dimension,
    ring: 32,
  };
  const inputs = new Map(parties.map((p, i) => [p, WORLDS[world][i] as RingVector]));
  const setup = { config, inputs, ids: identities(parties), label: `privacy-${world}-${index}` };
  const round = startRound(setup);
  const result = await runRound(setup, round);
  const masked = (round.received[2]?.[0] as MaskedInputMessage).vector;
  const bShares = (round.received[4] ?? []).flatMap((m) =>
    (m as UnmaskMessage).shares.filter((s) => s.party === target && s.secret === 'b').map((s) => s.share),
  );
  const b = await combineShares(bShares, { owner: target, threshold: 2 });
  const unmasked = Uint32Array.from(masked);
  subInPlace(unmasked, expandMask(b, { session: config.session, purpose: 'self', dimension, ring: 32 }), 32);
  return { masked, unmasked, input: inputs.get(target) as RingVector, sum: result.sum };
}

const topNibbles = (vectors: readonly RingVector[]): number[] => {
  const bins = new Array<number>(16).fill(0);
  for (const v of vectors) for (const x of v) bins[x >>> 28] = (bins[x >>> 28] as number) + 1;
  return bins;
};

/** Two-sample χ² over histograms of equal totals: Σ (a − b)² / (a + b) over non-empty bins. */
const chiSquareTwoSample = (a: readonly number[], b: readonly number[]): number =>
  a.reduce((acc, x, i) => {
    const y = b[i] as number;
    return x + y === 0 ? acc : acc + (x - y) ** 2 / (x + y);
  }, 0);

const chiSquareUniform = (a: readonly number[]): number => {
  const expected = a.reduce((s, x) => s + x, 0) / a.length;
  return a.reduce((acc, x) => acc + (x - expected) ** 2 / expected, 0);
};

describe("the coordinator's view of a party does not depend on its input", () => {
  it('masked and unmasked vectors of party-00 are alike for inputs +1 and −1 (χ², 15 df, α = 0.001); raw inputs are not', async () => {
    const views = { 'X': [] as View[], 'X′': [] as View[] };
    for (let i = 0; i < rounds; i++) {
      views['X'].push(await coordinatorView('X', i));
      views['X′'].push(await coordinatorView('X′', i));
    }
    // Same sum in both worlds: the only thing the coordinator is meant to learn.
    expect(views['X'][0]?.sum).toEqual(views['X′'][0]?.sum);

    for (const what of ['masked', 'unmasked'] as const) {
      const [x, y] = [topNibbles(views['X'].map((v) => v[what])), topNibbles(views['X′'].map((v) => v[what]))];
      expect(chiSquareTwoSample(x, y), `${what}: X vs X′`).toBeLessThan(CRITICAL_15);
      expect(chiSquareUniform(x), `${what}: X vs uniform`).toBeLessThan(CRITICAL_15);
      expect(chiSquareUniform(y), `${what}: X′ vs uniform`).toBeLessThan(CRITICAL_15);
    }
    // The control: without masks, the same test tells the worlds apart at once.
    const raw = chiSquareTwoSample(
      topNibbles(views['X'].map((v) => v.input)),
      topNibbles(views['X′'].map((v) => v.input)),
    );
    expect(raw).toBeGreaterThan(100 * CRITICAL_15);
  });
});
