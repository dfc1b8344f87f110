// Gas per anchored record: real Merkle trees of random record hashes anchored with ConsentAnchor.anchor(root,
// count, prevRoot) on the in-process Hardhat chain, against the EAS-style AttestationBaseline (one stored
// attestation per record) measured on the same chain. Each anchor is checked on chain (stored count and
// ConsentAnchor.verifyInclusion of a sampled proof) so the gas is that of a usable anchor.
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { buildMerkleTree, verifyMerkleProof, type MerkleTree } from '../consent/merkle.ts';
import { connectAttestationBaseline } from '../contracts/attestation-baseline-client.ts';
import { deployAttestationBaseline } from '../contracts/ledger-deploy.ts';
import type { LedgerClient } from '../contracts/ledger-client.ts';
import { deployFreshLedger, type SimulatedChain } from '../test/fixtures/contracts-fixture.ts';
import { msSince, summarizeMs } from './anchor-timing.ts';

/** EIP-7825 per-transaction gas cap (active from Osaka, Hardhat's default L1 hardfork). */
export const EIP_7825_TX_GAS_CAP = 16_777_216;

export type ProofShape = {
  /** Fewest and most siblings over the sampled leaves (an odd level's promoted node has none). */
  minSiblings: number;
  maxSiblings: number;
  /** The longest sampled proof, as 0x-hex strings (what a receipt carries). */
  longestProof: string[];
  /** verifyMerkleProof (node:crypto) per sampled proof, median in µs. */
  verifyMedianUs: number;
};

export type AnchorMeasurement = {
  records: number;
  gasUsed: number;
  gasPerRecord: number;
  txHash: string;
  blockNumber: number;
  treeBuildMs: number;
  proof: ProofShape;
};

export type BaselineMeasurement = {
  /** attest(): one record, one transaction. */
  singleGasUsed: number;
  /** multiAttest() over `records` records in `transactions` transactions of at most `chunk` records. */
  records: number;
  transactions: number;
  chunk: number;
  /** The per-transaction limit the chunk was sized for: min(block gas limit, EIP-7825 cap). */
  txGasLimit: number;
  gasUsed: number;
  gasPerRecord: number;
  maxTxGas: number;
};

export type GasRow = {
  records: number;
  anchoredGasPerRecord: number;
  baselineGasPerRecord: number;
  baselineTotalGas: number;
  /** True when `records` exceeds the measured baseline sample: baseline total = measured per record × records. */
  isBaselineExtrapolated: boolean;
  ratio: number;
};

export type GasResult = {
  /**
   * The gateway's first anchor (prevRoot = 0) has other storage and calldata costs than a linked one; reported apart.
   */
  firstAnchor: { records: number; gasUsed: number };
  anchors: AnchorMeasurement[];
  baseline: BaselineMeasurement;
  rows: GasRow[];
  loadAverage: { before: number; after: number };
};

const hex = (b: Uint8Array): string => `0x${Buffer.from(b).toString('hex')}`;

function proofShapeOf(tree: MerkleTree, flat: Buffer, samples: number): ProofShape {
  const indices = new Set<number>([0, tree.size - 1]);
  while (indices.size < Math.min(samples, tree.size)) indices.add(Math.floor(Math.random() * tree.size));
  let longest: Uint8Array[] = [];
  let min = Infinity;
  const verifyMs: number[] = [];
  const root = tree.root;
  for (const i of indices) {
    const proof = tree.proof(i);
    const recordHash = flat.subarray(i * 32, (i + 1) * 32);
    const start = process.hrtime.bigint();
    const isValid = verifyMerkleProof(root, recordHash, proof);
    verifyMs.push(msSince(start));
    if (!isValid) throw new Error(`the proof of leaf ${i} does not verify against its own tree`);
    min = Math.min(min, proof.length);
    if (proof.length > longest.length) longest = proof;
  }
  return {
    minSiblings: min,
    maxSiblings: longest.length,
    longestProof: longest.map(hex),
    verifyMedianUs: summarizeMs(verifyMs).medianMs * 1000,
  };
}

async function anchorTree(
  gateway: LedgerClient,
  records: number,
  prevRoot: string | null,
  proofSamples: number,
): Promise<AnchorMeasurement & { root: string }> {
  const flat = randomBytes(records * 32);
  const start = process.hrtime.bigint();
  const tree = buildMerkleTree(flat);
  const treeBuildMs = msSince(start);
  const root = hex(tree.root);
  const sent = await gateway.anchorRoot(root, records, prevRoot);
  const stored = await gateway.getAnchor(root);
  if (stored?.count !== records) throw new Error(`anchor of ${records} records is not stored with its count`);
  const index = Math.floor(records / 3);
  if (!(await gateway.verifyInclusionOnChain(root, flat.subarray(index * 32, (index + 1) * 32), tree.proof(index)))) {
    throw new Error(`ConsentAnchor.verifyInclusion rejects a proof from the ${records}-record tree`);
  }
  return {
    records,
    root,
    gasUsed: sent.gasUsed,
    gasPerRecord: sent.gasUsed / records,
    txHash: sent.txHash,
    blockNumber: sent.blockNumber,
    treeBuildMs,
    proof: proofShapeOf(tree, flat, proofSamples),
  };
}

