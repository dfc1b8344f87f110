// Where the ledger contracts live: <dataDir>/chain/deployment.json for the embedded chain (written
// once, atomically, after the first deployment) and the operator-given addresses of an external chain.
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { GatewayError } from '../core/errors.ts';
import { writeFileDurably } from '../core/durable-file.ts';
import { EvmAddress, LedgerAddresses } from './ledger-values.ts';

export const DEPLOYMENT_FILE = 'deployment.json';

export const LedgerDeployment = z.strictObject({
  v: z.literal(1),
  chainId: z.number().int().positive(),
  addresses: z.strictObject({ registry: EvmAddress, anchor: EvmAddress, packages: EvmAddress }),
  /** The registry's deployment block: event scans start here. */
  deployBlock: z.number().int().min(0),
  /** The gateway account that deployed, and so owns, the registry. */
  deployer: EvmAddress,
  deployedAt: z.iso.datetime(),
});
export type LedgerDeployment = z.infer<typeof LedgerDeployment>;

export function deploymentOf(addresses: LedgerAddresses, deployer: string, at: Date): LedgerDeployment {
  const { registry, anchor, packages, chainId, deployBlock } = addresses;
  return {
    v: 1,
    chainId,
    addresses: { registry, anchor, packages },
    deployBlock,
    deployer,
    deployedAt: at.toISOString(),
  };
}

export const addressesOf = (d: LedgerDeployment): LedgerAddresses => ({
  ...d.addresses,
  chainId: d.chainId,
  deployBlock: d.deployBlock,
});

/** The recorded deployment, or null if there is none. A file that does not parse fails closed. */
export async function readDeployment(path: string): Promise<LedgerDeployment | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new GatewayError(
      'LEDGER_UNAVAILABLE',
      'the ledger deployment record cannot be read',
      { reason: 'deployment-unreadable' },
      { cause: error },
    );
  }
  try {
    return LedgerDeployment.parse(JSON.parse(text));
  } catch (cause) {
    // Written atomically, so a bad file was edited by hand: guessing addresses could anchor nowhere.
    throw new GatewayError(
      'LEDGER_UNAVAILABLE',
      'the ledger deployment record is malformed',
      { reason: 'deployment-corrupt' },
      { cause },
    );
  }
}

export async function writeDeployment(path: string, deployment: LedgerDeployment): Promise<void> {
  await writeFileDurably(path, JSON.stringify(LedgerDeployment.parse(deployment), null, 2) + '\n');
}

/**
 * The addresses of an external chain's contracts, from JSON text (`{"registry", "anchor",
 * "packages", "chainId", "deployBlock"}`) or from the path of a file holding that JSON or a
 * deployment.json. BAD_INPUT names no value: the source may be a path the operator considers private.
 */
export async function readLedgerAddresses(source: string): Promise<LedgerAddresses> {
  const trimmed = source.trim();
  let text = trimmed;
  if (!trimmed.startsWith('{')) {
    try {
      text = await readFile(trimmed, 'utf8');
    } catch (cause) {
      throw new GatewayError(
        'BAD_INPUT',
        'the ledger addresses file cannot be read',
        { field: 'ledgerAddresses' },
        { cause },
      );
    }
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new GatewayError('BAD_INPUT', 'the ledger addresses are not JSON', { field: 'ledgerAddresses' });
  }
  const deployment = LedgerDeployment.safeParse(value);
  if (deployment.success) return addressesOf(deployment.data);
  const addresses = LedgerAddresses.safeParse(value);
  if (addresses.success) return addresses.data;
  throw new GatewayError('BAD_INPUT', 'the ledger addresses need registry, anchor, packages, chainId and deployBlock', {
    field: 'ledgerAddresses',
    fields: addresses.error.issues.map((i) => i.path.join('.')),
  });
}
