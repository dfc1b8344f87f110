// Committed receipt and status proof vectors (test/vectors/receipt-vectors.json): the TS verifiers give exactly each
// vector's verdict over the recorded chain view, every intermediate value recomputes with the project's functions,
// an independent Python verifier written from docs/receipts.md agrees (and refuses a mutated copy), and the generator
// still produces vectors that verify against a live chain.
import { execFile } from 'node:child_process';
import { hash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { canonicalHash, canonicalize } from '../../consent/canonical.ts';
import { hashLeaf, hashPair } from '../../consent/merkle.ts';
import { receiptDigest, receiptSigningBytes, type Receipt } from '../../consent/receipt.ts';
import { statusProofSigningBytes, type StatusProofDocument } from '../../consent/status-proof.ts';
import { statusKeyOf, statusValueHash } from '../../consent/status-tree.ts';
import { keyIdOf } from '../../consent/signer.ts';
import { gatewayIdToBytes32 } from '../../contracts/ledger-values.ts';
import { deployFreshLedger, startSimulatedChain } from '../fixtures/contracts-fixture.ts';
import {
  GATEWAY_SEED,
  ROGUE_SEED,
  receiptVerdict,
  recordReceiptVectors,
  signerFromSeed,
  statusVerdict,
  type ReceiptVectors,
} from '../vectors/receipt-vector-generator.ts';
import { viewChainReader } from '../vectors/vector-chain.ts';

const VECTORS = fileURLToPath(new URL('../vectors/receipt-vectors.json', import.meta.url));
const PYTHON_VERIFIER = fileURLToPath(new URL('../vectors/receipt_verify.py', import.meta.url));
const text = readFileSync(VECTORS, 'utf8');
const vectors = JSON.parse(text) as ReceiptVectors;
const reader = viewChainReader(vectors.chain);

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const unhex = (h: string): Buffer => Buffer.from(h.replace(/^0x/, ''), 'hex');
const hashBytes = (b: Uint8Array): Buffer => hash('sha256', b, 'buffer');
const sha256 = (b: Uint8Array): string => hex(hashBytes(b));

/** python3 on the committed file, or on `input` through stdin. python3 missing is a failure, not a skip. */
function runPython(input?: string): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      'python3',
      [PYTHON_VERIFIER, ...(input === undefined ? [] : ['-'])],
      { encoding: 'utf8', timeout: 30_000 },
      (error, stdout, stderr) => {
        if (error !== null && typeof error.code !== 'number')
          reject(new Error(`python3 could not run: ${error.message}`));
        else resolve({ status: error === null ? 0 : (error.code as number), stdout, stderr });
      },
    );
    child.stdin?.end(input ?? '');
  });
}

const keyIdDerivation = (publicKey: string) => ({
  publicKey,
  sha256: sha256(unhex(publicKey)),
  keyId: keyIdOf(unhex(publicKey)),
});