async function measureBaseline(
  chain: SimulatedChain,
  chainId: number,
  sample: number,
  log: (line: string) => void,
): Promise<BaselineMeasurement> {
  const account = chain.accounts[0]!;
  const address = await deployAttestationBaseline({ provider: chain.provider, account });
  const baseline = connectAttestationBaseline({ provider: chain.provider, account, address, chainId });
  try {
    const schema = randomBytes(32);
    const single = await baseline.attestRecord(schema, randomBytes(32));
    const latest = (await chain.provider.request({ method: 'eth_getBlockByNumber', params: ['latest', false] })) as {
      gasLimit: string;
    };
    const txGasLimit = Math.min(Number(BigInt(latest.gasLimit)), EIP_7825_TX_GAS_CAP);
    // Sized from the single-record cost, an upper bound on a batched record's cost, with 10 % headroom.
    const chunk = Math.max(1, Math.floor((0.9 * txGasLimit) / single.gasUsed));
    log(
      `  baseline: attest() ${single.gasUsed} gas; multiAttest in chunks of ${chunk} (tx limit ${txGasLimit.toLocaleString('en-US')} gas)`,
    );
    let gasUsed = 0;
    let maxTxGas = 0;
    let transactions = 0;
    for (let done = 0; done < sample; done += chunk) {
      const hashes = Array.from({ length: Math.min(chunk, sample - done) }, () => randomBytes(32));
      const sent = await baseline.attestRecords(schema, hashes);
      if (sent.uids.length !== hashes.length || new Set(sent.uids).size !== hashes.length)
        throw new Error('multiAttest did not store one attestation per record');
      const first = await baseline.getAttestation(sent.uids[0]!);
      if (first?.data !== hex(hashes[0]!)) throw new Error('the stored attestation does not carry the record hash');
      gasUsed += sent.gasUsed;
      maxTxGas = Math.max(maxTxGas, sent.gasUsed);
      transactions++;
    }
    return {
      singleGasUsed: single.gasUsed,
      records: sample,
      transactions,
      chunk,
      txGasLimit,
      gasUsed,
      gasPerRecord: gasUsed / sample,
      maxTxGas,
    };
  } finally {
    baseline.close();
  }
}

/** Anchors one tree per size (after a first anchor that sets the gateway's chain), then measures the baseline. */
export async function measureGas(
  chain: SimulatedChain,
  options: { sizes: readonly number[]; baselineSample: number; proofSamples: number; log: (line: string) => void },
): Promise<GasResult> {
  const { sizes, baselineSample, proofSamples, log } = options;
  const before = loadavg()[0] ?? 0;
  const ledger = await deployFreshLedger(chain);
  const gateway = await ledger.registerGateway('bench', 1);
  try {
    const first = await anchorTree(gateway, 1_000, null, 2);
    log(`  first anchor of the gateway (1,000 records): ${first.gasUsed} gas`);
    let prevRoot = first.root;
    const anchors: AnchorMeasurement[] = [];
    for (const records of sizes) {
      const { root, ...measured } = await anchorTree(gateway, records, prevRoot, proofSamples);
      prevRoot = root;
      anchors.push(measured);
      log(
        `  anchored ${records.toLocaleString('en-US')} records: tree ${measured.treeBuildMs.toFixed(0)} ms, ${measured.gasUsed} gas`,
      );
    }
    const baseline = await measureBaseline(chain, ledger.addresses.chainId, baselineSample, log);
    const rows = anchors.map((a): GasRow => ({
      records: a.records,
      anchoredGasPerRecord: a.gasPerRecord,
      baselineGasPerRecord: baseline.gasPerRecord,
      baselineTotalGas: baseline.gasPerRecord * a.records,
      isBaselineExtrapolated: a.records > baseline.records,
      ratio: baseline.gasPerRecord / a.gasPerRecord,
    }));
    return {
      firstAnchor: { records: first.records, gasUsed: first.gasUsed },
      anchors,
      baseline,
      rows,
      loadAverage: { before, after: loadavg()[0] ?? 0 },
    };
  } finally {
    gateway.close();
    ledger.admin.close();
  }
}
