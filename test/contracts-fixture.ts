// Test fixture: a fresh in-process Hardhat (EDR) chain with the ledger contracts deployed, and
// helpers that hand out clients for the node's unlocked dev accounts.
import { createHash } from 'node:crypto';
import { network } from 'hardhat';
import type { EthereumProvider } from 'hardhat/types/providers';
import { connectLedger } from '../contracts/ledger-client.ts';
import type { LedgerClient } from '../contracts/ledger-client.ts';
import { deployLedger } from '../contracts/ledger-deploy.ts';
import type { LedgerAddresses } from '../contracts/ledger-values.ts';

export type SimulatedChain = {
  provider: EthereumProvider;
  /** The node's unlocked dev accounts; [0] deploys and owns the registry. */
  accounts: string[];
  close(): Promise<void>;
};

export type Ledger = {
  addresses: LedgerAddresses;
  /** The registry owner. */
  admin: LedgerClient;
  clientFor(account: string): LedgerClient;
  /** Registers `id` for accounts[accountIndex] with a key derived from the id; returns its client. */
  registerGateway(id: string, accountIndex: number): Promise<LedgerClient>;
};

export async function startSimulatedChain(): Promise<SimulatedChain> {
  const connection = await network.create();
  const accounts = (await connection.provider.request({ method: 'eth_accounts' })) as string[];
  return { provider: connection.provider, accounts, close: () => connection.close() };
}

export const bytes32Of = (label: string): Buffer => createHash('sha256').update(label, 'utf8').digest();

/** Deploys a fresh set of contracts on `chain`, so each test starts from empty ledger state. */
export async function deployFreshLedger(chain: SimulatedChain): Promise<Ledger> {
  const admin0 = chain.accounts[0]!;
  const addresses = await deployLedger({ provider: chain.provider, account: admin0 });
  const clientFor = (account: string): LedgerClient => connectLedger({ provider: chain.provider, account, addresses });
  const admin = clientFor(admin0);
  return {
    addresses,
    admin,
    clientFor,
    async registerGateway(id, accountIndex) {
      const account = chain.accounts[accountIndex]!;
      await admin.registerGateway({ id, ed25519PublicKey: bytes32Of(`ed25519:${id}`), evmAccount: account });
      return clientFor(account);
    },
  };
}

/** Resolves to the GatewayError code a promise rejects with (fails the test if it resolves). */
export async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return (error as { code?: string }).code ?? 'NO_CODE';
  }
  throw new Error('expected a rejection');
}
