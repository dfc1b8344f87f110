// The ledger benchmark (`npm run bench:anchor -- [--quick]`): gas per anchored record against an EAS-style
// one-attestation-per-record baseline, Merkle build time against naive node:crypto, proof and receipt sizes,
// and receipt verification time, all on real trees, transactions and receipts (in-process Hardhat EDR chain).
// Figures, not a test: nothing here asserts a target, only that each measured thing is sound.
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import { startSimulatedChain } from '../test/fixtures/contracts-fixture.ts';
import { measureGas } from './anchor-gas.ts';
import {
  environment,
  formatAnchorReport,
  proofSizes,
  writeAnchorSummary,
  type AnchorBenchSummary,
} from './anchor-report.ts';
import { measureTreeBuild } from './anchor-tree-build.ts';
import { measureVerifier } from './anchor-verifier.ts';

const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false } }, strict: true });
const isQuick = values.quick === true;

const options = {
  // --quick skips the 1M-record anchor and builds a 100k tree once, for a smoke run in seconds.
  gasSizes: isQuick ? [1_000, 100_000] : [1_000, 100_000, 1_000_000],
  baselineSample: 1_000,
  treeLeaves: isQuick ? 100_000 : 1_000_000,
  treeRuns: isQuick ? 1 : 3,
  proofSamples: 200,
  receipts: isQuick ? 50 : 200,
  verifyWarmup: isQuick ? 5 : 20,
};

// Only detected, never installed: the figure for it is quoted instead of measured.
const openZeppelinMerkleTree = (() => {
  try {
    createRequire(import.meta.url).resolve('@openzeppelin/merkle-tree');
    return 'installed (not measured)' as const;
  } catch {
    return 'not installed' as const;
  }
})();

const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);
const startedAt = new Date().toISOString();
const startEnvironment = environment();

log(
  `1/3 Merkle build: ${options.treeLeaves.toLocaleString('en-US')} leaves × ${options.treeRuns} runs, buildMerkleTree vs naive node:crypto`,
);
const treeBuild = measureTreeBuild({ leaves: options.treeLeaves, runs: options.treeRuns, log });

const chain = await startSimulatedChain();
try {
  log(
    `2/3 gas: anchors of ${options.gasSizes.map((s) => s.toLocaleString('en-US')).join(' / ')} records, baseline ${options.baselineSample} attestations`,
  );
  const gas = await measureGas(chain, {
    sizes: options.gasSizes,
    baselineSample: options.baselineSample,
    proofSamples: options.proofSamples,
    log,
  });

  log(`3/3 receipt verification: ${options.receipts} anchored receipts, offline and full`);
  const verifier = await measureVerifier(chain, { receipts: options.receipts, warmup: options.verifyWarmup, log });

  const { sampleReceiptJson: _sample, ...verifierSummary } = verifier;
  const summary: AnchorBenchSummary = {
    mode: isQuick ? 'quick' : 'full',
    startedAt,
    finishedAt: new Date().toISOString(),
    environment: { start: startEnvironment, end: environment() },
    options,
    treeBuild,
    gas,
    proofs: proofSizes(gas, verifier),
    verifier: verifierSummary,
    openZeppelinMerkleTree,
  };
  process.stdout.write(`${formatAnchorReport(summary)}\n\nJSON summary: ${writeAnchorSummary(summary)}\n`);
} finally {
  await chain.close();
}
