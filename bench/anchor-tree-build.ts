// Merkle build time (docs/merkle.md): consent/merkle.ts's buildMerkleTree against the naive node:crypto
// builder on the same random leaves, runs interleaved so a burst of machine load hits every variant alike.
// Each run records wall time and this process's CPU time: on a shared machine the gap between them is the
// time spent waiting for a core, which the CPU figure leaves out.
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { buildMerkleTree } from '../consent/merkle.ts';
import { NAIVE_HASHES, buildNaiveMerkleRoot, type NaiveHash } from './anchor-naive-merkle.ts';
import { msSince, summarizeMs, type TimingSummary } from './anchor-timing.ts';

export type BuildTiming = {
  samplesMs: number[];
  summary: TimingSummary;
  cpuSamplesMs: number[];
  cpuSummary: TimingSummary;
};

export type TreeBuildResult = {
  leaves: number;
  runs: number;
  sealgate: BuildTiming;
  naive: Record<NaiveHash, BuildTiming>;
  /** Every run of every variant produced this root. */
  root: string;
  loadAverage: { before: number; after: number };
};

const hex = (b: Uint8Array): string => `0x${Buffer.from(b).toString('hex')}`;
type Samples = { wall: number[]; cpu: number[] };
const timingOf = ({ wall, cpu }: Samples): BuildTiming => ({
  samplesMs: wall,
  summary: summarizeMs(wall),
  cpuSamplesMs: cpu,
  cpuSummary: summarizeMs(cpu),
});

/** Runs `work`, appending its wall and process CPU (user + system) milliseconds to `into`. */
function sample<T>(into: Samples, work: () => T): T {
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  const value = work();
  into.wall.push(msSince(start));
  const used = process.cpuUsage(cpu);
  into.cpu.push((used.user + used.system) / 1000);
  return value;
}
const last = (s: Samples): string => `${s.wall.at(-1)!.toFixed(0)} ms (CPU ${s.cpu.at(-1)!.toFixed(0)} ms)`;

/** Builds the `leaves`-leaf tree `runs` times per variant; throws if any variant disagrees on the root. */
export function measureTreeBuild(options: {
  leaves: number;
  runs: number;
  log: (line: string) => void;
}): TreeBuildResult {
  const { leaves, runs, log } = options;
  const before = loadavg()[0] ?? 0;
  const flat = randomBytes(leaves * 32);
  const sealgate: Samples = { wall: [], cpu: [] };
  const naive: Record<NaiveHash, Samples> = {
    'createHash': { wall: [], cpu: [] },
    'crypto.hash': { wall: [], cpu: [] },
  };
  let root: string | null = null;
  const agree = (got: string, variant: string): void => {
    root ??= got;
    if (got !== root)
      throw new Error(`${variant} built root ${got}, expected ${root}: the variants do not compute the same tree`);
  };

  for (let run = 1; run <= runs; run++) {
    agree(hex(sample(sealgate, () => buildMerkleTree(flat)).root), 'buildMerkleTree');
    for (const via of NAIVE_HASHES)
      agree(hex(sample(naive[via], () => buildNaiveMerkleRoot(flat, via))), `naive ${via}`);
    log(
      `  run ${run}/${runs} (load ${(loadavg()[0] ?? 0).toFixed(2)}): buildMerkleTree ${last(sealgate)}, ` +
        NAIVE_HASHES.map((via) => `naive ${via} ${last(naive[via])}`).join(', '),
    );
  }
  return {
    leaves,
    runs,
    sealgate: timingOf(sealgate),
    naive: { 'createHash': timingOf(naive['createHash']), 'crypto.hash': timingOf(naive['crypto.hash']) },
    root: root!,
    loadAverage: { before, after: loadavg()[0] ?? 0 },
  };
}
