// With an external chain (SEALGATE_RPC_URL plus its contract addresses) the gateway starts no anvil
// and deploys nothing; misconfiguration fails the start, an unreachable endpoint only warns.
import { existsSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLedger } from '../../contracts/ledger-bootstrap.ts';
import type { StartLedgerOptions } from '../../contracts/ledger-bootstrap.ts';
import { connectLedger } from '../../contracts/ledger-client.ts';
import { deployLedger } from '../../contracts/ledger-deploy.ts';
import { runDeployCli } from '../../contracts/deploy-cli.ts';
import { deploymentOf, readLedgerAddresses } from '../../contracts/ledger-deployment.ts';
import type { LedgerAddresses } from '../../contracts/ledger-values.ts';
import { startLocalChain } from '../../contracts/local-chain.ts';
import type { LocalChain } from '../../contracts/local-chain.ts';
import { codeOf } from '../fixtures/contracts-fixture.ts';
import { captureChainLog, hex, makeBatch, makeChainDataDir, makeGatewayKeys } from './local-chain-fixture.ts';
import type { GatewayKeys } from './local-chain-fixture.ts';

// The "consortium" chain: one anvil whose registry is owned by an admin key, not by the gateway.
let consortium: LocalChain;
let addresses: LedgerAddresses;
let adminKey: string;
const removals: (() => void)[] = [];

beforeAll(async () => {
  const dir = makeChainDataDir();
  removals.push(dir.remove);
  consortium = await startLocalChain({ dataDir: dir.dataDir, log: captureChainLog() });
  const admin = makeGatewayKeys('admin');
  adminKey = admin.evmPrivateKeyHex;
  await consortium.fund(admin.evmAddress);
  addresses = await deployLedger({ rpcUrl: consortium.rpcUrl, privateKey: adminKey, pollingIntervalMs: 50 });
});
afterAll(async () => {
  await consortium.stop();
  removals.splice(0).forEach((remove) => remove());
});

function gateway(keys: GatewayKeys, overrides: Partial<StartLedgerOptions> = {}) {
  const dir = makeChainDataDir();
  removals.push(dir.remove);
  const log = captureChainLog();
  const options: StartLedgerOptions = {
    dataDir: dir.dataDir,
    partyId: keys.partyId,
    ed25519PublicKey: keys.ed25519PublicKey,
    evmPrivateKeyHex: keys.evmPrivateKeyHex,
    rpcUrl: consortium.rpcUrl,
    addresses,
    log,
    ...overrides,
  };
  return { dataDir: dir.dataDir, log, options };
}

