// The anchoring service anchors every consent event and audit entry exactly once, in order, on the in-process
// Hardhat network (DESIGN.md §4 "Anchoring"): across batches, across an RPC outage, across a crash between
// sending and recording, and after the chain lost an anchor.
import { afterEach, describe, expect, it } from 'vitest';
import { countOf, type AnchorBatch } from '../../consent/anchor-store.ts';
import { ZERO_ROOT, type LedgerPort } from '../../consent/ledger-port.ts';
import { buildStatusTree } from '../../consent/status-tree.ts';
import { buildMerkleTree } from '../../consent/merkle.ts';
import { ledgerPortOf } from '../../contracts/ledger-port-adapter.ts';
import type { Ledger, SimulatedChain } from '../fixtures/contracts-fixture.ts';
import { useFreshLedger } from '../fixtures/fresh-ledger.ts';
import {
  GATEWAY_ID,
  anchoredEventCount,
  crashAfterSendPort,
  openAnchoringHarness,
  switchablePort,
  writeGrants,
  type AnchoringHarness,
} from '../fixtures/anchoring-fixture.ts';

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

const allBatches = async (): Promise<AnchorBatch[]> => h.anchors.listBatches(0, 10_000);

/** Every seq of both chains lies in exactly one batch, batches chain by prevRoot, and each root is on chain once. */
async function expectAnchoredExactlyOnce(): Promise<AnchorBatch[]> {
  const heads = await h.anchors.readHeads();
  const batches = await allBatches();
  const seen = { events: new Map<number, number>(), audit: new Map<number, number>() };
  let prevRoot = ZERO_ROOT;
  for (const b of batches) {
    for (let s = b.eventsFrom; s <= b.eventsTo; s++) seen.events.set(s, (seen.events.get(s) ?? 0) + 1);
    for (let s = b.auditFrom; s <= b.auditTo; s++) seen.audit.set(s, (seen.audit.get(s) ?? 0) + 1);
    expect(b.prevRoot).toBe(prevRoot);
    expect(b.status).toBe('anchored');
    // The root is what the recorded leaves rebuild to, and the chain holds it once with this count and link.
    const leaves = await h.anchors.readBatchLeaves(b);
    expect(`0x${Buffer.from(buildMerkleTree(leaves.map((x) => Buffer.from(x, 'hex'))).root).toString('hex')}`).toBe(
      b.root,
    );
    const onChain = await h.port.findAnchorTx(b.root);
    expect(onChain).toMatchObject({
      gatewayId: GATEWAY_ID,
      count: countOf(b),
      prevRoot,
      blockNumber: b.blockNumber,
      blockTime: b.blockTime,
      keyId: h.signer.keyId,
      stateRoot: b.stateRoot,
    });
    // The status root is the tree over every record's last event up to the batch's end.
    expect(b.stateRoot).toBe(`0x${buildStatusTree(await h.anchors.readStatusLeaves(b.eventsTo)).root.toString('hex')}`);
    expect(await anchoredEventCount(chain.provider, ledger.addresses.anchor, b.root)).toBe(1);
    prevRoot = b.root;
  }
  expect([...seen.events.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: heads.events }, (_, i) => i + 1));
  expect([...seen.audit.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: heads.audit }, (_, i) => i + 1));
  expect([...seen.events.values(), ...seen.audit.values()].every((n) => n === 1)).toBe(true);
  expect(await h.port.lastRootOf(GATEWAY_ID)).toBe(prevRoot);
  return batches;
}

