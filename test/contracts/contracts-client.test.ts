// Ledger client behaviour at the edges: HTTP JSON-RPC, unreachable or wrong chains, local keys,
// and option validation that never echoes secrets (DESIGN.md §5; STYLE.md errors).
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { network } from 'hardhat';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildMerkleTree } from '../../consent/merkle.ts';
import { connectLedger } from '../../contracts/ledger-client.ts';
import { deployLedger } from '../../contracts/ledger-deploy.ts';
import { bytes32Of, codeOf, deployFreshLedger, startSimulatedChain } from '../fixtures/contracts-fixture.ts';
import type { SimulatedChain } from '../fixtures/contracts-fixture.ts';

let chain: SimulatedChain;

beforeAll(async () => {
  chain = await startSimulatedChain();
});
afterAll(async () => {
  await chain.close();
});

/** A loopback port with nothing listening: bind, read the port, release it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('ledger client', () => {
  it('anchors and verifies over an HTTP JSON-RPC endpoint', async () => {
    const server = await network.createServer({}, '127.0.0.1', 0);
    const { address, port } = await server.listen();
    try {
      const rpcUrl = `http://${address}:${port}`;
      const rpc = async (method: string): Promise<unknown> => {
        const res = await fetch(rpcUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params: [] }),
        });
        return ((await res.json()) as { result: unknown }).result;
      };
      const [admin, gateway] = (await rpc('eth_accounts')) as string[];
      const addresses = await deployLedger({ rpcUrl, account: admin! });
      await connectLedger({ rpcUrl, account: admin!, addresses }).registerGateway({
        id: 'charging-op',
        ed25519PublicKey: bytes32Of('k'),
        evmAccount: gateway!,
      });
      const client = connectLedger({ rpcUrl, account: gateway!, addresses });
      const hashes = [bytes32Of('h0'), bytes32Of('h1'), bytes32Of('h2')];
      const tree = buildMerkleTree(hashes);
      const receipt = await client.anchorRoot(tree.root, 3, null);
      expect(await client.verifyInclusionOnChain(tree.root, hashes[2]!, tree.proof(2))).toBe(true);
      expect((await client.findAnchorTx(tree.root))?.txHash).toBe(receipt.txHash);
      client.close();
    } finally {
      await server.close();
    }
  });

  it('an unreachable RPC endpoint surfaces as LEDGER_UNAVAILABLE without leaking the URL', async () => {
    const rpcUrl = `http://127.0.0.1:${await closedPort()}/secret-api-key`;
    const addresses = {
      registry: `0x${'11'.repeat(20)}`,
      anchor: `0x${'22'.repeat(20)}`,
      packages: `0x${'33'.repeat(20)}`,
      chainId: 31337,
      deployBlock: 0,
    };
    const client = connectLedger({ rpcUrl, account: `0x${'44'.repeat(20)}`, addresses, timeoutMs: 2_000 });
    let error: unknown;
    await client.getAnchor(bytes32Of('r')).catch((e: unknown) => {
      error = e;
    });
    expect((error as { code: string }).code).toBe('LEDGER_UNAVAILABLE');
    const visible = JSON.stringify({
      message: (error as Error).message,
      detail: (error as { detail: unknown }).detail,
    });
    expect(visible).not.toContain('secret-api-key');
    // Each call retries the connection rather than caching the failure.
    expect(await codeOf(client.anchorRoot(bytes32Of('r'), 1, null))).toBe('LEDGER_UNAVAILABLE');
  });

  it('an endpoint serving another chain is refused', async () => {
    const ledger = await deployFreshLedger(chain);
    const wrong = connectLedger({ provider: chain.provider, addresses: { ...ledger.addresses, chainId: 1 } });
    let error: { code?: string; detail?: Record<string, unknown> } = {};
    await wrong.getAnchor(bytes32Of('r')).catch((e: unknown) => {
      error = e as typeof error;
    });
    expect(error.code).toBe('LEDGER_UNAVAILABLE');
    expect(error.detail?.['reason']).toBe('wrong-chain');
  });

  it('addresses that hold no contract are refused before any transaction is sent', async () => {
    const empty = {
      registry: `0x${'11'.repeat(20)}`,
      anchor: `0x${'22'.repeat(20)}`,
      packages: `0x${'33'.repeat(20)}`,
      chainId: 31337,
      deployBlock: 0,
    };
    const client = connectLedger({ provider: chain.provider, account: chain.accounts[1]!, addresses: empty });
    const before = await chain.provider.request({ method: 'eth_blockNumber' });
    let error: { code?: string; detail?: Record<string, unknown> } = {};
    await client.anchorRoot(bytes32Of('r'), 1, null).catch((e: unknown) => {
      error = e as typeof error;
    });
    expect(error).toMatchObject({ code: 'LEDGER_UNAVAILABLE', detail: { reason: 'no-contract' } });
    expect(await codeOf(client.getAnchor(bytes32Of('r')))).toBe('LEDGER_UNAVAILABLE');
    expect(await chain.provider.request({ method: 'eth_blockNumber' })).toBe(before);
  });

  it('a locally held private key signs anchors', async () => {
    const ledger = await deployFreshLedger(chain);
    const privateKey = randomBytes(32).toString('hex');
    const client = connectLedger({ provider: chain.provider, privateKey, addresses: ledger.addresses });
    const account = await client.account();
    expect(account).toMatch(/^0x[0-9a-fA-F]{40}$/);
    await chain.provider.request({ method: 'hardhat_setBalance', params: [account, '0x56bc75e2d63100000'] });
    await ledger.admin.registerGateway({ id: 'local-key', ed25519PublicKey: bytes32Of('k'), evmAccount: account! });
    const receipt = await client.anchorRoot(bytes32Of('local'), 1, null);
    expect((await ledger.admin.getAnchor(bytes32Of('local')))?.anchoredBy).toBe(account);
    expect(receipt.txHash).toMatch(/^0x[0-9a-f]{64}$/);
  });

  it('concurrent anchors from one client are serialized and all land in order', async () => {
    const ledger = await deployFreshLedger(chain);
    const gateway = await ledger.registerGateway('busy', 1);
    const roots = Array.from({ length: 5 }, (_, i) => bytes32Of(`concurrent-${i}`));
    const receipts = await Promise.all(
      roots.map((root, i) => gateway.anchorRoot(root, 1, i === 0 ? null : roots[i - 1]!)),
    );
    const blocks = receipts.map((r) => r.blockNumber);
    expect(blocks).toEqual([...blocks].sort((a, b) => a - b));
    expect(await gateway.lastRootOf('busy')).toBe(`0x${roots[4]!.toString('hex')}`);
  });

  it('invalid connection options are refused without echoing the private key', () => {
    const privateKey = 'ab'.repeat(32);
    const addresses = {
      registry: `0x${'11'.repeat(20)}`,
      anchor: `0x${'22'.repeat(20)}`,
      packages: `0x${'33'.repeat(20)}`,
      chainId: 31337,
      deployBlock: 0,
    };
    let error: unknown;
    try {
      connectLedger({ provider: chain.provider, privateKey, account: `0x${'44'.repeat(20)}`, addresses });
    } catch (e) {
      error = e;
    }
    expect((error as { code: string }).code).toBe('BAD_INPUT');
    expect(JSON.stringify({ m: (error as Error).message, d: (error as { detail: unknown }).detail })).not.toContain(
      privateKey,
    );
    expect(() =>
      connectLedger({ provider: chain.provider, addresses: { ...addresses, anchor: 'not-an-address' } }),
    ).toThrow(expect.objectContaining({ code: 'BAD_INPUT' }));
    // The zero scalar matches the hex pattern but is not a secp256k1 key; the error must not carry it.
    const zeroKey = '00'.repeat(32);
    let keyError: unknown;
    try {
      connectLedger({ provider: chain.provider, privateKey: zeroKey, addresses });
    } catch (e) {
      keyError = e;
    }
    expect(keyError).toMatchObject({ code: 'BAD_INPUT', detail: { fields: ['privateKey'] } });
    expect((keyError as Error).cause).toBeUndefined();
    expect(() => connectLedger({ provider: chain.provider, rpcUrl: 'http://127.0.0.1:8545', addresses })).toThrow(
      expect.objectContaining({ code: 'BAD_INPUT' }),
    );
  });

  it('deployLedger accepts an ethers signer from hardhat-ethers', async () => {
    const connection = await network.create();
    try {
      const [signer] = await connection.ethers.getSigners();
      const addresses = await deployLedger(signer!);
      expect(addresses.chainId).toBe(31337);
      const admin = connectLedger({ provider: connection.provider, account: await signer!.getAddress(), addresses });
      expect(await admin.getGateway('nobody')).toBeNull();
    } finally {
      await connection.close();
    }
  });
});
