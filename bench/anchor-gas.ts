// Gas per anchored record: real Merkle trees of random record hashes anchored with ConsentAnchor.anchor(root,
// count, prevRoot, keyId, stateRoot) on the in-process Hardhat chain, with the gateway's current key id and the root
// of a real status tree over as many random records as the batch has, against the EAS-style AttestationBaseline (one
// stored attestation per record) measured on the same chain. Each anchor is checked on chain (stored count, key id
// and status root, ConsentAnchor.verifyInclusion of a sampled proof) so the gas is that of a usable anchor.
// The same roots, counts and prevRoots are anchored again with the ConsentAnchor of before a3403aa (v1:
// anchor(root, count, prevRoot), bench/baseline/consent-anchor-v1.json) deployed against the same registry, so each
// batch's anchor transaction has its previous-contract gas from the same run beside it.
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { Contract, ContractFactory, type Result } from 'ethers';
import { z } from 'zod';
import { CONSENT_EVENT_TYPES, DELEGATION_EVENT_TYPES } from '../consent/event.ts';
import { buildMerkleTree, verifyMerkleProof, type MerkleTree } from '../consent/merkle.ts';
import { buildStatusTree, type StatusLeafValue } from '../consent/status-tree.ts';
import { connectAttestationBaseline } from '../contracts/attestation-baseline-client.ts';
import { deployAttestationBaseline } from '../contracts/ledger-deploy.ts';
import type { LedgerClient } from '../contracts/ledger-client.ts';
import { openLedgerConnection } from '../contracts/ledger-connection.ts';
import { deployFreshLedger, type SimulatedChain } from '../test/fixtures/contracts-fixture.ts';
import { msSince, summarizeMs } from './anchor-timing.ts';

/** EIP-7825 per-transaction gas cap (active from Osaka, Hardhat's default L1 hardfork). */
export const EIP_7825_TX_GAS_CAP = 16_777_216;

/** Requirement: gas per batch within 10 % of the anchor contract of before a3403aa (checked on linked anchors). */
export const ANCHOR_GAS_RATIO_LIMIT = 1.1;

/** The v1 ConsentAnchor's ABI and creation bytecode, kept only as this benchmark's gas baseline. */
const V1_ANCHOR_ARTIFACT = new URL('./baseline/consent-anchor-v1.json', import.meta.url);
const V1AnchorArtifact = z.object({
  source: z.string().min(1),
  abi: z.array(z.record(z.string(), z.unknown())).min(1),
  bytecode: z.string().regex(/^0x(?:[0-9a-f]{2})+$/),
});

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
  /** The status tree root committed with the batch (0x-hex) and the time buildStatusTree took over its records. */
  stateRoot: string;
  statusTreeBuildMs: number;
  /** The same root, count and prevRoot anchored with the v1 ConsentAnchor: that transaction's gas. */
  v1GasUsed: number;
  proof: ProofShape;
};

/** One anchor transaction's gas with the current ConsentAnchor and with the v1 one, over the same root. */
export type AnchorVersionGas = {
  records: number;
  currentGas: number;
  v1Gas: number;
  /** currentGas / v1Gas. */
  ratio: number;
};

