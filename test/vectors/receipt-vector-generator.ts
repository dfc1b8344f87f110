// Generates test/vectors/receipt-vectors.json (run: node test/vectors/receipt-vector-generator.ts). A real consent log
// with a fixed clock and a gateway key from a fixed seed, anchored on an in-process Hardhat chain: grants, a
// withdrawal, a delegation and a decision audit entry in three batches; receipts and status proofs come from the
// gateway's own issuance code (createReceiptIssuer, createStatusProver), and the chain view a verifier needs is read
// from the contracts once. The chain is new on every run (its block times, transaction hashes and the log's UUIDs
// differ), so the file is written once and committed: test/consent/receipt-vectors.test.ts holds the TS verifiers and
// test/vectors/receipt_verify.py (written from docs/receipts.md alone) to it, and runs this generator against a
// fresh chain to keep it working.
import { createHash, createPrivateKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BrowserProvider, Contract, encodeBytes32String, type InterfaceAbi } from 'ethers';
import { openAnchorStore } from '../../consent/anchor-store.ts';
import { createAnchoring } from '../../consent/anchoring.ts';
import { canonicalize, canonicalHash } from '../../consent/canonical.ts';
import type { LogEvent } from '../../consent/event.ts';
import { hashLeaf, hashPair } from '../../consent/merkle.ts';
import {
  createReceiptIssuer,
  receiptDigest,
  receiptSigningBytes,
  signReceipt,
  type Receipt,
  type RecordRef,
  type UnsignedReceipt,
} from '../../consent/receipt.ts';
import { verifyReceipt, type ChainReader } from '../../consent/receipt-verifier.ts';
import {
  createStatusProver,
  statusProofSigningBytes,
  type StatusProofDocument,
  type UnsignedStatusProofDocument,
} from '../../consent/status-proof.ts';
import { verifyStatusProof } from '../../consent/status-proof-verifier.ts';
import { statusKeyOf, statusValueHash } from '../../consent/status-tree.ts';
import { createSigner, keyIdOf, type Signer } from '../../consent/signer.ts';
import { connectLedger } from '../../contracts/ledger-client.ts';
import { chainReaderOf, ledgerPortOf } from '../../contracts/ledger-port-adapter.ts';
import { ctx, GATEWAY_ID, registerGateway } from '../fixtures/anchoring-fixture.ts';
import { grantInput, openHarness } from '../fixtures/consent-log-fixture.ts';
import {
  deployFreshLedger,
  startSimulatedChain,
  type Ledger,
  type SimulatedChain,
} from '../fixtures/contracts-fixture.ts';
import { viewChainReader, type ChainView, type ViewAnchor } from './vector-chain.ts';

/** RFC 8410 PKCS#8 DER of an Ed25519 private key, up to the 32-byte seed. */
export const PKCS8_ED25519_PREFIX = '302e020100300506032b657004220420';
const seedOf = (label: string): Buffer => createHash('sha256').update(label, 'utf8').digest();
export const GATEWAY_SEED = seedOf('sealgate-receipt-vectors/gateway-key');
/** A key the registry never saw: it signs the forged receipts of "a key not in the registry". */
export const ROGUE_SEED = seedOf('sealgate-receipt-vectors/rogue-key');

export function signerFromSeed(seed: Uint8Array): Signer {
  const der = Buffer.concat([Buffer.from(PKCS8_ED25519_PREFIX, 'hex'), seed]);
  return createSigner(createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }));
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const unhex = (h: string): Buffer => Buffer.from(h.replace(/^0x/, ''), 'hex');
const sha256 = (...parts: Uint8Array[]): Buffer => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
};
/** A copy of 64-hex `h` (optionally 0x-prefixed) with the top bit of byte `at` flipped. */
const flip = (h: string, at = 0): string => {
  const prefix = h.startsWith('0x') ? '0x' : '';
  const b = unhex(h);
  b[at % b.length]! ^= 0x80;
  return prefix + hex(b);
};
const bitOf = (key: Uint8Array, i: number): number => (key[i >> 3]! >> (7 - (i & 7))) & 1;

export const T0 = '2025-03-01T00:00:00.000Z';
/** Far enough ahead that the grants stay in force whenever the vectors are regenerated. */
const FAR_EXPIRY = '2099-01-01T00:00:00.000Z';
/** Before any block of a chain started after 2025-04: the grant's status proof says "expired". */
const PAST_EXPIRY = '2025-04-01T00:00:00.000Z';
/** How far the late record is dated after its anchoring block: 10 minutes, past the 300 s skew. */
const LATE_SECONDS = 600;

export type Expected = { ok: boolean; firstFailure: string | null; failed: string[] };
export type StatusExpected = Expected & { status: string | null; asOfBlock: number | null; isLatest: boolean | null };

const keyIdDerivation = (publicKey: string) => ({
  publicKey,
  sha256: hex(sha256(unhex(publicKey))),
  keyId: keyIdOf(unhex(publicKey)),
});