describe('anchoring', () => {
  it('every record is anchored exactly once across batches', async () => {
    const service = h.anchoring({ maxRecords: 7 });
    await service.start();
    await writeGrants(h, 10);
    expect(await service.flushNow()).toEqual({ built: 3, anchored: 3, error: null });
    await writeGrants(h, 5, 100);
    await h.log.recordDecision({
      actor: 'tok_pdp',
      action: 'read',
      outcome: 'permit',
      purpose: 'joint-modeling',
      reasons: ['consent'],
      consentIds: [],
      delegationIds: [],
    });
    expect(await service.flushNow()).toEqual({ built: 2, anchored: 2, error: null });
    expect(await service.flushNow()).toEqual({ built: 0, anchored: 0, error: null });

    const batches = await expectAnchoredExactlyOnce();
    expect(batches.map(countOf)).toEqual([7, 7, 6, 7, 4]);
    expect(batches.reduce((n, b) => n + b.count, 0)).toBe(15 + 16);
    expect(service.status()).toMatchObject({
      state: 'ok',
      reason: null,
      pendingRecords: 0,
      builtBatches: 0,
      lastAnchoredBatch: { batchNo: 5 },
    });
  });

  it('commits the batch row with its root before the transaction is sent', async () => {
    const seenAtSend: (AnchorBatch | null)[] = [];
    const spy: LedgerPort = {
      ...h.port,
      async anchorRoot(root, count, prev, commit) {
        seenAtSend.push(await h.anchors.findBatchByRoot(root));
        return h.port.anchorRoot(root, count, prev, commit);
      },
    };
    const service = h.anchoring({ ledger: spy });
    await writeGrants(h, 3);
    await service.flushNow();
    expect(seenAtSend).toHaveLength(1);
    expect(seenAtSend[0]).toMatchObject({ batchNo: 1, status: 'built', count: 6 });
  });

  it('with the chain down, writes continue and are anchored exactly once after it returns', async () => {
    const port = switchablePort(h.port);
    port.isDown = true;
    const service = h.anchoring({ ledger: port, retryBaseMs: 1_000, retryMaxMs: 8_000 });
    await service.start();
    expect(service.status()).toMatchObject({ state: 'degraded', reason: 'LEDGER_UNAVAILABLE: test-outage' });

    await writeGrants(h, 4);
    const first = await service.flushNow();
    expect(first).toMatchObject({ built: 1, anchored: 0 });
    expect(first.error?.code).toBe('LEDGER_UNAVAILABLE');
    await writeGrants(h, 3, 50); // consent writes are unaffected by the outage
    expect((await service.flushNow()).built).toBe(1);
    expect(service.status()).toMatchObject({
      state: 'degraded',
      pendingRecords: 14,
      unbatchedRecords: 0,
      builtBatches: 2,
    });
    expect(await h.anchors.getBatch(1)).toMatchObject({
      status: 'built',
      attempts: 2,
      lastError: 'LEDGER_UNAVAILABLE: test-outage',
    });
    // Equal jitter with random() = 0.5: 3/4 of min(cap, base·2^(n-1)) after the n-th consecutive failure.
    const retryIn = () => Date.parse(service.status().nextRetryAt!) - h.clock.now().getTime();
    expect(retryIn()).toBe(0.75 * 4_000);
    await service.flushNow();
    await service.flushNow();
    expect(retryIn()).toBe(0.75 * 8_000); // capped

    port.isDown = false;
    expect(await service.flushNow()).toEqual({ built: 0, anchored: 2, error: null });
    expect(service.status()).toMatchObject({ state: 'ok', reason: null, pendingRecords: 0, nextRetryAt: null });
    await expectAnchoredExactlyOnce();
  });

  it('a crash between sending and recording reconciles without duplicate', async () => {
    const crashing = crashAfterSendPort(h.port);
    const first = h.anchoring({ ledger: crashing });
    await writeGrants(h, 5);
    expect((await first.flushNow()).error?.code).toBe('LEDGER_UNAVAILABLE');
    expect(crashing.sent).toHaveLength(1);
    const [batch] = await allBatches();
    expect(batch).toMatchObject({ status: 'built', txHash: null });

    // A new process on the same file: start() finds the root on chain and records it instead of sending again.
    h = await h.reopen();
    const port = switchablePort(h.port);
    const second = h.anchoring({ ledger: port });
    await second.start();
    expect(port.calls['anchorRoot'] ?? 0).toBe(0);
    const recorded = await h.anchors.getBatch(1);
    const onChain = await h.port.findAnchorTx(batch!.root);
    expect(recorded).toMatchObject({
      status: 'anchored',
      txHash: onChain!.txHash,
      blockNumber: onChain!.blockNumber,
      gasUsed: null,
    });
    expect(await anchoredEventCount(chain.provider, ledger.addresses.anchor, batch!.root)).toBe(1);

    await writeGrants(h, 2, 20);
    expect(await second.flushNow()).toMatchObject({ built: 1, anchored: 1, error: null });
    await expectAnchoredExactlyOnce();
  });

  it('a retry in the same process finds the mined root instead of sending it again', async () => {
    let sends = 0;
    const once = crashAfterSendPort(h.port);
    const port: LedgerPort = {
      ...h.port,
      anchorRoot: (root, count, prev, commit) =>
        ++sends === 1 ? once.anchorRoot(root, count, prev, commit) : h.port.anchorRoot(root, count, prev, commit),
    };
    const service = h.anchoring({ ledger: port });
    await writeGrants(h, 3);
    expect((await service.flushNow()).error?.code).toBe('LEDGER_UNAVAILABLE');
    expect(await service.flushNow()).toEqual({ built: 0, anchored: 1, error: null });
    expect(sends).toBe(1);
    await expectAnchoredExactlyOnce();
  });

  it('a batch whose recorded anchor the chain lost is anchored again, once, in order', async () => {
    // A port that "mines" without sending: what a local chain that lost its last blocks looks like afterwards.
    const lossy: LedgerPort = {
      ...h.port,
      anchorRoot: async () => ({ txHash: `0x${'ab'.repeat(32)}`, blockNumber: 999, gasUsed: 1, blockTime: 1 }),
    };
    const real = h.anchoring();
    await writeGrants(h, 2);
    await real.flushNow();
    await writeGrants(h, 2, 10);
    await h.anchoring({ ledger: lossy }).flushNow();
    expect(await h.anchors.getBatch(2)).toMatchObject({ status: 'anchored', txHash: `0x${'ab'.repeat(32)}` });

    const restarted = h.anchoring();
    await restarted.start();
    expect(await h.anchors.getBatch(2)).toMatchObject({
      status: 'built',
      lastError: 'anchor missing on chain; re-anchoring',
    });
    expect(await restarted.flushNow()).toMatchObject({ anchored: 1, error: null });
    await expectAnchoredExactlyOnce();
  });

  it('a root anchored by an unregistered account is rejected', async () => {
    const outsider = ledgerPortOf(ledger.clientFor(chain.accounts[5]!), GATEWAY_ID);
    const service = h.anchoring({ ledger: outsider });
    await writeGrants(h, 2);
    const result = await service.flushNow();
    expect(result.error?.code).toBe('LEDGER_UNAUTHORIZED');
    expect(service.status()).toMatchObject({
      state: 'degraded',
      reason: 'LEDGER_UNAUTHORIZED: NotActiveGateway',
      builtBatches: 1,
    });
    const [batch] = await allBatches();
    expect(await h.port.getAnchor(batch!.root)).toBeNull();
    expect(await anchoredEventCount(chain.provider, ledger.addresses.anchor, batch!.root)).toBe(0);
  });

  it('refuses to send when the chain holds a last root this store never built', async () => {
    await h.client.anchorRoot(`0x${'cd'.repeat(32)}`, 1, null);
    const service = h.anchoring();
    await service.start();
    expect(service.status()).toMatchObject({ state: 'degraded', reason: 'ANCHOR_CHAIN_BROKEN: chain-diverged' });
    await writeGrants(h, 1);
    expect((await service.flushNow()).error?.code).toBe('ANCHOR_CHAIN_BROKEN');
    expect((await allBatches())[0]).toMatchObject({ status: 'built' });
  });
});
