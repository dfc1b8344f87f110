// When the anchoring service builds and sends batches, driven by injected clock and timers (no sleeps):
// size or interval, the retry backoff, deadlines on every ledger call, and a bounded stop().
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { LedgerPort } from '../../consent/ledger-port.ts';
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
  type FakeTimers,
} from '../fixtures/anchoring-fixture.ts';

const POLL_MS = 1_000;
const INTERVAL_MS = 5_000;
const RPC_MS = 30_000;
const STOP_MS = 7_000;

let chain: SimulatedChain;
let ledger: Ledger;
let h: AnchoringHarness;
let timers: FakeTimers;

beforeAll(async () => {
  chain = await startSimulatedChain();
});
afterAll(async () => {
  await chain.close();
});
beforeEach(async () => {
  ledger = await deployFreshLedger(chain);
  h = await openAnchoringHarness(chain, ledger);
  timers = fakeTimers();
});
afterEach(async () => {
  await h.dispose();
});

const service = (overrides: Parameters<AnchoringHarness['anchoring']>[0] = {}) =>
  h.anchoring({
    timers,
    pollMs: POLL_MS,
    intervalMs: INTERVAL_MS,
    rpcTimeoutMs: RPC_MS,
    stopTimeoutMs: STOP_MS,
    ...overrides,
  });

/** Resolves once `check` holds (for work started but not awaited); real time only bounds the wait. */
async function until(check: () => boolean): Promise<void> {
  const end = Date.now() + 10_000;
  while (!check() && Date.now() < end) await new Promise((resolve) => setTimeout(resolve, 5));
  expect(check()).toBe(true);
}

describe('anchoring triggers', () => {
  it('builds a partial batch only once the interval has passed', async () => {
    const s = service();
    await s.start();
    await writeGrants(h, 3);
    h.clock.advance(INTERVAL_MS - 1);
    await timers.fire(POLL_MS);
    expect(s.status()).toMatchObject({ unbatchedRecords: 6, builtBatches: 0, lastAnchoredBatch: null });
    h.clock.advance(1);
    await timers.fire(POLL_MS);
    expect(s.status()).toMatchObject({ state: 'ok', pendingRecords: 0, lastAnchoredBatch: { batchNo: 1, count: 6 } });
  });

  it('builds a full batch at once, before the interval', async () => {
    const s = service({ maxRecords: 10 });
    await s.start();
    await writeGrants(h, 4);
    await timers.fire(POLL_MS);
    expect(s.status()).toMatchObject({ unbatchedRecords: 8, lastAnchoredBatch: null });
    await writeGrants(h, 1, 10);
    await timers.fire(POLL_MS);
    expect(s.status()).toMatchObject({ pendingRecords: 0, lastAnchoredBatch: { batchNo: 1, count: 10 } });
  });

  it('a timed retry waits out the backoff, while flushNow does not', async () => {
    const port = switchablePort(h.port);
    port.isDown = true;
    const s = service({ ledger: port, retryBaseMs: 10_000 });
    await s.start(); // first failure: retry in 0.75 × 10 s
    await writeGrants(h, 2);
    port.isDown = false;
    h.clock.advance(INTERVAL_MS);
    const before = { ...port.calls };
    await timers.fire(POLL_MS);
    expect(port.calls).toEqual(before); // built locally, nothing sent yet
    expect(s.status()).toMatchObject({ state: 'degraded', builtBatches: 1 });
    h.clock.advance(2_500);
    await timers.fire(POLL_MS);
    expect(s.status()).toMatchObject({ state: 'ok', pendingRecords: 0, lastAnchoredBatch: { batchNo: 1 } });
  });

  it('a ledger call that hangs fails at its deadline and is retried without a duplicate', async () => {
    let isHanging = true;
    let calls = 0;
    const hanging: LedgerPort = {
      ...h.port,
      anchorRoot(root, count, prev, commit) {
        calls++;
        return isHanging ? new Promise(() => undefined) : h.port.anchorRoot(root, count, prev, commit);
      },
    };
    const s = service({ ledger: hanging });
    await writeGrants(h, 2);
    const flushing = s.flushNow();
    await until(() => calls === 1);
    timers.trigger(RPC_MS);
    const result = await flushing;
    expect(result.error?.code).toBe('LEDGER_UNAVAILABLE');
    expect(result.error?.detail).toMatchObject({ operation: 'ledger.anchorRoot', reason: 'timeout' });
    expect(s.status()).toMatchObject({ state: 'degraded', reason: 'LEDGER_UNAVAILABLE: timeout' });
    isHanging = false;
    expect(await s.flushNow()).toMatchObject({ anchored: 1, error: null });
  });

  it('stop waits for work in flight, but no longer than its deadline', async () => {
    let calls = 0;
    const hanging: LedgerPort = {
      ...h.port,
      anchorRoot: () => {
        calls++;
        return new Promise(() => undefined);
      },
    };
    const s = service({ ledger: hanging });
    await s.start();
    await writeGrants(h, 1);
    void s.flushNow();
    await until(() => calls === 1);
    let isStopped = false;
    const stopping = s.stop().then(() => {
      isStopped = true;
    });
    await until(() => timers.pending(STOP_MS) === 1);
    expect(isStopped).toBe(false);
    timers.trigger(STOP_MS);
    await stopping;
    expect(s.status().isRunning).toBe(false);
    expect(timers.pending(POLL_MS)).toBe(0);
  });
});
