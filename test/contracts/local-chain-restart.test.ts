// The embedded anvil chain keeps the ledger across gateway restarts (DESIGN.md §5): anchors and
// proofs survive a stop, a SIGKILL of anvil after its dump interval, and a second start never
// redeploys. These tests run the real pinned anvil binary as a child process.
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startLedger } from '../../contracts/ledger-bootstrap.ts';
import type { StartLedgerOptions, StartedLedger } from '../../contracts/ledger-bootstrap.ts';
import { startLocalChain } from '../../contracts/local-chain.ts';
import { codeOf } from '../fixtures/contracts-fixture.ts';
import { freePort } from '../fixtures/free-port.ts';
import {
  captureChainLog,
  dumpedBlockNumber,
  hex,
  isProcessAlive,
  makeBatch,
  makeChainDataDir,
  makeGatewayKeys,
  waitUntil,
} from './local-chain-fixture.ts';

const running: StartedLedger[] = [];
const removals: (() => void)[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((l) => l.stop()));
  removals.splice(0).forEach((remove) => remove());
});

function setup(partyId = 'dealer-4s') {
  const dir = makeChainDataDir();
  removals.push(dir.remove);
  const keys = makeGatewayKeys(partyId);
  const log = captureChainLog();
  const options: StartLedgerOptions = {
    dataDir: dir.dataDir,
    partyId,
    ed25519PublicKey: keys.ed25519PublicKey,
    evmPrivateKeyHex: keys.evmPrivateKeyHex,
    log,
  };
  const start = async (overrides: Partial<StartLedgerOptions> = {}): Promise<StartedLedger> => {
    const ledger = await startLedger({ ...options, ...overrides });
    running.push(ledger);
    return ledger;
  };
  const chainFile = (name: string) => join(dir.dataDir, 'chain', name);
  return { keys, log, options, start, chainFile };
}

async function errorOf(promise: Promise<unknown>): Promise<{ code?: string; detail?: Record<string, unknown> }> {
  try {
    await promise;
  } catch (error) {
    return error as { code?: string; detail?: Record<string, unknown> };
  }
  throw new Error('expected a rejection');
}

