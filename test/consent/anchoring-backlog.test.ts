// The anchoring backlog the gateway's metrics read (AnchorStore.readBacklog, docs/operations.md): records committed
// and not yet anchored, built batches waiting for the chain included, and when the oldest of them occurred.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  deployFreshLedger,
  startSimulatedChain,
  type Ledger,
  type SimulatedChain,
} from '../fixtures/contracts-fixture.ts';
import {
  fakeTimers,
  openAnchoringHarness,
  switchablePort,
  writeGrants,
  type AnchoringHarness,
} from '../fixtures/anchoring-fixture.ts';
import { T0 } from '../fixtures/consent-log-fixture.ts';

let chain: SimulatedChain;
let ledger: Ledger;
let h: AnchoringHarness;

beforeAll(async () => {
  chain = await startSimulatedChain();
});
afterAll(async () => {
  await chain.close();
});
beforeEach(async () => {
  ledger = await deployFreshLedger(chain);
  h = await openAnchoringHarness(chain, ledger);
});
afterEach(async () => {
  await h.dispose();
});

const at = (ms: number) => new Date(Date.parse(T0) + ms).toISOString();

describe('anchoring backlog', () => {
  it('counts what is not anchored, built batches included, dates the oldest, and empties once anchored', async () => {
    const port = switchablePort(h.port);
    const anchoring = h.anchoring({ ledger: port, timers: fakeTimers() });
    const empty = await h.store.settledHeads();
    expect(await h.anchors.readBacklog(empty)).toEqual({ pendingRecords: 0, oldestPendingAt: null });

    // Each grant is one event and one audit entry.
    await writeGrants(h, 2);
    h.clock.advance(60_000);
    await writeGrants(h, 1, 2);
    const heads = await h.store.settledHeads();
    expect(await h.anchors.readBacklog(heads)).toEqual({ pendingRecords: 6, oldestPendingAt: T0 });

    // Batched while the chain is down: built, not anchored, still pending.
    port.isDown = true;
    expect((await anchoring.flushNow()).error?.code).toBe('LEDGER_UNAVAILABLE');
    expect(anchoring.status()).toMatchObject({ builtBatches: 1, unbatchedRecords: 0 });
    expect(await h.anchors.readBacklog(heads)).toEqual({ pendingRecords: 6, oldestPendingAt: T0 });

    port.isDown = false;
    expect(await anchoring.flushNow()).toMatchObject({ anchored: 1, error: null });
    expect(await h.anchors.readBacklog(heads)).toEqual({ pendingRecords: 0, oldestPendingAt: null });

    h.clock.advance(1_000);
    await writeGrants(h, 1, 3);
    const later = await h.store.settledHeads();
    expect(await h.anchors.readBacklog(later)).toEqual({ pendingRecords: 2, oldestPendingAt: at(61_000) });
  });
});