/** What an implementer can debug a receipt against, step by step (docs/receipts.md §1-§3, §6; docs/merkle.md). */
function receiptIntermediate(receipt: Receipt) {
  const { record } = receipt;
  const body =
    record.event !== undefined
      ? (({ hash: _h, signature: _s, ...rest }: LogEvent) => rest)(record.event)
      : (({ hash: _h, ...rest }) => rest)(record.entry!);
  const recordHash = unhex(canonicalHash(body));
  const leaf = hashLeaf(recordHash);
  const merklePath: string[] = [];
  let node: Uint8Array = leaf;
  for (const sibling of receipt.anchor?.proof ?? []) {
    node = hashPair(node, unhex(sibling));
    merklePath.push(hex(node));
  }
  const { signature: _s, ...unsigned } = receipt;
  return {
    gatewayIdBytes32: encodeBytes32String(receipt.gateway.partyId),
    keyId: keyIdDerivation(receipt.gateway.publicKey),
    ...(record.eventKey === undefined ? {} : { eventKeyId: keyIdDerivation(record.eventKey) }),
    recordJcs: canonicalize(body),
    recordHash: hex(recordHash),
    leaf: hex(leaf),
    merklePath,
    receiptJcs: canonicalize(unsigned),
    receiptDigest: hex(receiptDigest(receipt)),
    signedBytes: hex(receiptSigningBytes(receipt)),
  };
}

/** The same for a status proof: its event, its status tree leaf and path (§4), and its signed bytes (§2, §7). */
function statusIntermediate(doc: StatusProofDocument) {
  const { hash: _h, signature: _s, ...eventBody } = doc.event;
  const key = statusKeyOf(doc.value.recordId);
  const valueHash = statusValueHash(doc.value);
  const leaf = sha256(Uint8Array.of(0x02), key, unhex(valueHash));
  const statusPath: string[] = [];
  let node: Buffer = leaf;
  const { siblings } = doc.proof;
  for (let i = siblings.length - 1; i >= 0; i--) {
    const sibling = unhex(siblings[i]!);
    node =
      bitOf(key, i) === 0 ? sha256(Uint8Array.of(0x03), node, sibling) : sha256(Uint8Array.of(0x03), sibling, node);
    statusPath.push(hex(node));
  }
  const { signature: _sig, ...unsigned } = doc;
  return {
    gatewayIdBytes32: encodeBytes32String(doc.gateway.partyId),
    keyId: keyIdDerivation(doc.gateway.publicKey),
    eventKeyId: keyIdDerivation(doc.eventKey),
    eventJcs: canonicalize(eventBody),
    eventHash: canonicalHash(eventBody),
    valueJcs: canonicalize(doc.value),
    key: hex(key),
    valueHash,
    leaf: hex(leaf),
    statusPath,
    proofJcs: canonicalize(unsigned),
    proofDigest: canonicalHash(unsigned),
    signedBytes: hex(statusProofSigningBytes(doc)),
  };
}

const abiOf = (name: string): InterfaceAbi =>
  (
    JSON.parse(readFileSync(new URL(`../../contracts/compiled/${name}.json`, import.meta.url), 'utf8')) as {
      abi: InterfaceAbi;
    }
  ).abi;
const ANCHOR_ABI = abiOf('ConsentAnchor');
const REGISTRY_ABI = abiOf('GatewayRegistry');