describe('external ledger chain', () => {
  it('is used as configured: no anvil, no deployment, anchors land on it', async () => {
    const keys = makeGatewayKeys('charging-co');
    await consortium.fund(keys.evmAddress);
    const admin = connectLedger({ rpcUrl: consortium.rpcUrl, privateKey: adminKey, addresses, pollingIntervalMs: 50 });
    await admin.registerGateway({
      id: 'charging-co',
      ed25519PublicKey: keys.ed25519PublicKey,
      evmAccount: keys.evmAddress,
    });
    admin.close();

    const { dataDir, log, options } = gateway(keys);
    const ledger = await startLedger(options);
    try {
      expect(ledger.localChain).toBeNull();
      expect(ledger.addresses).toEqual(addresses);
      expect(existsSync(join(dataDir, 'chain'))).toBe(false);
      expect(log.messages('warn')).toEqual([]);
      const { recordHashes, tree } = makeBatch('external', 3);
      await ledger.client.anchorRoot(tree.root, 3, null);
      expect(await ledger.client.verifyInclusionOnChain(tree.root, recordHashes[0]!, tree.proof(0))).toBe(true);
      expect(await ledger.client.lastRootOf('charging-co')).toBe(hex(tree.root));
    } finally {
      await ledger.stop();
    }
  });

  it('an unregistered gateway starts with a warning naming what the registry owner needs', async () => {
    const keys = makeGatewayKeys('battery-maker');
    const { log, options } = gateway(keys);
    const ledger = await startLedger(options);
    await ledger.stop();
    const warning = log.entries.find((e) => e.level === 'warn');
    expect(warning?.detail).toEqual({
      registration: 'unregistered',
      partyId: 'battery-maker',
      evmAccount: keys.evmAddress,
      ed25519PublicKey: hex(keys.ed25519PublicKey),
    });
    expect(JSON.stringify(log.entries)).not.toContain(keys.evmPrivateKeyHex.slice(2));
  });

  it('a wrong chain id or addresses without contracts fail the start', async () => {
    const keys = makeGatewayKeys('insurer');
    const wrongChain = await startLedger(gateway(keys, { addresses: { ...addresses, chainId: 1 } }).options).catch(
      (e: unknown) => e,
    );
    expect(wrongChain).toMatchObject({ code: 'LEDGER_UNAVAILABLE', detail: { reason: 'wrong-chain' } });
    const empty = { ...addresses, anchor: `0x${'ab'.repeat(20)}` };
    const noContract = await startLedger(gateway(keys, { addresses: empty }).options).catch((e: unknown) => e);
    expect(noContract).toMatchObject({ code: 'LEDGER_UNAVAILABLE', detail: { reason: 'no-contract' } });
    expect(await codeOf(startLedger(gateway(keys, { addresses: undefined as never }).options))).toBe('BAD_INPUT');
  });

  it('an unreachable endpoint only warns; writes then fail with LEDGER_UNAVAILABLE until it is back', async () => {
    // A port that was free a moment ago: nothing listens there.
    const port = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const { port: p } = server.address() as { port: number };
        server.close(() => resolve(p));
      });
    });
    const keys = makeGatewayKeys('insurer');
    const { log, options } = gateway(keys, { rpcUrl: `http://127.0.0.1:${port}`, timeoutMs: 2_000 });
    const ledger = await startLedger(options);
    try {
      expect(log.messages('warn')).toEqual(['external ledger unreachable at start; anchoring will retry']);
      expect(await codeOf(ledger.client.anchorRoot(makeBatch('down', 1).tree.root, 1, null))).toBe(
        'LEDGER_UNAVAILABLE',
      );
    } finally {
      await ledger.stop();
    }
  });

  it('ledger addresses are read from JSON text or from a deployment file, and refused when incomplete', async () => {
    expect(await readLedgerAddresses(JSON.stringify(addresses))).toEqual(addresses);
    const dir = makeChainDataDir();
    removals.push(dir.remove);
    const file = join(dir.dataDir, 'deployment.json');
    writeFileSync(file, JSON.stringify(deploymentOf(addresses, addresses.registry, new Date('2025-03-01T00:00:00Z'))));
    expect(await readLedgerAddresses(file)).toEqual(addresses);
    const { deployBlock: _omit, ...incomplete } = addresses;
    const refused = await readLedgerAddresses(JSON.stringify(incomplete)).catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'BAD_INPUT', detail: { field: 'ledgerAddresses', fields: ['deployBlock'] } });
    expect(await codeOf(readLedgerAddresses(join(dir.dataDir, 'missing.json')))).toBe('BAD_INPUT');
    expect(await codeOf(readLedgerAddresses('{not json'))).toBe('BAD_INPUT');
  });

  it('npm run ledger:deploy deploys for a consortium: the owner it names registers, the deployer cannot', async () => {
    const deployer = makeGatewayKeys('deployer');
    const multisig = makeGatewayKeys('multisig');
    await Promise.all([consortium.fund(deployer.evmAddress), consortium.fund(multisig.evmAddress)]);
    const out: string[] = [];
    const err: string[] = [];
    const io = { out: (l: string) => out.push(l), err: (l: string) => err.push(l) };
    const env = { SEALGATE_DEPLOYER_KEY: deployer.evmPrivateKeyHex };
    const args = ['--rpc', consortium.rpcUrl, '--owner', multisig.evmAddress];
    expect(await runDeployCli(args, { ...io, env })).toBe(0);
    const deployed = await readLedgerAddresses(out.join('\n'));
    expect(JSON.parse(out.join('\n')).registryOwner.toLowerCase()).toBe(multisig.evmAddress.toLowerCase());

    const keys = makeGatewayKeys('member-a');
    const registration = { id: 'member-a', ed25519PublicKey: keys.ed25519PublicKey, evmAccount: keys.evmAddress };
    const asDeployer = connectLedger({
      rpcUrl: consortium.rpcUrl,
      privateKey: deployer.evmPrivateKeyHex,
      addresses: deployed,
    });
    const asOwner = connectLedger({
      rpcUrl: consortium.rpcUrl,
      privateKey: multisig.evmPrivateKeyHex,
      addresses: deployed,
    });
    try {
      expect(await codeOf(asDeployer.registerGateway(registration))).toBe('LEDGER_UNAUTHORIZED');
      await asOwner.registerGateway(registration);
      expect((await asOwner.getGateway('member-a'))?.status).toBe('Active');
    } finally {
      asDeployer.close();
      asOwner.close();
    }
    // No key, a key on the command line, the zero owner: usage errors, nothing deployed.
    err.length = 0;
    expect(await runDeployCli(args, { ...io, env: {} })).toBe(2);
    expect(await runDeployCli([...args, '--key', deployer.evmPrivateKeyHex], { ...io, env })).toBe(2);
    expect(await runDeployCli(['--rpc', consortium.rpcUrl, '--owner', `0x${'0'.repeat(40)}`], { ...io, env })).toBe(2);
    expect(err.join('\n')).not.toContain(deployer.evmPrivateKeyHex.replace(/^0x/, ''));
  });
});
