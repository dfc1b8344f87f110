// Time checks against the chain itself (docs/receipts.md §6 `block-time`, `record-time`): a stored anchor time that
// disagrees with its block header fails, and so does a record dated after the block that anchored it.
import { keccak_256 } from '@noble/hashes/sha3.js';
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_CLOCK_SKEW_SECONDS, verifyReceipt, type Verification } from '../../consent/receipt-verifier.ts';
import type { Ledger, SimulatedChain } from '../fixtures/contracts-fixture.ts';
import { useFreshLedger } from '../fixtures/fresh-ledger.ts';
import { ctx, openAnchoringHarness, writeGrants, type AnchoringHarness } from '../fixtures/anchoring-fixture.ts';
import { grantInput } from '../fixtures/consent-log-fixture.ts';

let chain: SimulatedChain;
let ledger: Ledger;
let h: AnchoringHarness;

useFreshLedger({}, async (fresh) => {
  ({ chain, ledger } = fresh);
  h = await openAnchoringHarness(chain, ledger);
});
afterEach(async () => {
  await h.dispose();
});

const failed = (v: Verification): string[] => v.checks.filter((c) => !c.ok).map((c) => c.name);

async function latestBlockTime(): Promise<number> {
  const block = (await chain.provider.request({ method: 'eth_getBlockByNumber', params: ['latest', false] })) as {
    timestamp: string;
  };
  return Number(block.timestamp);
}

describe('time checks', () => {
  it("a stored anchor time rewritten in the contract's state fails against the block header", async () => {
    await writeGrants(h, 2);
    expect((await h.anchoring().flushNow()).error).toBeNull();
    const honest = await h.issuer.issueAnchoredReceipt({ chain: 'events', seq: 1 });
    expect((await verifyReceipt(honest, h.reader)).ok).toBe(true);

    // ConsentAnchor's first storage slot is the `_anchors` mapping; an Anchor's first word packs anchoredBy (low 20
    // bytes) and blockTime (the next 8). Backdate blockTime by a day, as a node whose state was edited would serve.
    const root = honest.anchor!.root;
    const slot = `0x${Buffer.from(keccak_256(Buffer.concat([Buffer.from(root.slice(2), 'hex'), Buffer.alloc(32)]))).toString('hex')}`;
    const anchor = ledger.addresses.anchor;
    const word = BigInt(
      (await chain.provider.request({ method: 'eth_getStorageAt', params: [anchor, slot, 'latest'] })) as string,
    );
    const address = word & ((1n << 160n) - 1n);
    const backdated = BigInt(honest.anchor!.blockTime - 86_400);
    const rewritten = (word & ~(((1n << 64n) - 1n) << 160n)) | (backdated << 160n) | address;
    await chain.provider.request({
      method: 'hardhat_setStorageAt',
      params: [anchor, slot, `0x${rewritten.toString(16).padStart(64, '0')}`],
    });
    expect((await h.client.getAnchor(root))?.blockTime).toBe(honest.anchor!.blockTime - 86_400);

    // The receipt signed with the rewritten time, as a gateway reading that node would issue it, still fails.
    const reissued = await h.issuer.issueAnchoredReceipt({ chain: 'events', seq: 1 });
    const result = await verifyReceipt(
      { ...honest, anchor: { ...honest.anchor!, blockTime: honest.anchor!.blockTime - 86_400 } },
      h.reader,
    );
    expect(failed(result)).toContain('block-time');
    expect(result.checks.find((c) => c.name === 'block-time')?.detail).toContain('its header says');
    expect(failed(await verifyReceipt(honest, h.reader))).toEqual(['block-time']);
    expect(reissued.anchor?.blockTime).toBe(honest.anchor!.blockTime);
  });

  it('a record dated after its anchoring block (beyond the clock skew) fails record-time', async () => {
    const now = await latestBlockTime();
    h.clock.set(new Date((now + 3_600) * 1000));
    await h.log.grant(grantInput({ subjectId: 'late', expiresAt: null }), ctx);
    // Mine the anchor at a block time well before the record's own time.
    await chain.provider.request({ method: 'evm_setNextBlockTimestamp', params: [now + 60] });
    expect((await h.anchoring().flushNow()).error).toBeNull();
    const receipt = await h.issuer.issueAnchoredReceipt({ chain: 'events', seq: 1 });
    const result = await verifyReceipt(receipt, h.reader);
    expect(failed(result)).toEqual(['record-time']);
    expect(result.failure?.detail).toContain(`at most ${MAX_CLOCK_SKEW_SECONDS} s`);

    // Within the skew it passes: the gateway's clock a minute ahead of the chain's is ordinary drift.
    h.clock.set(new Date((now + 180) * 1000));
    await h.log.grant(grantInput({ subjectId: 'on-time', expiresAt: null }), ctx);
    await chain.provider.request({ method: 'evm_setNextBlockTimestamp', params: [now + 120] });
    expect((await h.anchoring().flushNow()).error).toBeNull();
    expect((await verifyReceipt(await h.issuer.issueAnchoredReceipt({ chain: 'events', seq: 2 }), h.reader)).ok).toBe(
      true,
    );
  });
});