describe('receipt and status proof vectors', () => {
  it('cover events and audit entries over several batches, a withdrawal, and every tampering the spec names', () => {
    expect(vectors.chain.anchors.length).toBeGreaterThanOrEqual(2);
    const receipts = vectors.receipts.map((v) => v.receipt);
    expect(new Set(receipts.map((r) => r.anchor!.root)).size).toBeGreaterThanOrEqual(2);
    expect(receipts.some((r) => r.record.chain === 'audit')).toBe(true);
    expect(receipts.some((r) => r.record.event?.type === 'withdraw')).toBe(true);
    expect(receipts.some((r) => r.record.event?.kind === 'delegation')).toBe(true);
    expect(vectors.statusProofs.map((v) => v.expected.status)).toEqual(
      expect.arrayContaining(['in-force', 'withdrawn', 'expired']),
    );
    expect(vectors.statusProofs.map((v) => v.expected.isLatest)).toEqual(expect.arrayContaining([true, false]));
    const firstFailures = vectors.tampered.map((v) => v.expected.firstFailure);
    for (const check of [
      'receipt-format',
      'receipt-signature',
      'record-hash',
      'not-anchored',
      'merkle-path',
      'on-chain-root',
      'block-time',
      'record-time',
      'anchoring-account',
      'anchoring-key',
      'revocation',
      'proof-signature',
      'last-event',
      'status-path',
    ])
      expect(firstFailures).toContain(check);
    // RFC 8785 as the Python verifier writes it holds for integers only: no float anywhere.
    const floats: string[] = [];
    JSON.parse(text, (key, value: unknown) => {
      if (typeof value === 'number' && !Number.isSafeInteger(value)) floats.push(key);
      return value;
    });
    expect(floats).toEqual([]);
  });

  it('the TS verifiers give exactly the expected verdict of every vector over the recorded chain view', async () => {
    for (const v of vectors.receipts)
      expect({ name: v.name, ...(await receiptVerdict(v.receipt, reader)) }).toEqual({ name: v.name, ...v.expected });
    for (const v of vectors.statusProofs)
      expect({ name: v.name, ...(await statusVerdict(v.statusProof, reader)) }).toEqual({
        name: v.name,
        ...v.expected,
      });
    for (const v of vectors.tampered) {
      const r = v.chain === undefined ? reader : viewChainReader(v.chain);
      const got = v.kind === 'receipt' ? await receiptVerdict(v.receipt, r) : await statusVerdict(v.statusProof, r);
      expect({ name: v.name, ...got }).toEqual({ name: v.name, ...v.expected });
    }
  });

  it('every intermediate value recomputes from the receipt or proof with the project functions', () => {
    expect(hex(signerFromSeed(GATEWAY_SEED).publicKey)).toBe(vectors.keys.gatewayPublicKey);
    expect(hex(signerFromSeed(ROGUE_SEED).publicKey)).toBe(vectors.keys.roguePublicKey);
    for (const k of vectors.chain.registry.flatMap((g) => g.keys))
      expect(k.keyId).toBe(`0x${keyIdOf(unhex(k.publicKey))}`);

    for (const { receipt, intermediate } of vectors.receipts as { receipt: Receipt; intermediate: unknown }[]) {
      const { record, anchor } = receipt;
      const body =
        record.event !== undefined
          ? Object.fromEntries(Object.entries(record.event).filter(([k]) => k !== 'hash' && k !== 'signature'))
          : Object.fromEntries(Object.entries(record.entry!).filter(([k]) => k !== 'hash'));
      const leaf = hashLeaf(unhex(record.hash));
      const merklePath: string[] = [];
      let node: Uint8Array = leaf;
      for (const sibling of anchor!.proof) merklePath.push(hex((node = hashPair(node, unhex(sibling)))));
      expect(merklePath.at(-1) ?? hex(leaf)).toBe(anchor!.root.slice(2));
      const { signature: _s, ...unsigned } = receipt;
      expect(intermediate).toEqual({
        gatewayIdBytes32: gatewayIdToBytes32(receipt.gateway.partyId),
        keyId: keyIdDerivation(receipt.gateway.publicKey),
        ...(record.eventKey === undefined ? {} : { eventKeyId: keyIdDerivation(record.eventKey) }),
        recordJcs: canonicalize(body),
        recordHash: record.hash,
        leaf: hex(leaf),
        merklePath,
        receiptJcs: canonicalize(unsigned),
        receiptDigest: canonicalHash(unsigned),
        signedBytes: hex(receiptSigningBytes(receipt)),
      });
      expect(canonicalHash(body)).toBe(record.hash);
      expect(hex(receiptDigest(receipt))).toBe(canonicalHash(unsigned));
      expect(hex(receiptSigningBytes(receipt))).toBe(
        hex(Buffer.from('sealgate/receipt/v2\0', 'ascii')) + canonicalHash(unsigned),
      );
    }

    for (const { statusProof, intermediate } of vectors.statusProofs as {
      statusProof: StatusProofDocument;
      intermediate: unknown;
    }[]) {
      const { hash: _h, signature: _es, ...eventBody } = statusProof.event;
      const key = statusKeyOf(statusProof.value.recordId);
      const valueHash = statusValueHash(statusProof.value);
      const leaf = hashBytes(Buffer.concat([Buffer.of(0x02), key, unhex(valueHash)]));
      const statusPath: string[] = [];
      let node = leaf;
      const { siblings } = statusProof.proof;
      for (let i = siblings.length - 1; i >= 0; i--) {
        const bit = (key[i >> 3]! >> (7 - (i & 7))) & 1;
        const sibling = unhex(siblings[i]!);
        node = hashBytes(Buffer.concat([Buffer.of(0x03), bit === 0 ? node : sibling, bit === 0 ? sibling : node]));
        statusPath.push(hex(node));
      }
      expect(statusPath.at(-1)).toBe(statusProof.anchor.stateRoot.slice(2));
      const { signature: _s, ...unsigned } = statusProof;
      expect(intermediate).toEqual({
        gatewayIdBytes32: gatewayIdToBytes32(statusProof.gateway.partyId),
        keyId: keyIdDerivation(statusProof.gateway.publicKey),
        eventKeyId: keyIdDerivation(statusProof.eventKey),
        eventJcs: canonicalize(eventBody),
        eventHash: statusProof.event.hash,
        valueJcs: canonicalize(statusProof.value),
        key: hex(key),
        valueHash,
        leaf: hex(leaf),
        statusPath,
        proofJcs: canonicalize(unsigned),
        proofDigest: canonicalHash(unsigned),
        signedBytes: hex(Buffer.from('sealgate/status-proof/v1\0', 'ascii')) + canonicalHash(unsigned),
      });
      expect(hex(statusProofSigningBytes(statusProof))).toBe((intermediate as { signedBytes: string }).signedBytes);
    }
  });

  it('the independent Python verifier exits 0 on the committed vectors', async () => {
    const { status, stdout, stderr } = await runPython();
    expect({ status, stderr }).toEqual({ status: 0, stderr: '' });
    expect(stdout).toMatch(/all hold/);
    const lines = stdout.trim().split('\n');
    expect(lines.filter((l) => l.startsWith('ok   '))).toHaveLength(
      2 + vectors.receipts.length + vectors.statusProofs.length + vectors.tampered.length,
    );
  });

  it('the Python verifier exits 1 when a verdict, an intermediate value or the chain view is wrong', async () => {
    const mutations: ((doc: ReceiptVectors) => void)[] = [
      (doc) => {
        doc.receipts[0]!.expected = { ok: false, firstFailure: 'record-hash', failed: ['record-hash'] };
      },
      (doc) => {
        doc.tampered.find((v) => v.name === 'receipt-unanchored-root')!.expected.failed.pop();
      },
      (doc) => {
        const v = doc.statusProofs.find((p) => p.expected.isLatest === false)!;
        v.expected.isLatest = true;
      },
      (doc) => {
        (doc.receipts[1]!.intermediate as { leaf: string }).leaf = '00'.repeat(32);
      },
      (doc) => {
        // Every receipt of the first batch now fails block-time.
        doc.chain.blocks[0]!.timestamp += 1;
      },
    ];
    // Side by side: each run is mostly python3 starting up.
    const runs = await Promise.all(
      mutations.map((mutate) => {
        const doc = JSON.parse(text) as ReceiptVectors;
        mutate(doc);
        return runPython(JSON.stringify(doc));
      }),
    );
    for (const { status, stderr } of runs)
      expect({ status, failing: stderr.includes('fail') }).toEqual({ status: 1, failing: true });
  });
});