export type AnchorVersionComparison = {
  /** The commit and reason the v1 artifact is kept (its `source`). */
  v1Source: string;
  /** The gateway's current key id (16 hex), passed as keyId to every current anchor. */
  keyId: string;
  /** The gateway's first anchor (prevRoot = 0) on each contract. */
  first: AnchorVersionGas;
  /** One per batch size, each linked to the previous root of the same sequence. */
  linked: AnchorVersionGas[];
  limit: number;
  maxLinkedRatio: number;
  /** True when some linked anchor's ratio exceeds `limit`. */
  isLinkedOverLimit: boolean;
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
  firstAnchor: { records: number; gasUsed: number; statusTreeBuildMs: number };
  anchors: AnchorMeasurement[];
  baseline: BaselineMeasurement;
  rows: GasRow[];
  /** Gas per anchor transaction against the ConsentAnchor of before a3403aa, same chain, registry and roots. */
  versions: AnchorVersionComparison;
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

/** Random StatusLeafValue records, one per fresh record id, about a tenth of them delegations. */
function randomStatusValues(n: number): StatusLeafValue[] {
  const bytes = randomBytes(n * 36);
  const values = new Array<StatusLeafValue>(n);
  for (let i = 0; i < n; i++) {
    const o = i * 36;
    const types = bytes[o + 32]! < 26 ? DELEGATION_EVENT_TYPES : CONSENT_EVENT_TYPES;
    values[i] = {
      kind: types === DELEGATION_EVENT_TYPES ? 'delegation' : 'consent',
      lastEventHash: bytes.toString('hex', o, o + 32),
      lastEventSeq: 1 + bytes.readUInt16BE(o + 34),
      lastEventType: types[bytes[o + 33]! % types.length]!,
      recordId: randomUUID(),
    };
  }
  return values;
}

/** The root of a status tree over `records` random records, and how long buildStatusTree took. */
function statusRootOf(records: number): { stateRoot: string; statusTreeBuildMs: number } {
  const values = randomStatusValues(records);
  const start = process.hrtime.bigint();
  const tree = buildStatusTree(values);
  const statusTreeBuildMs = msSince(start);
  if (tree.size !== records) throw new Error(`the status tree holds ${tree.size} of ${records} records`);
  return { stateRoot: hex(tree.root), statusTreeBuildMs };
}

type V1Anchor = {
  source: string;
  /** Anchors with v1's anchor(root, count, prevRoot), checks the stored count and prevRoot, returns the gas used. */
  anchor(root: string, count: number, prevRoot: string | null): Promise<number>;
  close(): void;
};

const ZERO_ROOT = `0x${'00'.repeat(32)}`;

/** Deploys the v1 ConsentAnchor against `registry` (ethers ContractFactory, as contracts/ledger-deploy.ts does). */
async function deployV1Anchor(chain: SimulatedChain, registry: string, gatewayAccount: string): Promise<V1Anchor> {
  const artifact = V1AnchorArtifact.parse(JSON.parse(readFileSync(V1_ANCHOR_ARTIFACT, 'utf8')));
  const deployer = openLedgerConnection({ provider: chain.provider, account: chain.accounts[0]! });
  let address: string;
  try {
    const deployed = await new ContractFactory(artifact.abi, artifact.bytecode, await deployer.signer()).deploy(
      registry,
    );
    await deployed.waitForDeployment();
    address = await deployed.getAddress();
  } finally {
    deployer.close();
  }
  const writer = openLedgerConnection({ provider: chain.provider, account: gatewayAccount });
  const contract = new Contract(address, artifact.abi, await writer.signer());
  return {
    source: artifact.source,
    async anchor(root, count, prevRootInput) {
      const prevRoot = prevRootInput ?? ZERO_ROOT;
      const tx = await contract.getFunction('anchor').send(root, count, prevRoot);
      const receipt = await tx.wait(1, 30_000);
      if (receipt === null) throw new Error('no receipt for the v1 anchor');
      const result = await contract.getFunction('getAnchor').staticCallResult(root);
      const stored = (result[0] as Result).toObject();
      if (Number(stored['count']) !== count || String(stored['prevRoot']).toLowerCase() !== prevRoot)
        throw new Error(`the v1 anchor of ${count} records is not stored with its count and prevRoot`);
      return Number(receipt.gasUsed);
    },
    close: () => writer.close(),
  };
}

/** Where a batch is anchored: the gateway's client and current key id, and the v1 anchor beside it. */
type AnchorTargets = { gateway: LedgerClient; keyId: string; v1: V1Anchor };

async function anchorTree(
  { gateway, keyId, v1 }: AnchorTargets,
  records: number,
  prevRoot: string | null,
  proofSamples: number,
): Promise<AnchorMeasurement & { root: string }> {
  const flat = randomBytes(records * 32);
  const start = process.hrtime.bigint();
  const tree = buildMerkleTree(flat);
  const treeBuildMs = msSince(start);
  const root = hex(tree.root);
  const { stateRoot, statusTreeBuildMs } = statusRootOf(records);
  const sent = await gateway.anchorRoot(root, records, prevRoot, { keyId, stateRoot });
  const stored = await gateway.findAnchorTx(root);
  if (stored?.count !== records || stored.keyId !== keyId || stored.stateRoot !== stateRoot)
    throw new Error(`anchor of ${records} records is not on chain with its count, key id and status root`);
  const index = Math.floor(records / 3);
  if (!(await gateway.verifyInclusionOnChain(root, flat.subarray(index * 32, (index + 1) * 32), tree.proof(index)))) {
    throw new Error(`ConsentAnchor.verifyInclusion rejects a proof from the ${records}-record tree`);
  }
  const v1GasUsed = await v1.anchor(root, records, prevRoot);
  return {
    records,
    root,
    gasUsed: sent.gasUsed,
    gasPerRecord: sent.gasUsed / records,
    txHash: sent.txHash,
    blockNumber: sent.blockNumber,
    treeBuildMs,
    stateRoot,
    statusTreeBuildMs,
    v1GasUsed,
    proof: proofShapeOf(tree, flat, proofSamples),
  };
}

const versionGas = (a: { records: number; gasUsed: number; v1GasUsed: number }): AnchorVersionGas => ({
  records: a.records,
  currentGas: a.gasUsed,
  v1Gas: a.v1GasUsed,
  ratio: a.gasUsed / a.v1GasUsed,
});

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

/**
 * Anchors one tree per size (after a first anchor that sets the gateway's chain), each on the current ConsentAnchor
 * and on the v1 one, then measures the baseline.
 */
export async function measureGas(
  chain: SimulatedChain,
  options: { sizes: readonly number[]; baselineSample: number; proofSamples: number; log: (line: string) => void },
): Promise<GasResult> {
  const { sizes, baselineSample, proofSamples, log } = options;
  const before = loadavg()[0] ?? 0;
  const ledger = await deployFreshLedger(chain);
  const gateway = await ledger.registerGateway('bench', 1);
  let v1: V1Anchor | undefined;
  try {
    v1 = await deployV1Anchor(chain, ledger.addresses.registry, chain.accounts[1]!);
    const keyId = (await gateway.getGateway('bench'))?.keyId;
    if (keyId === undefined) throw new Error('the bench gateway is not registered');
    const targets: AnchorTargets = { gateway, keyId, v1 };
    const first = await anchorTree(targets, 1_000, null, 2);
    log(`  first anchor of the gateway (1,000 records): ${first.gasUsed} gas (v1 anchor ${first.v1GasUsed} gas)`);
    let prevRoot = first.root;
    const anchors: AnchorMeasurement[] = [];
    for (const records of sizes) {
      const { root, ...measured } = await anchorTree(targets, records, prevRoot, proofSamples);
      prevRoot = root;
      anchors.push(measured);
      log(
        `  anchored ${records.toLocaleString('en-US')} records: tree ${measured.treeBuildMs.toFixed(0)} ms, status tree ` +
          `${measured.statusTreeBuildMs.toFixed(0)} ms, ${measured.gasUsed} gas (v1 anchor ${measured.v1GasUsed} gas)`,
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
    const linked = anchors.map(versionGas);
    const maxLinkedRatio = Math.max(...linked.map((l) => l.ratio));
    return {
      firstAnchor: { records: first.records, gasUsed: first.gasUsed, statusTreeBuildMs: first.statusTreeBuildMs },
      anchors,
      baseline,
      rows,
      versions: {
        v1Source: v1.source,
        keyId,
        first: versionGas(first),
        linked,
        limit: ANCHOR_GAS_RATIO_LIMIT,
        maxLinkedRatio,
        isLinkedOverLimit: maxLinkedRatio > ANCHOR_GAS_RATIO_LIMIT,
      },
      loadAverage: { before, after: loadavg()[0] ?? 0 },
    };
  } finally {
    v1?.close();
    gateway.close();
    ledger.admin.close();
  }
}
