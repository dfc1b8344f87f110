// Committed compilation artifacts (ABI + bytecode) of the ledger contracts, so that deploying and
// calling them at runtime needs no Solidity compiler. Produced by contracts/compile.ts.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { GatewayError } from '../core/errors.ts';

export const LEDGER_CONTRACT_NAMES = [
  'GatewayRegistry',
  'ConsentAnchor',
  'DataPackageRegistry',
  'AttestationBaseline',
] as const;
export const LedgerContractName = z.enum(LEDGER_CONTRACT_NAMES);
export type LedgerContractName = z.infer<typeof LedgerContractName>;

const HexBytes = z.string().regex(/^0x(?:[0-9a-f]{2})*$/, 'lowercase 0x-prefixed hex bytes');

export const CompiledContract = z.object({
  contractName: LedgerContractName,
  /** Path relative to the repository root, e.g. contracts/ConsentAnchor.sol. */
  sourceName: z.string().min(1),
  /** SHA-256 of the .sol file the bytecode came from: a stale artifact is detectable without a compiler. */
  sourceSha256: z.string().regex(/^[0-9a-f]{64}$/),
  compiler: z.object({
    version: z.string(),
    longVersion: z.string(),
    settings: z.object({
      optimizer: z.object({ enabled: z.boolean(), runs: z.number().int() }),
      evmVersion: z.string(),
    }),
  }),
  abi: z.array(z.record(z.string(), z.unknown())).min(1),
  bytecode: HexBytes,
  deployedBytecode: HexBytes,
});
export type CompiledContract = z.infer<typeof CompiledContract>;

const COMPILED_DIR = new URL('./compiled/', import.meta.url);
const cache = new Map<LedgerContractName, CompiledContract>();

export function compiledArtifactUrl(name: LedgerContractName): URL {
  return new URL(`${name}.json`, COMPILED_DIR);
}

/** The committed artifact of `name`, validated once and cached. Throws INTERNAL if missing or malformed. */
export function loadCompiledContract(name: LedgerContractName): CompiledContract {
  const hit = cache.get(name);
  if (hit) return hit;
  let parsed: CompiledContract;
  try {
    parsed = CompiledContract.parse(JSON.parse(readFileSync(compiledArtifactUrl(name), 'utf8')));
  } catch (cause) {
    // A broken install, not a client mistake: the fix is `npm run contracts:compile`.
    throw new GatewayError(
      'INTERNAL',
      'ledger contract artifact is missing or malformed',
      { contract: name },
      { cause },
    );
  }
  if (parsed.contractName !== name) {
    throw new GatewayError('INTERNAL', 'ledger contract artifact names another contract', { contract: name });
  }
  cache.set(name, parsed);
  return parsed;
}
