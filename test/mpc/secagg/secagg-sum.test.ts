// Secure aggregation returns exactly the sum of the survivors' quantized inputs, whoever drops wherever, or refuses
// with SECAGG_TOO_FEW_PARTIES naming exactly who dropped in which phase. The expected outcome comes from an oracle
// written from the rules in docs/secagg.md (t parties per set; t holders left for every secret that may be needed;
// the survivors connected by pairwise masks), and the expected sum from BigInt arithmetic on the plain inputs.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../../core/errors.ts';
import { neighbourGraph } from '../../../mpc/secagg/neighbours.ts';
import { dequantizeSum, type Quantization } from '../../../mpc/secagg/quantize.ts';
import type { RingVector } from '../../../mpc/secagg/ring.ts';
import { SECAGG_PHASES, type SecAggConfig } from '../../../mpc/secagg/secagg-config.ts';
import { partyNames, randomInputs, runRound } from './secagg-fixture.ts';

const asBig = (v: RingVector, ring: 32 | 64): bigint[] =>
  ring === 32
    ? [...v].map(BigInt)
    : Array.from({ length: v.length / 2 }, (_, i) => (BigInt(v[2 * i + 1] ?? 0) << 32n) | BigInt(v[2 * i] ?? 0));

type Drop = { party: string; phase: (typeof SECAGG_PHASES)[number] };
const order = (list: readonly Drop[]) =>
  [...list].sort(
    (a, b) => SECAGG_PHASES.indexOf(a.phase) - SECAGG_PHASES.indexOf(b.phase) || (a.party < b.party ? -1 : 1),
  );

/** What the round must do: the phase it fails in (or null) and who dropped by then. */
function oracle(config: SecAggConfig, dropAt: ReadonlyMap<string, number>) {
  const sets = [config.parties.filter(() => true)];
  for (let p = 0; p < 5; p++) sets.push((sets[p] as string[]).filter((x) => dropAt.get(x) !== p));
  const dropsUpTo = (p: number): Drop[] =>
    config.parties
      .filter((x) => (dropAt.get(x) ?? 9) <= p)
      .map((party) => ({ party, phase: SECAGG_PHASES[dropAt.get(party) as number] as Drop['phase'] }));
  const t = config.threshold;
  const [u1, u2, u3] = [sets[1] as string[], sets[2] as string[], sets[3] as string[]];
  const graph =
    u1.length >= t ? neighbourGraph({ session: config.session, advertised: u1, neighbours: config.neighbours }) : null;
  for (let p = 0; p < 5; p++) {
    const live = sets[p + 1] as string[];
    const isShort = live.length < t;
    const isUnrebuildable =
      p >= 1 && u2.some((w) => (graph?.holdersOf(w) ?? []).filter((h) => live.includes(h)).length < t);
    const isSplit = p === 2 && graph !== null && !graph.isConnectedWithin(u3);
    if (isShort || isUnrebuildable || isSplit) return { failsAt: p, dropped: dropsUpTo(p), survivors: u3 };
  }
  return { failsAt: null, dropped: dropsUpTo(4), survivors: u3 };
}

const Plan = fc
  .record({
    n: fc.integer({ min: 3, max: 12 }),
    sparse: fc.boolean(),
    kPick: fc.nat(),
    tPick: fc.nat(),
    ring: fc.constantFrom(32 as const, 64 as const),
    dimension: fc.integer({ min: 1, max: 6 }),
    rate: fc.constantFrom(0, 0.1, 0.3),
    // One phase takes all the drops, or every phase takes its share of those still in.
    at: fc.constantFrom(0, 1, 2, 3, 4, 'every' as const),
    shuffle: fc.array(fc.nat(), { minLength: 12, maxLength: 12 }),
    seed: fc.nat(),
  })
  .map((r) => {
    const evens = Array.from({ length: r.n }, (_, i) => i).filter((k) => k >= 2 && k % 2 === 0 && k < r.n);
    const neighbours = r.sparse && evens.length > 0 ? (evens[r.kPick % evens.length] as number) : null;
    const holders = neighbours === null ? r.n : neighbours + 1;
    const low = Math.floor(holders / 2) + 1;
    const threshold = low + (r.tPick % (holders - low + 1));
    return { ...r, neighbours, threshold };
  });

