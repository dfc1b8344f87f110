// ConsentAnchor invariants on the in-process Hardhat network (DESIGN.md §4 Anchoring, §5).
import fc from 'fast-check';
import { keyIdOf } from '../../consent/signer.ts';
import { describe, expect, it } from 'vitest';
import { buildMerkleTree, verifyMerkleProof } from '../../consent/merkle.ts';
import { connectLedger } from '../../contracts/ledger-client.ts';
import type { LedgerClient } from '../../contracts/ledger-client.ts';
import { ZERO_BYTES32 } from '../../contracts/ledger-values.ts';
import vectors from '../vectors/merkle-vectors.json' with { type: 'json' };
import { bytes32Of, codeOf } from '../fixtures/contracts-fixture.ts';
import { useFreshLedger } from '../fixtures/fresh-ledger.ts';
import type { Ledger, SimulatedChain } from '../fixtures/contracts-fixture.ts';

const hex = (b: Uint8Array): string => `0x${Buffer.from(b).toString('hex')}`;

let chain: SimulatedChain;
let ledger: Ledger;
let dealer: LedgerClient;
let insurer: LedgerClient;

useFreshLedger({ 'dealer-4s': 1, 'insurer': 2 }, (fresh) => {
  ({ chain, ledger } = fresh);
  [dealer, insurer] = [fresh.gateways['dealer-4s']!, fresh.gateways.insurer!];
});