/** Reads, straight from the contracts and the block headers, what a verifier needs about `roots` and `gatewayIds`. */
async function recordChainView(
  chain: SimulatedChain,
  ledger: Ledger,
  roots: readonly string[],
  partyIds: readonly string[],
): Promise<ChainView> {
  const provider = new BrowserProvider(chain.provider);
  try {
    const anchor = new Contract(ledger.addresses.anchor, ANCHOR_ABI, provider);
    const registry = new Contract(ledger.addresses.registry, REGISTRY_ABI, provider);
    const anchors: ViewAnchor[] = [];
    for (const root of roots) {
      const a = (await anchor.getFunction('getAnchor')(root)) as unknown as Record<string, unknown> & unknown[];
      const blockNumber = Number(a[3]);
      const logs = await anchor.queryFilter(anchor.filters['Anchored']!(null, root), blockNumber, blockNumber);
      if (logs.length !== 1) throw new Error(`expected one Anchored event for ${root}, got ${logs.length}`);
      const log = logs[0]! as unknown as { transactionHash: string; args: { prevRoot: string; stateRoot: string } };
      anchors.push({
        root,
        anchoredBy: String(a[0]),
        blockTime: Number(a[1]),
        count: Number(a[2]),
        blockNumber,
        keyId: String(a[4]).toLowerCase(),
        gatewayId: String(a[5]).toLowerCase(),
        event: {
          txHash: log.transactionHash.toLowerCase(),
          prevRoot: String(log.args.prevRoot).toLowerCase(),
          stateRoot: String(log.args.stateRoot).toLowerCase(),
        },
      });
    }
    const blocks = [];
    for (const n of [...new Set(anchors.map((a) => a.blockNumber))]) {
      const block = await provider.getBlock(n);
      if (block === null) throw new Error(`no block ${n}`);
      blocks.push({ number: block.number, timestamp: block.timestamp, hash: String(block.hash).toLowerCase() });
    }
    const entries = [];
    const lastRoots = [];
    for (const partyId of partyIds) {
      const id = encodeBytes32String(partyId);
      const g = (await registry.getFunction('get')(id)) as unknown as unknown[];
      const keys = (await registry.getFunction('keyHistory')(id)) as unknown as unknown[][];
      const accounts = (await registry.getFunction('accountHistory')(id)) as unknown as unknown[][];
      entries.push({
        gatewayId: id,
        ed25519PublicKey: String(g[0]).toLowerCase(),
        evmAccount: String(g[1]),
        status: Number(g[2]),
        keyId: String(g[3]).toLowerCase(),
        registeredAt: Number(g[4]),
        updatedAt: Number(g[5]),
        revokedAtBlock: Number(g[6]),
        keys: keys.map((k) => ({
          publicKey: String(k[0]).toLowerCase(),
          keyId: `0x${keyIdOf(unhex(String(k[0])))}`,
          fromBlock: Number(k[1]),
          untilBlock: Number(k[2]),
          isRecovery: k[3] === true,
        })),
        accounts: accounts.map((p) => ({ account: String(p[0]), fromBlock: Number(p[1]), untilBlock: Number(p[2]) })),
      });
      lastRoots.push({ gatewayId: id, root: String(await anchor.getFunction('lastRootOf')(id)).toLowerCase() });
    }
    return {
      chainId: ledger.addresses.chainId,
      anchorContract: ledger.addresses.anchor,
      registryContract: ledger.addresses.registry,
      anchors,
      blocks,
      registry: entries,
      lastRoots,
    };
  } finally {
    provider.destroy();
  }
}

const failedOf = (checks: readonly { name: string; ok: boolean }[]): string[] =>
  checks.filter((c) => !c.ok).map((c) => c.name);

/** What the TS verifiers say about a vector over `reader`, in the file's form. */
export async function receiptVerdict(receipt: unknown, reader: ChainReader): Promise<Expected> {
  const v = await verifyReceipt(receipt, reader);
  return { ok: v.ok, firstFailure: v.failure?.name ?? null, failed: failedOf(v.checks) };
}
export async function statusVerdict(proof: unknown, reader: ChainReader): Promise<StatusExpected> {
  const v = await verifyStatusProof(proof, reader);
  return {
    ok: v.ok,
    firstFailure: v.failure?.name ?? null,
    failed: failedOf(v.checks),
    status: v.verdict?.status ?? null,
    asOfBlock: v.verdict?.asOfBlock ?? null,
    isLatest: v.verdict?.isLatest ?? null,
  };
}

const fails = (...failed: string[]): Expected => ({ ok: false, firstFailure: failed[0] ?? null, failed });
const STATUS_CHAIN_CHECKS = [
  'on-chain-root',
  'block-time',
  'anchoring-account',
  'anchoring-key',
  'revocation',
  'freshness',
];
const noVerdict = { status: null, asOfBlock: null, isLatest: null };

type ReceiptVector = { name: string; note: string; receipt: Receipt; intermediate: unknown; expected: Expected };
type StatusVector = {
  name: string;
  note: string;
  statusProof: StatusProofDocument;
  intermediate: unknown;
  expected: StatusExpected;
};
type TamperedVector = { name: string; note: string; chain?: ChainView; expected: Expected | StatusExpected } & (
  { kind: 'receipt'; receipt: unknown } | { kind: 'status-proof'; statusProof: unknown }
);

export type ReceiptVectors = {
  source: string;
  spec: string;
  notes: string[];
  keys: {
    pkcs8Prefix: string;
    gatewaySeed: string;
    gatewayPublicKey: string;
    rogueSeed: string;
    roguePublicKey: string;
  };
  chain: ChainView;
  receipts: ReceiptVector[];
  statusProofs: StatusVector[];
  tampered: TamperedVector[];
};

export type ReceiptVectorRun = {
  doc: ReceiptVectors;
  /** The live chain's reader (contracts/ledger-port-adapter.ts chainReaderOf), for checks before the chain goes. */
  live: ChainReader;
  dispose(): Promise<void>;
};

/**
 * Runs the scenario on `chain` with fresh contracts (`ledger`) and returns the vectors. Throws when a TS verifier's
 * verdict differs from the one each vector was designed to have.
 */