describe('secure aggregation sums exactly over the survivors', () => {
  it('for random n, t, neighbours, rings and 0/10/30 % dropped at each phase: the exact sum of U3, or TOO_FEW', async () => {
    const outcomes = { summed: 0, refused: 0, dropped: 0 };
    await fc.assert(
      fc.asyncProperty(Plan, async (plan) => {
        const parties = partyNames(plan.n);
        const config: SecAggConfig = {
          session: `job-${plan.seed}/0/1`,
          parties,
          threshold: plan.threshold,
          neighbours: plan.neighbours,
          dimension: plan.dimension,
          ring: plan.ring,
        };
        // Ring 64 with 40 fraction bits puts values past 2^32, so the high lanes and carries are exercised.
        const q: Quantization = { ring: plan.ring, clip: 4, fractionBits: plan.ring === 32 ? 16 : 40 };
        const { inputs } = randomInputs({ parties, dimension: plan.dimension, q, spread: 5, label: `in-${plan.seed}` });
        const shuffled = parties
          .map((p, i) => [p, plan.shuffle[i] ?? 0] as const)
          .sort((a, b) => a[1] - b[1])
          .map(([p]) => p);
        const dropAt = new Map<string, number>();
        if (plan.at === 'every') {
          let still = shuffled;
          for (let p = 0; p < 5; p++) {
            const count = Math.round(plan.rate * still.length);
            for (const party of still.slice(0, count)) dropAt.set(party, p);
            still = still.slice(count);
          }
        } else for (const party of shuffled.slice(0, Math.round(plan.rate * plan.n))) dropAt.set(party, plan.at);
        outcomes.dropped += dropAt.size;

        const expected = oracle(config, dropAt);
        const run = runRound({ config, inputs, dropAt, label: `round-${plan.seed}` });
        if (expected.failsAt !== null) {
          const error = await run.then(
            () => null,
            (e: unknown) => e,
          );
          expect(error).toBeInstanceOf(GatewayError);
          expect((error as GatewayError).code).toBe('SECAGG_TOO_FEW_PARTIES');
          expect(order((error as GatewayError).detail.dropped as Drop[])).toEqual(order(expected.dropped));
          outcomes.refused++;
          return;
        }
        const result = await run;
        outcomes.summed++;
        expect(result.contributors).toEqual(expected.survivors);
        expect(order(result.dropped)).toEqual(order(expected.dropped));
        const modulus = 1n << BigInt(plan.ring);
        const plain = Array.from({ length: plan.dimension }, (_, i) =>
          expected.survivors.reduce(
            (acc, p) => (acc + (asBig(inputs.get(p) as RingVector, plan.ring)[i] as bigint)) % modulus,
            0n,
          ),
        );
        expect(asBig(result.sum, plan.ring)).toEqual(plain);
        // Dequantized, the sum is the sum of the dequantized inputs (exact: every term is a multiple of 2^-f).
        const sum = dequantizeSum(result.sum, q, { maxParties: plan.n });
        const each = expected.survivors.map((p) => dequantizeSum(inputs.get(p) as RingVector, q, { maxParties: 1 }));
        sum.forEach((x, i) => expect(x).toBe(each.reduce((acc, v) => acc + (v[i] as number), 0)));
      }),
      { numRuns: 45, seed: 20_261_206, endOnFailure: true },
    );
    // The property is not vacuous: most rounds sum, some are refused, and parties did drop.
    expect(outcomes.summed).toBeGreaterThanOrEqual(20);
    expect(outcomes.refused).toBeGreaterThanOrEqual(3);
    expect(outcomes.dropped).toBeGreaterThanOrEqual(45);
  });
});