describe('ConsentAnchor', () => {
  it('anchor refuses a duplicate root', async () => {
    const root = bytes32Of('batch-1');
    await dealer.anchorRoot(root, 3, null);
    expect(await codeOf(dealer.anchorRoot(root, 3, root))).toBe('ANCHOR_DUPLICATE');
    // Unique across gateways too: one root names exactly one batch.
    expect(await codeOf(insurer.anchorRoot(root, 3, null))).toBe('ANCHOR_DUPLICATE');
    expect(await dealer.lastRootOf('dealer-4s')).toBe(hex(root));
  });

  it('only an active registered gateway may anchor', async () => {
    // The registry owner is not a gateway, an unregistered account is not one, a read-only client has no account.
    expect(await codeOf(ledger.admin.anchorRoot(bytes32Of('a'), 1, null))).toBe('LEDGER_UNAUTHORIZED');
    expect(await codeOf(ledger.clientFor(chain.accounts[5]!).anchorRoot(bytes32Of('b'), 1, null))).toBe(
      'LEDGER_UNAUTHORIZED',
    );
    const readOnly = connectLedger({ provider: chain.provider, addresses: ledger.addresses });
    expect(await codeOf(readOnly.anchorRoot(bytes32Of('c'), 1, null))).toBe('LEDGER_UNAUTHORIZED');
    expect(await readOnly.getAnchor(bytes32Of('a'))).toBeNull();
  });

  it('a revoked gateway can no longer anchor, and its earlier anchors still verify', async () => {
    const hashes = [bytes32Of('r0'), bytes32Of('r1'), bytes32Of('r2')];
    const tree = buildMerkleTree(hashes);
    await dealer.anchorRoot(tree.root, 3, null);
    await ledger.admin.revokeGateway('dealer-4s');
    expect(await codeOf(dealer.anchorRoot(bytes32Of('after-revoke'), 1, tree.root))).toBe('LEDGER_UNAUTHORIZED');
    expect(await dealer.verifyInclusionOnChain(tree.root, hashes[1]!, tree.proof(1))).toBe(true);
  });

  it('anchors of one gateway form a chain (wrong prevRoot rejected)', async () => {
    const [a, b, c] = [bytes32Of('A'), bytes32Of('B'), bytes32Of('C')];
    expect(await codeOf(dealer.anchorRoot(a, 1, c))).toBe('ANCHOR_CHAIN_BROKEN'); // first must start at zero
    await dealer.anchorRoot(a, 1, null);
    expect(await codeOf(dealer.anchorRoot(b, 1, null))).toBe('ANCHOR_CHAIN_BROKEN'); // restart refused
    expect(await codeOf(dealer.anchorRoot(b, 1, c))).toBe('ANCHOR_CHAIN_BROKEN'); // skip refused
    await dealer.anchorRoot(b, 1, a);
    // Another gateway's chain is independent and starts at zero.
    await insurer.anchorRoot(c, 1, ZERO_BYTES32);
    expect(await dealer.lastRootOf('dealer-4s')).toBe(hex(b));
    expect(await dealer.lastRootOf('insurer')).toBe(hex(c));
    expect((await dealer.findAnchorTx(b))?.prevRoot).toBe(hex(a));
  });

  it('anchor records count, block time, key id, status root and the anchoring gateway', async () => {
    await chain.provider.request({ method: 'evm_setNextBlockTimestamp', params: [2_000_000_000] });
    const keyId = keyIdOf(bytes32Of('ed25519:dealer-4s'));
    const receipt = await dealer.anchorRoot(bytes32Of('R'), 42, null, { keyId, stateRoot: bytes32Of('S') });
    expect(receipt.blockTime).toBe(2_000_000_000);
    const record = await insurer.getAnchor(bytes32Of('R'));
    expect({ ...record, anchoredBy: record?.anchoredBy.toLowerCase() }).toEqual({
      root: hex(bytes32Of('R')),
      gatewayId: 'dealer-4s',
      count: 42,
      anchoredBy: chain.accounts[1]!.toLowerCase(),
      blockNumber: receipt.blockNumber,
      blockTime: 2_000_000_000,
      keyId,
    });
    // The previous root and the status root are event data, not storage.
    expect(await insurer.findAnchorTx(bytes32Of('R'))).toMatchObject({
      prevRoot: ZERO_BYTES32,
      stateRoot: hex(bytes32Of('S')),
    });
  });

  it("an anchor must name the gateway's current key", async () => {
    const stale = { keyId: keyIdOf(bytes32Of('some other key')), stateRoot: ZERO_BYTES32 };
    expect(await codeOf(dealer.anchorRoot(bytes32Of('R'), 1, null, stale))).toBe('CONFLICT');
    expect(await codeOf(dealer.anchorRoot(bytes32Of('R'), 1, null, { ...stale, keyId: 'XYZ' }))).toBe('BAD_INPUT');
    expect(await dealer.lastRootOf('dealer-4s')).toBe(ZERO_BYTES32);
  });

  it('a zero root or an empty batch is refused', async () => {
    expect(await codeOf(dealer.anchorRoot(ZERO_BYTES32, 1, null))).toBe('BAD_INPUT');
    expect(await codeOf(dealer.anchorRoot(bytes32Of('x'), 0, null))).toBe('BAD_INPUT');
    expect(await codeOf(dealer.anchorRoot(bytes32Of('x').subarray(1), 1, null))).toBe('BAD_INPUT');
    expect(await dealer.lastRootOf('dealer-4s')).toBe(ZERO_BYTES32);
  });

  it('findAnchorTx recovers the transaction that anchored a root', async () => {
    await dealer.anchorRoot(bytes32Of('first'), 2, null);
    const receipt = await dealer.anchorRoot(bytes32Of('second'), 5, bytes32Of('first'));
    const found = await insurer.findAnchorTx(bytes32Of('second'));
    expect(found).toMatchObject({
      txHash: receipt.txHash,
      blockNumber: receipt.blockNumber,
      blockTime: receipt.blockTime,
      count: 5,
      gatewayId: 'dealer-4s',
      prevRoot: hex(bytes32Of('first')),
    });
    expect(await insurer.findAnchorTx(bytes32Of('never'))).toBeNull();
  });

  it('verifyInclusion accepts a valid proof and rejects a proof of another leaf / another root', async () => {
    const hashes = Array.from({ length: 7 }, (_, i) => bytes32Of(`rec-${i}`));
    const tree = buildMerkleTree(hashes);
    const other = buildMerkleTree(hashes.slice(0, 6));
    await dealer.anchorRoot(tree.root, 7, null);
    await dealer.anchorRoot(other.root, 6, tree.root);
    expect(await dealer.verifyInclusionOnChain(tree.root, hashes[4]!, tree.proof(4))).toBe(true);
    expect(await dealer.verifyInclusionOnChain(tree.root, hashes[5]!, tree.proof(4))).toBe(false); // another leaf
    // another anchored root
    expect(await dealer.verifyInclusionOnChain(other.root, hashes[4]!, tree.proof(4))).toBe(false);
    // A correct proof against a root that was never anchored is not evidence of anything.
    const unanchored = buildMerkleTree(hashes.slice(0, 5));
    expect(verifyMerkleProof(unanchored.root, hashes[0]!, unanchored.proof(0))).toBe(true);
    expect(await dealer.verifyInclusionOnChain(unanchored.root, hashes[0]!, unanchored.proof(0))).toBe(false);
  });

  it('off-chain and on-chain verifiers agree on the same proofs', async () => {
    let prev: Uint8Array | null = null;
    let batch = 0;
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 80 }), fc.nat(), fc.nat({ max: 31 }), async (size, pick, flip) => {
        const hashes = Array.from({ length: size }, (_, i) => bytes32Of(`prop-${batch}-${i}`));
        batch += 1;
        const tree = buildMerkleTree(hashes);
        await dealer.anchorRoot(tree.root, size, prev);
        prev = tree.root;
        const i = pick % size;
        const proof = tree.proof(i);
        expect(await dealer.verifyInclusionOnChain(tree.root, hashes[i]!, proof)).toBe(
          verifyMerkleProof(tree.root, hashes[i]!, proof),
        );
        expect(verifyMerkleProof(tree.root, hashes[i]!, proof)).toBe(true);
        const tampered = Buffer.from(hashes[i]!);
        tampered[flip]! ^= 0x01;
        expect(await dealer.verifyInclusionOnChain(tree.root, tampered, proof)).toBe(false);
        expect(verifyMerkleProof(tree.root, tampered, proof)).toBe(false);
      }),
      { numRuns: 25 },
    );
  });

  it('every committed Merkle vector proof verifies on chain', async () => {
    let prev: string | null = null;
    for (const c of vectors.cases) {
      await dealer.anchorRoot(c.root, c.recordHashes.length, prev);
      prev = c.root;
      for (const p of c.proofs) {
        expect(await dealer.verifyInclusionOnChain(c.root, c.recordHashes[p.index]!, p.proof)).toBe(true);
      }
    }
  });
});
