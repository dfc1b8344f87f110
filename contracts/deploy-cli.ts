// Deploys the ledger contracts on a shared (consortium or public) EVM chain, owned by the consortium
// (docs/trust-model.md, "Deployment modes"):
//   SEALGATE_DEPLOYER_KEY=0x… node contracts/deploy-cli.ts --rpc URL --owner ADDRESS [--timeout-ms N]
// The deployer's key comes from the environment, never the command line (it would land in shell history and `ps`).
// `--owner` is who may register, revoke and recover gateways: the consortium's multisig. The deployment JSON goes to
// stdout, ready for each gateway's SEALGATE_LEDGER_ADDRESSES. Exit 0 on success, 1 when the chain refuses, 2 on a
// usage error.
import { parseArgs } from 'node:util';
import { GatewayError } from '../core/errors.ts';
import { deployLedger } from './ledger-deploy.ts';
import { toAddress } from './ledger-values.ts';

const USAGE =
  'usage: SEALGATE_DEPLOYER_KEY=0x… node contracts/deploy-cli.ts --rpc URL --owner ADDRESS [--timeout-ms N]';

type Io = { out(line: string): void; err(line: string): void; env: Record<string, string | undefined> };

export async function runDeployCli(argv: readonly string[], io: Io): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: [...argv],
      strict: true,
      options: {
        'rpc': { type: 'string' },
        'owner': { type: 'string' },
        'timeout-ms': { type: 'string' },
        'help': { type: 'boolean' },
      },
    });
  } catch (error) {
    io.err(`deploy: ${(error as Error).message}`);
    io.err(USAGE);
    return 2;
  }
  if (args.values.help === true) {
    io.out(USAGE);
    return 0;
  }
  const { rpc, owner } = args.values;
  const timeoutMs = args.values['timeout-ms'] === undefined ? 60_000 : Number(args.values['timeout-ms']);
  const privateKey = io.env['SEALGATE_DEPLOYER_KEY'];
  if (rpc === undefined || !/^https?:\/\//.test(rpc) || owner === undefined || !Number.isSafeInteger(timeoutMs)) {
    io.err(USAGE);
    return 2;
  }
  if (privateKey === undefined || !/^(0x)?[0-9a-fA-F]{64}$/.test(privateKey)) {
    io.err('deploy: SEALGATE_DEPLOYER_KEY must hold the deployer account key (32 bytes of hex)');
    return 2;
  }
  let registryOwner: string;
  try {
    // The zero address would make the deployer the owner: refused here, a consortium registry needs its owner.
    registryOwner = toAddress(owner, 'owner');
    if (/^0x0{40}$/.test(registryOwner)) throw new GatewayError('BAD_INPUT', 'owner must not be the zero address');
  } catch (error) {
    io.err(`deploy: ${(error as Error).message}`);
    return 2;
  }
  try {
    const addresses = await deployLedger({ rpcUrl: rpc, privateKey, timeoutMs }, { registryOwner });
    io.out(JSON.stringify({ ...addresses, registryOwner }, null, 2));
    return 0;
  } catch (error) {
    const reason =
      error instanceof GatewayError
        ? `${error.code}${typeof error.detail['reason'] === 'string' ? ` (${error.detail['reason']})` : ''}`
        : 'unknown error';
    io.err(`deploy: the chain refused or could not be reached: ${reason}`);
    return 1;
  }
}

if (import.meta.main) {
  process.exitCode = await runDeployCli(process.argv.slice(2), {
    out: (l) => process.stdout.write(`${l}\n`),
    err: (l) => process.stderr.write(`${l}\n`),
    env: process.env,
  });
}