describe('the threshold', () => {
  const parties = partyNames(5);
  const config: SecAggConfig = { session: 'job/0/2', parties, threshold: 3, neighbours: null, dimension: 3, ring: 32 };
  const q: Quantization = { ring: 32, clip: 1, fractionBits: 16 };
  const { inputs } = randomInputs({ parties, dimension: 3, q, spread: 1, label: 'threshold' });

  const refusal = async (setup: Parameters<typeof runRound>[0]) => {
    const error = await runRound(setup).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(GatewayError);
    return error as GatewayError;
  };

  it('too many dropped is SECAGG_TOO_FEW_PARTIES whose detail names exactly the dropped parties and phases', async () => {
    const dropAt = new Map([
      ['party-01', 0],
      ['party-03', 2],
      ['party-04', 3],
    ]);
    const error = await refusal({ config, inputs, dropAt });
    expect(error.code).toBe('SECAGG_TOO_FEW_PARTIES');
    expect(error.detail).toEqual({
      remaining: 2,
      threshold: 3,
      dropped: [
        { party: 'party-01', phase: 'advertise' },
        { party: 'party-03', phase: 'masked-input' },
        { party: 'party-04', phase: 'consistency' },
      ],
    });
    expect(error.message).toBe(
      '2 parties remain, threshold 3; dropped: party-01 (advertise), party-03 (masked-input), party-04 (consistency)',
    );
  });

  it('exactly t left at the end still sums; one fewer answering the unmask request is refused', async () => {
    const survive = await runRound({
      config,
      inputs,
      dropAt: new Map([
        ['party-00', 1],
        ['party-02', 4],
      ]),
    });
    expect(survive.contributors).toEqual(['party-01', 'party-02', 'party-03', 'party-04']);
    expect(survive.dropped).toEqual([
      { party: 'party-00', phase: 'share' },
      { party: 'party-02', phase: 'unmask' },
    ]);
    const dropAt = new Map([
      ['party-00', 1],
      ['party-02', 4],
      ['party-04', 4],
    ]);
    const error = await refusal({ config, inputs, dropAt });
    expect(error.detail.dropped).toEqual([
      { party: 'party-00', phase: 'share' },
      { party: 'party-02', phase: 'unmask' },
      { party: 'party-04', phase: 'unmask' },
    ]);
  });

  it('SecAgg+: a party whose holders drop below t, or survivors split apart, are TOO_FEW with the reason', async () => {
    const many = partyNames(8);
    const sparse: SecAggConfig = {
      session: 'job/0/3',
      parties: many,
      threshold: 2,
      neighbours: 2,
      dimension: 2,
      ring: 32,
    };
    const { inputs: sparseInputs } = randomInputs({ parties: many, dimension: 2, q, spread: 1, label: 'sparse' });
    const graph = neighbourGraph({ session: sparse.session, advertised: many, neighbours: 2 });
    // Both neighbours of party-00 stop after advertising: its secrets have one holder left, itself.
    const [left, right] = graph.neighboursOf('party-00') as [string, string];
    const orphaned = await refusal({
      config: sparse,
      inputs: sparseInputs,
      dropAt: new Map([
        [left, 1],
        [right, 1],
      ]),
    });
    expect(orphaned.code).toBe('SECAGG_TOO_FEW_PARTIES');
    expect(orphaned.message).toMatch(/the secrets of .*party-00.* have fewer than 2 holders left/);
    // party-00 and the party opposite it on the cycle stop before masking: the survivors fall into two arcs of three
    // (each party left still has two holders, so it is the split that refuses).
    const distance = new Map([['party-00', 0]]);
    for (const [p, d] of distance) for (const q of graph.neighboursOf(p)) if (!distance.has(q)) distance.set(q, d + 1);
    const apart = [...distance].find(([, d]) => d === 4)?.[0] as string;
    const split = await refusal({
      config: sparse,
      inputs: sparseInputs,
      dropAt: new Map([
        ['party-00', 2],
        [apart, 2],
      ]),
    });
    expect(split.message).toMatch(/no longer connected/);
    expect(split.detail.dropped).toEqual(
      order([
        { party: 'party-00', phase: 'masked-input' },
        { party: apart, phase: 'masked-input' },
      ]),
    );
  });
});