export async function recordReceiptVectors(chain: SimulatedChain, ledger: Ledger): Promise<ReceiptVectorRun> {
  const dir = mkdtempSync(join(tmpdir(), 'sealgate-receipt-vectors-'));
  const signer = signerFromSeed(GATEWAY_SEED);
  const rogue = signerFromSeed(ROGUE_SEED);
  const evmAccount = chain.accounts[1]!;
  const client = await registerGateway(ledger, chain, signer, 1);
  const h = await openHarness({ path: join(dir, 'sealgate.duckdb'), signer, start: T0 });
  const readOnly = connectLedger({ provider: chain.provider, addresses: ledger.addresses });
  const dispose = async (): Promise<void> => {
    readOnly.close();
    await h.close().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const anchors = await openAnchorStore(h.db);
    const port = ledgerPortOf(client, GATEWAY_ID);
    const live = chainReaderOf(readOnly);
    const issuer = createReceiptIssuer({
      anchors,
      records: h.store,
      signer,
      clock: h.clock,
      partyId: GATEWAY_ID,
      evmAccount,
    });
    const prover = createStatusProver({
      anchors,
      records: h.store,
      signer,
      clock: h.clock,
      partyId: GATEWAY_ID,
      evmAccount,
    });
    const flush = async (): Promise<void> => {
      const anchoring = createAnchoring({
        store: anchors,
        ledger: port,
        clock: h.clock,
        random: () => 0.5,
        maxRecords: 1000,
        keyId: () => signer.keyId,
        readHeads: () => h.store.settledHeads(),
      });
      try {
        const result = await anchoring.flushNow();
        if (result.error !== null || result.anchored < 1) throw result.error ?? new Error('nothing was anchored');
      } finally {
        await anchoring.stop();
      }
    };
    const tick = (): void => h.clock.advance(1000);
    const grant = async (subjectId: string, expiresAt: string): Promise<string> => {
      tick();
      return (await h.log.grant(grantInput({ subjectId, expiresAt }), ctx)).record.recordId;
    };

    // Batch 1: three grants (one with an expiry that has passed when any block of the chain is mined), a decision.
    const withdrawn = await grant('customer-0', FAR_EXPIRY);
    const inForce = await grant('customer-1', FAR_EXPIRY);
    const expired = await grant('customer-2', PAST_EXPIRY);
    tick();
    await h.log.recordDecision({
      actor: 'tok_pdp',
      action: 'read',
      outcome: 'deny',
      purpose: 'joint-modeling',
      reasons: ['no consent'],
      consentIds: [],
      delegationIds: [],
    });
    await flush();
    // Batch 2: the withdrawal of the first grant and a delegation.
    tick();
    await h.log.withdraw(withdrawn, ctx, 'subject request');
    tick();
    const { delegation } = await h.log.delegate(
      { partner: 'insurer', purposes: ['joint-modeling'], fieldAllowlist: ['age', 'region'], expiresAt: FAR_EXPIRY },
      ctx,
    );
    await flush();
    const isKnown = async (): Promise<boolean> => true;
    const olderInForce = await prover.proveStatus(inForce, isKnown);
    const olderWithdrawn = await prover.proveStatus(withdrawn, isKnown);

    // Batch 3: a grant dated LATE_SECONDS after the block that anchors it (the gateway clock runs ahead).
    const head = (await chain.provider.request({ method: 'eth_getBlockByNumber', params: ['latest', false] })) as {
      timestamp: string;
    };
    const lateBlockTime = Number(BigInt(head.timestamp)) + 60;
    h.clock.set(new Date((lateBlockTime + LATE_SECONDS) * 1000));
    await h.log.grant(grantInput({ subjectId: 'customer-3', expiresAt: FAR_EXPIRY }), ctx);
    await chain.provider.request({ method: 'evm_setNextBlockTimestamp', params: [lateBlockTime] });
    await flush();
    tick();

    const events = await h.store.readEvents(0, 100);
    const audit = await h.log.listAudit({ afterSeq: 0, limit: 100 });
    const eventSeq = (recordId: string, type: string): number => {
      const found = events.find((e) => e.recordId === recordId && e.type === type);
      if (found === undefined) throw new Error(`no ${type} event of ${recordId}`);
      return found.seq;
    };
    const auditSeq = (kind: string, ref: string | null): number => {
      const found = audit.find((a) => a.kind === kind && (ref === null || a.refs.includes(ref)));
      if (found === undefined) throw new Error(`no ${kind} audit entry for ${ref}`);
      return found.seq;
    };
    const withdrawSeq = eventSeq(withdrawn, 'withdraw');
    const lateSeq = events.at(-1)!.seq;

    const roots: string[] = [];
    for (let n = 1; ; n++) {
      const batch = await anchors.getBatch(n);
      if (batch === null) break;
      if (batch.status !== 'anchored') throw new Error(`batch ${n} is ${batch.status}`);
      roots.push(batch.root);
    }
    if (roots.length !== 3) throw new Error(`expected three batches, got ${roots.length}`);
    const view = await recordChainView(chain, ledger, roots, [GATEWAY_ID]);
    // Valid receipts, as the gateway issues them.
    const receiptSpecs: { name: string; note: string; ref: RecordRef }[] = [
      {
        name: 'event-grant-later-withdrawn',
        note: 'a grant, batch 1; withdrawn in batch 2, its receipt still verifies (the grant did happen)',
        ref: { chain: 'events', seq: eventSeq(withdrawn, 'grant') },
      },
      {
        name: 'event-grant',
        note: 'a grant still in force, batch 1',
        ref: { chain: 'events', seq: eventSeq(inForce, 'grant') },
      },
      {
        name: 'event-grant-expiring',
        note: 'a grant whose expiresAt precedes its anchoring block: the receipt verifies, the status proof says expired',
        ref: { chain: 'events', seq: eventSeq(expired, 'grant') },
      },
      {
        name: 'event-withdrawal',
        note: 'the withdraw event of the first grant, batch 2',
        ref: { chain: 'events', seq: withdrawSeq },
      },
      {
        name: 'event-delegation',
        note: 'a delegate event (kind delegation), batch 2',
        ref: { chain: 'events', seq: eventSeq(delegation.delegationId, 'delegate') },
      },
      {
        name: 'audit-consent-write',
        note: "the audit entry of the first grant's write, batch 1",
        ref: { chain: 'audit', seq: auditSeq('consent-write', withdrawn) },
      },
      {
        name: 'audit-decision',
        note: 'a decision audit entry (no refs), batch 1',
        ref: { chain: 'audit', seq: auditSeq('decision', null) },
      },
      {
        name: 'audit-withdrawal',
        note: 'the audit entry of the withdrawal, batch 2',
        ref: { chain: 'audit', seq: audit.filter((a) => a.refs.includes(withdrawn)).at(-1)!.seq },
      },
    ];
    const receipts: ReceiptVector[] = [];
    for (const { name, note, ref } of receiptSpecs) {
      const receipt = await issuer.issueAnchoredReceipt(ref);
      receipts.push({
        name,
        note,
        receipt,
        intermediate: receiptIntermediate(receipt),
        expected: { ok: true, firstFailure: null, failed: [] },
      });
    }

    // Valid status proofs: the latest batch, and the two taken before it (verified, reported as older).
    const blockOf = (root: string): number => view.anchors.find((a) => a.root === root)!.blockNumber;
    const statusSpecs: { name: string; note: string; proof: StatusProofDocument; status: string }[] = [
      {
        name: 'in-force',
        note: 'a grant in force, latest batch',
        proof: await prover.proveStatus(inForce, isKnown),
        status: 'in-force',
      },
      {
        name: 'withdrawn',
        note: 'the withdrawn grant, latest batch: its last event is the withdraw event',
        proof: await prover.proveStatus(withdrawn, isKnown),
        status: 'withdrawn',
      },
      {
        name: 'expired-by-expiry',
        note: "a grant whose last event is the grant, but its payload.expiresAt is before the anchoring block's time",
        proof: await prover.proveStatus(expired, isKnown),
        status: 'expired',
      },
      {
        name: 'delegation-in-force',
        note: 'a delegation, latest batch',
        proof: await prover.proveStatus(delegation.delegationId, isKnown),
        status: 'in-force',
      },
      {
        name: 'in-force-older-batch',
        note: 'a proof against batch 2, checked after batch 3 was anchored: valid, not the latest',
        proof: olderInForce,
        status: 'in-force',
      },
      {
        name: 'withdrawn-older-batch',
        note: 'the withdrawn grant against batch 2: valid, not the latest',
        proof: olderWithdrawn,
        status: 'withdrawn',
      },
    ];
    const statusProofs: StatusVector[] = statusSpecs.map(({ name, note, proof, status }) => ({
      name,
      note,
      statusProof: proof,
      intermediate: statusIntermediate(proof),
      expected: {
        ok: true,
        firstFailure: null,
        failed: [],
        status,
        asOfBlock: blockOf(proof.anchor.root),
        isLatest: proof.anchor.root === roots.at(-1),
      },
    }));

    // Tampered receipts and proofs, and edited chain views.
    const base = receipts.find((r) => r.name === 'event-grant')!.receipt;
    const baseAudit = receipts.find((r) => r.name === 'audit-decision')!.receipt;
    const resign = (r: Receipt, change: (u: UnsignedReceipt) => UnsignedReceipt, by: Signer = signer): Receipt => {
      const { signature: _s, ...unsigned } = structuredClone(r);
      return signReceipt(change(unsigned as UnsignedReceipt), by);
    };
    const baseStatus = statusSpecs[0]!.proof;
    const resignStatus = (
      p: StatusProofDocument,
      change: (u: UnsignedStatusProofDocument) => UnsignedStatusProofDocument,
      by: Signer = signer,
    ): StatusProofDocument => {
      const { signature: _s, ...unsigned } = structuredClone(p);
      const changed = change(unsigned);
      return { ...changed, signature: hex(by.sign(statusProofSigningBytes(changed))) };
    };
    const editView = (edit: (v: ChainView) => void): ChainView => {
      const copy = structuredClone(view);
      edit(copy);
      return copy;
    };
    const baseAnchor = view.anchors.find((a) => a.root === base.anchor!.root)!;
    const flipSignature = (s: string): string => `${s.slice(0, 10)}${s[10] === '0' ? '1' : '0'}${s.slice(11)}`;
    const rogueGateway = { ...base.gateway, publicKey: hex(rogue.publicKey), keyId: rogue.keyId };
    const late = await issuer.issueAnchoredReceipt({ chain: 'events', seq: lateSeq });
    const otherProof = receipts.find((r) => r.name === 'event-grant-later-withdrawn')!.receipt.anchor!.proof;

    const tampered: TamperedVector[] = [
      {
        name: 'receipt-event-field-changed',
        kind: 'receipt',
        note: "the event's actor changed, the receipt re-signed with the gateway key",
        receipt: resign(base, (u) => ({
          ...u,
          record: { ...u.record, event: { ...u.record.event!, actor: 'tok_attacker' } },
        })),
        expected: fails('record-hash'),
      },
      {
        name: 'receipt-event-field-changed-not-resigned',
        kind: 'receipt',
        note: "the event's actor changed, the receipt's signature left as it was",
        receipt: {
          ...resign(base, (u) => ({
            ...u,
            record: { ...u.record, event: { ...u.record.event!, actor: 'tok_attacker' } },
          })),
          signature: base.signature,
        },
        expected: fails('receipt-signature', 'record-hash'),
      },
      {
        name: 'receipt-audit-entry-changed',
        kind: 'receipt',
        note: "the audit entry's outcome changed, re-signed",
        receipt: resign(baseAudit, (u) => ({
          ...u,
          record: { ...u.record, entry: { ...u.record.entry!, outcome: 'permit' } },
        })),
        expected: fails('record-hash'),
      },
      {
        name: 'receipt-signature-flipped',
        kind: 'receipt',
        note: 'one hex digit of the receipt signature changed',
        receipt: { ...base, signature: flipSignature(base.signature) },
        expected: fails('receipt-signature'),
      },
      {
        name: 'receipt-signed-by-unregistered-key',
        kind: 'receipt',
        note: 'gateway.publicKey and keyId replaced by a key the registry never held, signed with it',
        receipt: resign(base, (u) => ({ ...u, gateway: rogueGateway }), rogue),
        expected: fails('anchoring-key'),
      },
      {
        name: 'receipt-version-1',
        kind: 'receipt',
        note: 'version 1: refused, never read as version 2',
        receipt: { ...base, version: 1 },
        expected: fails('receipt-format'),
      },
      {
        name: 'receipt-extra-member',
        kind: 'receipt',
        note: 'a member the shape does not have, re-signed',
        receipt: { ...resign(base, (u) => u), note: 'hello' },
        expected: fails('receipt-format'),
      },
      {
        name: 'receipt-pending',
        kind: 'receipt',
        note: 'a pending receipt (no anchor) of an anchored record, as the gateway issues one',
        receipt: await issuer.issuePendingReceipt({ chain: 'events', seq: base.record.seq }),
        expected: fails('not-anchored'),
      },
      {
        name: 'receipt-proof-of-another-leaf',
        kind: 'receipt',
        note: "anchor.proof replaced by another record's proof in the same batch, re-signed",
        receipt: resign(base, (u) => ({ ...u, anchor: { ...u.anchor!, proof: otherProof } })),
        expected: fails('merkle-path', 'on-chain-inclusion'),
      },
      {
        name: 'receipt-other-tx-hash',
        kind: 'receipt',
        note: 'anchor.txHash changed, re-signed: the Anchored event names another transaction',
        receipt: resign(base, (u) => ({ ...u, anchor: { ...u.anchor!, txHash: flip(u.anchor!.txHash, 3) } })),
        expected: fails('on-chain-root'),
      },
      {
        name: 'receipt-block-time-changed',
        kind: 'receipt',
        note: 'anchor.blockTime one hour later, re-signed',
        receipt: resign(base, (u) => ({ ...u, anchor: { ...u.anchor!, blockTime: u.anchor!.blockTime + 3600 } })),
        expected: fails('block-time'),
      },
      {
        name: 'receipt-unanchored-root',
        kind: 'receipt',
        note: 'anchor.root no chain anchor has, re-signed: every chain check fails',
        receipt: resign(base, (u) => ({ ...u, anchor: { ...u.anchor!, root: `0x${'11'.repeat(32)}` } })),
        expected: fails(
          'merkle-path',
          'on-chain-root',
          'block-time',
          'record-time',
          'anchoring-account',
          'anchoring-key',
          'revocation',
          'on-chain-inclusion',
        ),
      },
      {
        name: 'receipt-other-party-id',
        kind: 'receipt',
        note: 'gateway.partyId names another gateway, re-signed: the anchor is not attributed to it',
        receipt: resign(base, (u) => ({ ...u, gateway: { ...u.gateway, partyId: 'insurer' } })),
        expected: fails('anchoring-account', 'anchoring-key', 'revocation'),
      },
      {
        name: 'view-header-time-differs',
        kind: 'receipt',
        note: "chain view edited: the anchor block's header timestamp is one second later than the stored blockTime",
        receipt: base,
        chain: editView((v) => {
          v.blocks.find((b) => b.number === baseAnchor.blockNumber)!.timestamp += 1;
        }),
        expected: fails('block-time'),
      },
      {
        name: 'receipt-record-10-minutes-after-block',
        kind: 'receipt',
        note: `a grant written with the gateway clock ${LATE_SECONDS} s ahead of the block that anchored it (batch 3), as issued`,
        receipt: late,
        expected: fails('record-time'),
      },
      {
        name: 'view-anchor-key-not-in-history',
        kind: 'receipt',
        note: "chain view edited: the stored anchor names a key id the gateway's key history lacks; the receipt re-signed to name it too",
        receipt: resign(base, (u) => ({ ...u, anchor: { ...u.anchor!, keyId: rogue.keyId } })),
        chain: editView((v) => {
          v.anchors.find((a) => a.root === baseAnchor.root)!.keyId = `0x${rogue.keyId}`;
        }),
        expected: fails('anchoring-key'),
      },
      {
        name: 'view-revoked-at-anchor-block',
        kind: 'receipt',
        note: 'chain view edited: the gateway revoked in the block of the anchor itself',
        receipt: base,
        chain: editView((v) => {
          v.registry[0]!.status = 2;
          v.registry[0]!.revokedAtBlock = baseAnchor.blockNumber;
        }),
        expected: fails('revocation'),
      },
      {
        name: 'view-revoked-before-anchor-block',
        kind: 'receipt',
        note: 'chain view edited: the gateway revoked one block before the anchor',
        receipt: base,
        chain: editView((v) => {
          v.registry[0]!.status = 2;
          v.registry[0]!.revokedAtBlock = baseAnchor.blockNumber - 1;
        }),
        expected: fails('revocation'),
      },
      {
        name: 'view-revoked-after-anchor-block',
        kind: 'receipt',
        note: 'chain view edited: the gateway revoked one block after the anchor: the receipt stays VALID',
        receipt: base,
        chain: editView((v) => {
          v.registry[0]!.status = 2;
          v.registry[0]!.revokedAtBlock = baseAnchor.blockNumber + 1;
        }),
        expected: { ok: true, firstFailure: null, failed: [] },
      },
      {
        name: 'status-value-changed',
        kind: 'status-proof',
        note: 'value.lastEventSeq changed, re-signed',
        statusProof: resignStatus(baseStatus, (u) => ({
          ...u,
          value: { ...u.value, lastEventSeq: u.value.lastEventSeq + 1 },
        })),
        expected: { ...fails('last-event', 'status-path'), ...noVerdict },
      },
      {
        name: 'status-state-root-changed',
        kind: 'status-proof',
        note: "anchor.stateRoot differs from the Anchored event's, re-signed: the path fails, and so does the anchor",
        statusProof: resignStatus(baseStatus, (u) => ({
          ...u,
          anchor: { ...u.anchor, stateRoot: flip(u.anchor.stateRoot, 7) },
        })),
        expected: { ...fails('status-path', ...STATUS_CHAIN_CHECKS), ...noVerdict },
      },
      {
        name: 'status-root-of-newer-batch',
        kind: 'status-proof',
        note: "a proof against batch 2's state root claiming batch 3's root, re-signed: the path holds, the Anchored event's stateRoot differs",
        statusProof: resignStatus(olderInForce, (u) => ({ ...u, anchor: { ...u.anchor, root: roots.at(-1)! } })),
        expected: { ...fails(...STATUS_CHAIN_CHECKS), ...noVerdict },
      },
      {
        name: 'status-signature-flipped',
        kind: 'status-proof',
        note: 'one hex digit of the status proof signature changed',
        statusProof: { ...baseStatus, signature: flipSignature(baseStatus.signature) },
        expected: { ...fails('proof-signature'), ...noVerdict },
      },
      {
        name: 'status-signed-by-unregistered-key',
        kind: 'status-proof',
        note: 'gateway.publicKey and keyId replaced by a key the registry never held, signed with it',
        statusProof: resignStatus(baseStatus, (u) => ({ ...u, gateway: rogueGateway }), rogue),
        expected: { ...fails('anchoring-key'), ...noVerdict },
      },
      {
        name: 'status-event-of-another-record',
        kind: 'status-proof',
        note: "the event replaced by another record's last event, re-signed",
        statusProof: resignStatus(baseStatus, (u) => ({ ...u, event: statusSpecs[1]!.proof.event })),
        expected: { ...fails('last-event'), ...noVerdict },
      },
      {
        name: 'status-view-revoked-at-anchor-block',
        kind: 'status-proof',
        note: 'chain view edited: the gateway revoked in the block of the latest anchor',
        statusProof: baseStatus,
        chain: editView((v) => {
          v.registry[0]!.status = 2;
          v.registry[0]!.revokedAtBlock = blockOf(baseStatus.anchor.root);
        }),
        expected: { ...fails('revocation'), ...noVerdict },
      },
    ];

    const doc: ReceiptVectors = {
      source:
        'sealgate, recorded once by test/vectors/receipt-vector-generator.ts: a consent log (fixed clock from ' +
        `${T0}, gateway key from a fixed seed) anchored on an in-process Hardhat chain; receipts and status proofs from ` +
        'consent/receipt.ts and consent/status-proof.ts; checked by consent/receipt-verifier.ts, ' +
        'consent/status-proof-verifier.ts and test/vectors/receipt_verify.py (written from docs/receipts.md alone)',
      spec: 'docs/receipts.md (receipts §6, status proofs §7), docs/merkle.md',
      notes: [
        'chain: what the contracts and block headers returned, in ABI form: bytes32 and bytes8 as 0x-hex, uint as ' +
          'numbers, untilBlock and revokedAtBlock 0 for none, registry status 0 none / 1 active / 2 revoked; ' +
          "anchors[].event is the root's Anchored event (transaction hash, and prevRoot and stateRoot, which " +
          'getAnchor does not return); keys[].keyId is derived ' +
          '(SHA-256 of the key, first 8 bytes), keyHistory does not return it.',
        'verifyInclusion is not recorded: it is true iff the root is in chain.anchors and the proof links the record ' +
          'hash to it (docs/merkle.md, "Verifying as a third party").',
        'A tampered vector with its own `chain` is checked against that view instead of the top-level one.',
        'expected.failed lists every failed check in the order the checks run, as consent/receipt-verifier.ts and ' +
          'consent/status-proof-verifier.ts report them; firstFailure is failed[0].',
        'No number in this file is a float: RFC 8785 of these values is sorted keys, no whitespace, strings as ' +
          'JSON.stringify writes them, integers in decimal.',
        `keys: the gateway key is createPrivateKey(PKCS#8 DER ${PKCS8_ED25519_PREFIX} || gatewaySeed); ` +
          'the rogue key signs the forgeries by "a key not in the registry".',
      ],
      keys: {
        pkcs8Prefix: PKCS8_ED25519_PREFIX,
        gatewaySeed: hex(GATEWAY_SEED),
        gatewayPublicKey: hex(signer.publicKey),
        rogueSeed: hex(ROGUE_SEED),
        roguePublicKey: hex(rogue.publicKey),
      },
      chain: view,
      receipts,
      statusProofs,
      tampered,
    };
    await checkDesignedVerdicts(doc);
    return { doc, live, dispose };
  } catch (error) {
    await dispose();
    throw error;
  }
}

