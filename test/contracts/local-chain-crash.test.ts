// An embedded anvil that dies on its own (crash, OOM kill) under a running gateway is started again on the same
// URL from its last state dump, and anchors it lost with the blocks after that dump are sent again. These tests
// run the real pinned anvil binary and SIGKILL it.
import { readFileSync, writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../gateway/config.ts';
import { createContext, type GatewayContext } from '../../gateway/services/context.ts';
import { startLocalChain, type LocalChain } from '../../contracts/local-chain.ts';
import { captureLog, makeDataDir, TEST_PASSPHRASE } from '../fixtures/gateway-fixture.ts';
import { grantBody } from '../fixtures/consent-bodies.ts';
import {
  captureChainLog,
  dumpedBlockNumber,
  isProcessAlive,
  makeChainDataDir,
  waitUntil,
} from './local-chain-fixture.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function rpc(url: string, method: string, params: unknown[] = []): Promise<unknown> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  const body = (await response.json()) as { result?: unknown; error?: unknown };
  if (body.error !== undefined) throw new Error(`${method}: ${JSON.stringify(body.error)}`);
  return body.result;
}

async function startChain(
  stateIntervalSeconds: number,
  restartDelayMs = 100,
): Promise<{ chain: LocalChain; log: ReturnType<typeof captureChainLog> }> {
  const dir = makeChainDataDir();
  const log = captureChainLog();
  const chain = await startLocalChain({ dataDir: dir.dataDir, log, stateIntervalSeconds, restartDelayMs });
  cleanups.push(dir.remove, () => chain.stop());
  return { chain, log };
}

describe('embedded chain that dies on its own', () => {
  it('is started again on the same URL from its last state dump, and says so', async () => {
    const { chain, log } = await startChain(1);
    let restartsSeen = 0;
    chain.onRestarted(() => {
      restartsSeen++;
    });
    await rpc(chain.rpcUrl, 'anvil_mine', ['0x5']);
    await waitUntil('a state dump with block 5', () => dumpedBlockNumber(chain.statePath) >= 5);
    const firstPid = chain.pid;

    process.kill(firstPid, 'SIGKILL');
    await waitUntil('anvil to be started again', () => chain.restarts === 1 && chain.isRunning());
    expect(chain.pid).not.toBe(firstPid);
    expect(isProcessAlive(firstPid)).toBe(false);
    expect(restartsSeen).toBe(1);
    expect(log.messages('error')).toContain('local chain exited unexpectedly');
    expect(log.messages('warn')).toContain('local chain restarted from its last state dump');
    // Same URL, same chain, the dumped blocks are there.
    expect(Number(await rpc(chain.rpcUrl, 'eth_chainId'))).toBe(chain.chainId);
    expect(Number(await rpc(chain.rpcUrl, 'eth_blockNumber'))).toBeGreaterThanOrEqual(5);

    // A second crash is survived the same way, and a stop after it leaves nothing running.
    process.kill(chain.pid, 'SIGKILL');
    await waitUntil('anvil to be started a second time', () => chain.restarts === 2 && chain.isRunning());
    const lastPid = chain.pid;
    await chain.stop();
    expect(isProcessAlive(lastPid)).toBe(false);
    expect(chain.isRunning()).toBe(false);
  });

  it('is not started again from no state at all: an empty chain would be another ledger', async () => {
    // An hour between dumps: nothing is written before the kill.
    const { chain, log } = await startChain(3600);
    expect(dumpedBlockNumber(chain.statePath)).toBe(-1);
    process.kill(chain.pid, 'SIGKILL');
    await waitUntil('the refusal to restart', () =>
      log
        .messages('error')
        .includes('local chain not restarted: it never wrote its state; restart the gateway to recover'),
    );
    expect(chain.isRunning()).toBe(false);
    expect(chain.restarts).toBe(0);
  });

  it('is not started again from a torn state file', async () => {
    const { chain, log } = await startChain(1, 1_000);
    await waitUntil('a state dump', () => dumpedBlockNumber(chain.statePath) >= 0);
    process.kill(chain.pid, 'SIGKILL');
    await waitUntil('anvil to die', () => !chain.isRunning());
    // As if the kill had come in the middle of anvil rewriting the file.
    const text = readFileSync(chain.statePath, 'utf8');
    writeFileSync(chain.statePath, text.slice(0, Math.floor(text.length / 2)));
    await waitUntil(
      'the refusal to restart',
      () => log.messages('error').some((m) => m.startsWith('local chain not restarted: its state file is torn')),
      5_000,
    );
    expect(chain.isRunning()).toBe(false);
    expect(chain.restarts).toBe(0);
  });
});