describe('embedded ledger chain', () => {
  it('first start deploys, writes deployment.json and registers the gateway with its own keys', async () => {
    const { keys, start, chainFile } = setup();
    const ledger = await start();
    const deployment = JSON.parse(readFileSync(chainFile('deployment.json'), 'utf8'));
    expect(deployment).toMatchObject({
      v: 1,
      chainId: 31_337,
      deployer: keys.evmAddress,
      deployBlock: ledger.addresses.deployBlock,
      addresses: {
        registry: ledger.addresses.registry,
        anchor: ledger.addresses.anchor,
        packages: ledger.addresses.packages,
      },
    });
    expect(statSync(chainFile('deployment.json')).mode & 0o777).toBe(0o600);
    const entry = await ledger.client.getGateway('dealer-4s');
    expect(entry).toMatchObject({
      status: 'Active',
      ed25519PublicKey: hex(keys.ed25519PublicKey),
      evmAccount: keys.evmAddress,
    });
    // The gateway's account is its own random key, not a well-known dev account; anvil has none.
    const accounts = await fetch(ledger.rpcUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_accounts', params: [] }),
    });
    expect(((await accounts.json()) as { result: unknown }).result).toEqual([]);
    expect(await ledger.client.account()).toBe(keys.evmAddress);
  });

  it('anchors survive a chain restart', async () => {
    const { start } = setup();
    const first = await start();
    const { recordHashes, tree } = makeBatch('restart', 5);
    const receipt = await first.client.anchorRoot(tree.root, 5, null);
    const proof = tree.proof(3);
    expect(await first.client.verifyInclusionOnChain(tree.root, recordHashes[3]!, proof)).toBe(true);
    const lastRoot = await first.client.lastRootOf('dealer-4s');
    await first.stop();
    expect(first.localChain?.isRunning()).toBe(false);

    const firstPid = first.localChain?.pid;
    const second = await start();
    expect(second.localChain?.pid).not.toBe(firstPid); // really a new anvil process
    // On the same port: an RPC URL saved by a client or a verifier keeps working across restarts.
    expect(second.rpcUrl).toBe(first.rpcUrl);
    expect(await second.client.verifyInclusionOnChain(tree.root, recordHashes[3]!, proof)).toBe(true);
    expect(await second.client.verifyInclusionOnChain(tree.root, recordHashes[2]!, proof)).toBe(false);
    expect(await second.client.lastRootOf('dealer-4s')).toBe(lastRoot);
    expect(lastRoot).toBe(hex(tree.root));
    // The transaction and its event are still there, so a receipt's txHash stays checkable.
    expect(await second.client.findAnchorTx(tree.root)).toMatchObject({
      txHash: receipt.txHash,
      blockNumber: receipt.blockNumber,
      count: 5,
    });
    // The gateway's anchor chain continues where it was.
    const next = makeBatch('after-restart', 2);
    await second.client.anchorRoot(next.tree.root, 2, tree.root);
    expect(await second.client.lastRootOf('dealer-4s')).toBe(hex(next.tree.root));
  });

  it('a configured port is used and remembered; a start whose port is taken fails naming the port', async () => {
    const { start } = setup();
    const port = await freePort();
    const first = await start({ chainPort: port });
    expect(first.rpcUrl).toBe(`http://127.0.0.1:${port}`);
    await first.stop();
    // The port is taken by someone else now: the chain does not move to another one silently.
    const squatter = createServer();
    await new Promise<void>((resolve) => squatter.listen(port, '127.0.0.1', resolve));
    try {
      const refusal = await errorOf(start());
      expect(refusal).toMatchObject({ code: 'LEDGER_UNAVAILABLE', detail: { reason: 'port', port } });
      expect(String((refusal as Error).message)).toContain('SEALGATE_CHAIN_PORT');
    } finally {
      await new Promise<void>((resolve) => squatter.close(() => resolve()));
    }
    const again = await start();
    expect(again.rpcUrl).toBe(`http://127.0.0.1:${port}`);
  });

  it('a second start does not redeploy', async () => {
    const { keys, start, chainFile, log } = setup();
    const first = await start();
    const nonceOf = async (ledger: StartedLedger) => {
      const res = await fetch(ledger.rpcUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method: 'eth_getTransactionCount',
          params: [keys.evmAddress, 'latest'],
        }),
      });
      return Number(((await res.json()) as { result: string }).result);
    };
    expect(await nonceOf(first)).toBe(4); // three deployments and one registration
    const recorded = readFileSync(chainFile('deployment.json'), 'utf8');
    await first.stop();

    const second = await start();
    expect(second.addresses).toEqual(first.addresses);
    expect(await nonceOf(second)).toBe(4); // no transaction at all on the second start
    expect(readFileSync(chainFile('deployment.json'), 'utf8')).toBe(recorded);
    expect(log.messages('info').filter((m) => m === 'ledger contracts deployed')).toHaveLength(1);
  });

  it('state survives SIGKILL of anvil after the dump interval', async () => {
    const { start, chainFile, log } = setup();
    const first = await start({ stateIntervalSeconds: 1 });
    const { recordHashes, tree } = makeBatch('sigkill', 8);
    const receipt = await first.client.anchorRoot(tree.root, 8, null);
    const chain = first.localChain!;
    // Wait for a periodic dump that holds the anchor's block: only then is it promised to survive.
    await waitUntil(
      'a state dump with the anchor',
      () => dumpedBlockNumber(chainFile('state.json')) >= receipt.blockNumber,
    );
    process.kill(chain.pid, 'SIGKILL');
    await waitUntil('anvil to die', () => !chain.isRunning());
    expect(log.messages('error')).toContain('local chain exited unexpectedly');
    await first.stop();

    const second = await start();
    expect(await second.client.verifyInclusionOnChain(tree.root, recordHashes[7]!, tree.proof(7))).toBe(true);
    expect(await second.client.lastRootOf('dealer-4s')).toBe(hex(tree.root));
  });

  it('missing chain state with an existing deployment is refused with LEDGER_UNAVAILABLE', async () => {
    const { start, chainFile, log } = setup();
    const first = await start();
    await first.client.anchorRoot(makeBatch('lost', 3).tree.root, 3, null);
    await first.stop();
    const backup = readFileSync(chainFile('state.backup.json'));
    rmSync(chainFile('state.json'));

    // A long dump interval: the refused start must not write an empty chain over anything.
    const refused = await errorOf(start({ stateIntervalSeconds: 600 }));
    expect(refused.code).toBe('LEDGER_UNAVAILABLE');
    expect(refused.detail).toEqual({ reason: 'state-lost' });
    expect(existsSync(chainFile('state.json'))).toBe(false);
    expect(readFileSync(chainFile('state.backup.json')).equals(backup)).toBe(true);
    const anvilPid = log.entries.filter((e) => e.message === 'local chain started').at(-1)?.detail[
      'chainPid'
    ] as number;
    expect(isProcessAlive(anvilPid)).toBe(false);
    // Unknown anchor history counts as "anchors were recorded": still refused.
    expect(await codeOf(start({ stateIntervalSeconds: 600, hasRecordedAnchors: true }))).toBe('LEDGER_UNAVAILABLE');
  });

  it('an empty chain is redeployed only when no anchor was ever recorded, at the same addresses', async () => {
    const { start, chainFile, log } = setup();
    const first = await start();
    await first.stop();
    rmSync(chainFile('state.json'));
    const second = await start({ hasRecordedAnchors: false });
    expect(log.messages('warn')).toContain(
      'local chain state is empty and nothing was ever anchored: deploying the ledger again',
    );
    expect({ ...second.addresses, deployBlock: 0 }).toEqual({ ...first.addresses, deployBlock: 0 });
    expect((await second.client.getGateway('dealer-4s'))?.status).toBe('Active');
  });

  it('a torn state file is refused before anvil starts', async () => {
    const { start, chainFile, log } = setup();
    const first = await start();
    await first.stop();
    truncateSync(chainFile('state.json'), Math.floor(statSync(chainFile('state.json')).size / 2));
    const refused = await errorOf(start());
    expect(refused).toMatchObject({ code: 'LEDGER_UNAVAILABLE', detail: { reason: 'state-corrupt' } });
    expect(log.messages('info').filter((m) => m === 'local chain started')).toHaveLength(1);
  });

  it("a state file anvil cannot load fails the start with LEDGER_UNAVAILABLE and logs anvil's reason", async () => {
    const { chainFile, options, log } = setup();
    mkdirSync(chainFile(''), { recursive: true });
    // Complete by its tail, so only anvil itself can reject it.
    writeFileSync(chainFile('state.json'), '{"historical_states":null}');
    const refused = await errorOf(startLocalChain({ dataDir: options.dataDir, log, startTimeoutMs: 10_000 }));
    expect(refused).toMatchObject({ code: 'LEDGER_UNAVAILABLE', detail: { reason: 'start-failed' } });
    expect(log.messages('error')).toEqual(['local chain failed to start']);
    expect(String(log.entries[0]?.detail['tail'])).toMatch(/state/i);
  });

  it('a lost deployment record is recovered from the contracts the gateway deployed', async () => {
    const { start, chainFile, log } = setup();
    const first = await start();
    const root = makeBatch('recovered', 2).tree.root;
    await first.client.anchorRoot(root, 2, null);
    await first.stop();
    rmSync(chainFile('deployment.json'));
    const second = await start();
    expect(log.messages('warn')).toContain(
      'ledger deployment record was missing; adopted the contracts this gateway deployed earlier',
    );
    expect({ ...second.addresses, deployBlock: 0 }).toEqual({ ...first.addresses, deployBlock: 0 });
    expect(await second.client.lastRootOf('dealer-4s')).toBe(hex(root));
    expect(existsSync(chainFile('deployment.json'))).toBe(true);
  });

  it('a chain deployed by another gateway key is refused with CONFLICT', async () => {
    const { start, options } = setup();
    const first = await start();
    await first.stop();
    const intruder = makeGatewayKeys('dealer-4s');
    expect(await codeOf(start({ ...options, evmPrivateKeyHex: intruder.evmPrivateKeyHex }))).toBe('CONFLICT');
  });

  it('bad party ids and ledger addresses for the embedded chain are refused before anything starts', async () => {
    const { start, log } = setup();
    expect(await codeOf(start({ partyId: 'not a gateway id' }))).toBe('BAD_INPUT');
    expect(await codeOf(start({ ed25519PublicKey: new Uint8Array(31) }))).toBe('BAD_INPUT');
    const addresses = {
      registry: `0x${'1'.repeat(40)}`,
      anchor: `0x${'2'.repeat(40)}`,
      packages: `0x${'3'.repeat(40)}`,
      chainId: 1,
      deployBlock: 0,
    };
    expect(await codeOf(start({ addresses }))).toBe('BAD_INPUT');
    expect(log.entries).toEqual([]);
  });
});