/** Every vector's designed verdict is the one the TS verifiers give over its chain view; throws otherwise. */
export async function checkDesignedVerdicts(doc: ReceiptVectors): Promise<void> {
  const reader = viewChainReader(doc.chain);
  const problems: string[] = [];
  const compare = (name: string, got: unknown, expected: unknown): void => {
    if (JSON.stringify(got) !== JSON.stringify(expected))
      problems.push(`${name}: expected ${JSON.stringify(expected)}, the TS verifier gives ${JSON.stringify(got)}`);
  };
  for (const v of doc.receipts) compare(v.name, await receiptVerdict(v.receipt, reader), v.expected);
  for (const v of doc.statusProofs) compare(v.name, await statusVerdict(v.statusProof, reader), v.expected);
  for (const v of doc.tampered) {
    const r = v.chain === undefined ? reader : viewChainReader(v.chain);
    compare(
      v.name,
      v.kind === 'receipt' ? await receiptVerdict(v.receipt, r) : await statusVerdict(v.statusProof, r),
      v.expected,
    );
  }
  if (problems.length > 0) throw new Error(`vectors disagree with their design:\n${problems.join('\n')}`);
}

export const VECTORS_PATH = fileURLToPath(new URL('./receipt-vectors.json', import.meta.url));

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const chain = await startSimulatedChain();
  try {
    const run = await recordReceiptVectors(chain, await deployFreshLedger(chain));
    await run.dispose();
    writeFileSync(VECTORS_PATH, JSON.stringify(run.doc, null, 2) + '\n');
    console.log(
      `wrote ${VECTORS_PATH}: ${run.doc.receipts.length} receipts, ${run.doc.statusProofs.length} status proofs, ${run.doc.tampered.length} tampered`,
    );
  } finally {
    await chain.close();
  }
}