describe('anchoring across a crash of the embedded chain', () => {
  it('sends again an anchor the chain lost with the blocks after its last dump', async () => {
    const dir = makeDataDir();
    cleanups.push(dir.remove);
    const config = loadConfig({
      SEALGATE_DATA_DIR: dir.dataDir,
      SEALGATE_PASSPHRASE: TEST_PASSPHRASE,
      SEALGATE_PARTY_ID: 'dealer-4s',
      // Dumps only at a clean stop: the anchor made after the restart below is surely not in the file.
      SEALGATE_LEDGER: 'local',
      SEALGATE_ANCHOR_INTERVAL_MS: '100',
      SEALGATE_CHAIN_STATE_INTERVAL_S: '3600',
    });
    const open = async (): Promise<GatewayContext> => {
      const ctx = await createContext(config, { logDestination: captureLog().stream });
      cleanups.push(() => ctx.close());
      return ctx;
    };
    const anchorOneGrant = async (ctx: GatewayContext, subjectId: string) => {
      await ctx.consent.grant(grantBody(subjectId), { actor: 'token:test' });
      const result = await ctx.ledger.anchoring!.flushNow();
      expect(result.error).toBeNull();
      return ctx.ledger.anchoring!.status().lastAnchoredBatch!;
    };

    const first = await open();
    const kept = await anchorOneGrant(first, 'cust-kept');
    await first.close(); // a clean stop: anvil writes the chain with the first anchor

    const ctx = await open();
    const lost = await anchorOneGrant(ctx, 'cust-lost');
    expect(lost.batchNo).toBe(kept.batchNo + 1);
    const chain = ctx.ledger.ledger!.localChain!;
    const client = ctx.ledger.ledger!.client;
    expect(await client.lastRootOf('dealer-4s')).toBe(lost.root);

    expect(ctx.ledger.readiness()).toBe('ok');
    process.kill(chain.pid, 'SIGKILL');
    await waitUntil('anvil to die', () => !chain.isRunning());
    expect(ctx.ledger.readiness()).toBe('degraded');
    await waitUntil('anvil to be started again', () => chain.restarts === 1 && chain.isRunning(), 20_000);
    // The restarted chain is the dumped one: it has the first anchor and not the second.
    expect(await client.lastRootOf('dealer-4s')).toBe(kept.root);

    // Told of the restart, anchoring reconciles and sends the lost batch again, once, on the same root.
    await waitUntil(
      'the lost anchor to be on chain again',
      async () => (await client.lastRootOf('dealer-4s')) === lost.root,
      20_000,
    );
    const again = ctx.ledger.anchoring!.status().lastAnchoredBatch!;
    expect(again).toMatchObject({ batchNo: lost.batchNo, root: lost.root });
    // The same nonce, data and deterministic signature can give the same transaction hash: what counts is that the
    // recorded transaction is mined on the chain as it is now.
    const found = await client.findAnchorTx(lost.root);
    expect(found?.txHash).toBe(again.txHash);
    expect(await rpc(chain.rpcUrl, 'eth_getTransactionReceipt', [again.txHash])).toMatchObject({ status: '0x1' });
    expect(ctx.ledger.readiness()).toBe('ok');
  });
});
