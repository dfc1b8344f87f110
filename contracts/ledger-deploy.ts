// Deploys the ledger contracts from the committed artifacts (no compiler at runtime): the gateway
// registry first, then the anchor and package registries that consult it. The deployer owns the registry.
import { ContractFactory, ZeroAddress } from 'ethers';
import type { Signer } from 'ethers';
import { loadCompiledContract } from './artifacts.ts';
import type { LedgerContractName } from './artifacts.ts';
import { openLedgerConnection } from './ledger-connection.ts';
import type { LedgerEndpoint } from './ledger-connection.ts';
import { toLedgerError } from './ledger-error.ts';
import type { LedgerAddresses } from './ledger-values.ts';

const isSigner = (v: unknown): v is Signer =>
  typeof v === 'object' &&
  v !== null &&
  typeof (v as Signer).sendTransaction === 'function' &&
  typeof (v as Signer).getAddress === 'function';

async function withSigner<T>(target: Signer | LedgerEndpoint, run: (signer: Signer) => Promise<T>): Promise<T> {
  if (isSigner(target)) return run(target);
  const conn = openLedgerConnection(target);
  try {
    return await run(await conn.signer());
  } finally {
    conn.close();
  }
}

async function deploy(
  signer: Signer,
  name: LedgerContractName,
  args: unknown[],
): Promise<{ address: string; blockNumber: number }> {
  const { abi, bytecode } = loadCompiledContract(name);
  try {
    const contract = await new ContractFactory(abi, bytecode, signer).deploy(...args);
    const receipt = await contract.deploymentTransaction()?.wait();
    if (receipt === null || receipt === undefined) throw new Error(`no deployment receipt for ${name}`);
    return { address: await contract.getAddress(), blockNumber: receipt.blockNumber };
  } catch (error) {
    throw toLedgerError(error, `deploy ${name}`);
  }
}

/**
 * Deploys registry, anchor and package registry; returns what connectLedger needs. `registryOwner` is who may
 * register, revoke and recover gateways: in a consortium, its multisig; by default the deployer, which is right only
 * for the embedded development chain, where the gateway owns its own registry (docs/trust-model.md).
 */
export async function deployLedger(
  target: Signer | LedgerEndpoint,
  options: { registryOwner?: string } = {},
): Promise<LedgerAddresses> {
  return withSigner(target, async (signer) => {
    const registry = await deploy(signer, 'GatewayRegistry', [options.registryOwner ?? ZeroAddress]);
    const anchor = await deploy(signer, 'ConsentAnchor', [registry.address]);
    const packages = await deploy(signer, 'DataPackageRegistry', [registry.address]);
    const network = await signer.provider?.getNetwork().catch((error: unknown) => {
      throw toLedgerError(error, 'deploy');
    });
    if (network === undefined) throw toLedgerError(new Error('signer has no provider'), 'deploy');
    return {
      registry: registry.address,
      anchor: anchor.address,
      packages: packages.address,
      chainId: Number(network.chainId),
      deployBlock: registry.blockNumber,
    };
  });
}

/** The EAS-style baseline, for gas comparisons only; the gateway never uses it. */
export async function deployAttestationBaseline(target: Signer | LedgerEndpoint): Promise<string> {
  return withSigner(target, async (signer) => (await deploy(signer, 'AttestationBaseline', [])).address);
}