describe('the vector generator on a fresh chain', () => {
  it('writes receipts and proofs that verify against the live chain, with the designed verdicts', async () => {
    const chain = await startSimulatedChain();
    try {
      const run = await recordReceiptVectors(chain, await deployFreshLedger(chain));
      try {
        const { doc, live } = run;
        // The same vectors, by name and verdict (block numbers aside), as the committed file.
        const shape = (d: ReceiptVectors) => ({
          receipts: d.receipts.map((v) => [v.name, v.expected]),
          statusProofs: d.statusProofs.map((v) => [v.name, { ...v.expected, asOfBlock: null }]),
          tampered: d.tampered.map((v) => [v.name, v.kind, v.chain !== undefined, v.expected]),
        });
        expect(shape(doc)).toEqual(shape(vectors));
        for (const v of doc.receipts)
          expect({ name: v.name, ...(await receiptVerdict(v.receipt, live)) }).toEqual({ name: v.name, ...v.expected });
        for (const v of doc.statusProofs)
          expect({ name: v.name, ...(await statusVerdict(v.statusProof, live)) }).toEqual({
            name: v.name,
            ...v.expected,
          });
        // Tampered documents that need no edited view fail the same way against the live chain.
        for (const v of doc.tampered.filter((t) => t.chain === undefined)) {
          const got =
            v.kind === 'receipt' ? await receiptVerdict(v.receipt, live) : await statusVerdict(v.statusProof, live);
          expect({ name: v.name, ...got }).toEqual({ name: v.name, ...v.expected });
        }
        const { status, stderr } = await runPython(JSON.stringify(doc));
        expect({ status, stderr }).toEqual({ status: 0, stderr: '' });
      } finally {
        await run.dispose();
      }
    } finally {
      await chain.close();
    }
  });
});
