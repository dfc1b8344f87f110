// Brings up the gateway's ledger at start (DESIGN.md §5): the embedded anvil chain with its contracts
// deployed once and the gateway registered in its own registry, or an external chain as configured.
//
// Embedded chain, decided on every start:
//   - deployment.json present: the contracts must still be on the chain (code at all three addresses,
//     wired to each other, registry owned by this gateway's account). Missing code means the chain
//     state was lost: LEDGER_UNAVAILABLE (reason state-lost), never a silent redeploy, because proofs
//     already handed out name those contracts. The one exception: the chain is empty (block 0) AND the
//     caller says no anchor or package was ever recorded (`hasRecordedAnchors: false`); then nothing
//     can be orphaned, so the contracts are deployed again (at the same addresses: CREATE addresses
//     depend only on the account and its nonce, which an empty chain resets to 0).
//   - deployment.json absent: if this account's first three CREATE addresses already hold our
//     contracts (a crash between deploying and writing the file, or the file was deleted), they are
//     adopted; otherwise the contracts are deployed. Either way the file is then written atomically.
//   - The gateway is registered (id = party id, Ed25519 key, EVM account) if it is not yet; a
//     registration under another key or account, or a revoked one, is refused rather than changed.
// External chain (rpcUrl + addresses): nothing is started or deployed. An unreachable endpoint is
// only a warning (writes are anchored later); wrong chain id or missing contracts fail the start.
//
// After startLedger the anchor store should reconcile: for each batch it believes anchored, getAnchor
// must find the root; a root missing on chain (anvil SIGKILLed within its dump interval, see
// local-chain.ts) is anchored again with the same root, count and prevRoot, in order.
import { join } from 'node:path';
import { getCreateAddress } from 'ethers';
import { GatewayError } from '../core/errors.ts';
import { systemClock } from '../core/clock.ts';
import type { Clock } from '../core/clock.ts';
import { connectLedger } from './ledger-client.ts';
import type { LedgerClient } from './ledger-client.ts';
import type { LedgerConnection } from './ledger-connection.ts';
import { openLedgerConnection } from './ledger-connection.ts';
import { loadCompiledContract } from './artifacts.ts';
import { bindLedgerContract } from './ledger-contract.ts';
import { deployLedger } from './ledger-deploy.ts';
import { DEPLOYMENT_FILE, addressesOf, deploymentOf, readDeployment, writeDeployment } from './ledger-deployment.ts';
import type { LedgerAddresses } from './ledger-values.ts';
import { GatewayId, toBytes32Hex } from './ledger-values.ts';
import { LOCAL_CHAIN_ID, chainDirOf, startLocalChain } from './local-chain.ts';
import type { ChainLog, LocalChain } from './local-chain.ts';

export type StartLedgerOptions = {
  dataDir: string;
  /** The gateway id in the registry: 1-31 characters of A-Z a-z 0-9 . _ - */
  partyId: string;
  ed25519PublicKey: Uint8Array;
  /** The gateway's own secp256k1 key: it deploys, owns the registry and anchors. Never logged. */
  evmPrivateKeyHex: string;
  /** An external chain; with it, `addresses` is required and no anvil is started. */
  rpcUrl?: string;
  addresses?: LedgerAddresses;
  /** Whether the gateway ever recorded an anchor or package on this ledger; unknown means true. */
  hasRecordedAnchors?: boolean;
  stateIntervalSeconds?: number;
  /** The embedded chain's port; default: the port of its last start (stable across restarts). */
  chainPort?: number;
  /** Per-request and per-confirmation deadline of the ledger client. */
  timeoutMs?: number;
  clock?: Clock;
  log: ChainLog;
};

export type StartedLedger = {
  client: LedgerClient;
  chainId: number;
  addresses: LedgerAddresses;
  rpcUrl: string;
  /** The embedded chain, or null on an external one. */
  localChain: LocalChain | null;
  /** Closes the client, then stops the embedded chain (which writes its state). Idempotent. */
  stop(): Promise<void>;
};

/** 'outdated': ours, but from before the registry's current code (an ABI this client no longer speaks). */
type Found = 'ours' | 'absent' | 'foreign' | 'outdated';

/**
 * Whether the three addresses hold a wired set of ledger contracts, and (for the embedded chain)
 * whether this gateway's account owns the registry.
 */
async function inspectContracts(
  conn: LedgerConnection,
  addresses: LedgerAddresses,
  owner: string | null,
): Promise<Found> {
  const provider = await conn.provider();
  const codes = await Promise.all(
    [addresses.registry, addresses.anchor, addresses.packages].map((a) => provider.getCode(a)),
  );
  if (codes.some((code) => code === '0x')) return 'absent';
  // The registry has no immutables, so its deployed code is exactly the compiled artifact's: another code is an older
  // (or another) build, whose functions this client may not find.
  const isCurrent = codes[0]!.toLowerCase() === loadCompiledContract('GatewayRegistry').deployedBytecode;
  const contract = (name: 'GatewayRegistry' | 'ConsentAnchor' | 'DataPackageRegistry', address: string) =>
    bindLedgerContract(conn, name, address, addresses.chainId);
  const same = (a: unknown, b: string): boolean => String(a).toLowerCase() === b.toLowerCase();
  try {
    const [[anchorRegistry], [packagesRegistry], [registryOwner]] = await Promise.all([
      contract('ConsentAnchor', addresses.anchor).read('registry', [], 'inspectLedger'),
      contract('DataPackageRegistry', addresses.packages).read('registry', [], 'inspectLedger'),
      contract('GatewayRegistry', addresses.registry).read('owner', [], 'inspectLedger'),
    ]);
    if (!same(anchorRegistry, addresses.registry) || !same(packagesRegistry, addresses.registry)) return 'foreign';
    if (owner !== null && !same(registryOwner, owner)) return 'foreign';
    return isCurrent ? 'ours' : 'outdated';
  } catch (error) {
    // Some other contract sits at the address and has no such view.
    if (error instanceof GatewayError && error.code === 'INTERNAL') return 'foreign';
    throw error;
  }
}

type RegistrationState = 'registered' | 'unregistered' | 'revoked' | 'mismatch';

async function registrationOf(
  client: LedgerClient,
  options: StartLedgerOptions,
  account: string,
): Promise<RegistrationState> {
  const entry = await client.getGateway(options.partyId);
  if (entry === null) return 'unregistered';
  if (entry.status !== 'Active') return 'revoked';
  const isSameKey = entry.ed25519PublicKey === toBytes32Hex(options.ed25519PublicKey, 'ed25519PublicKey');
  return isSameKey && entry.evmAccount.toLowerCase() === account.toLowerCase() ? 'registered' : 'mismatch';
}

async function startEmbedded(options: StartLedgerOptions): Promise<StartedLedger> {
  const { log } = options;
  const clock = options.clock ?? systemClock;
  const deploymentPath = join(chainDirOf(options.dataDir), DEPLOYMENT_FILE);
  // Read before anvil starts: a malformed record fails fast and leaves the chain untouched.
  const recorded = await readDeployment(deploymentPath);
  if (recorded !== null && recorded.chainId !== LOCAL_CHAIN_ID) {
    throw new GatewayError('LEDGER_UNAVAILABLE', 'the ledger deployment record names another chain', {
      reason: 'wrong-chain',
      chainId: recorded.chainId,
      expectedChainId: LOCAL_CHAIN_ID,
    });
  }
  const chain = await startLocalChain({
    dataDir: options.dataDir,
    log,
    chainId: LOCAL_CHAIN_ID,
    ...(options.stateIntervalSeconds === undefined ? {} : { stateIntervalSeconds: options.stateIntervalSeconds }),
    ...(options.chainPort === undefined ? {} : { port: options.chainPort }),
  });
  const endpoint = {
    rpcUrl: chain.rpcUrl,
    privateKey: options.evmPrivateKeyHex,
    timeoutMs: options.timeoutMs ?? 30_000,
    pollingIntervalMs: 50, // a local node answers at once; 1 s polling would slow every write
  };
  // Until the first transaction, a failed start stops anvil without a dump: an empty chain must
  // never overwrite a state file or its backup that an operator may still restore.
  let hasWritten = false;
  let conn: LedgerConnection | undefined;
  let client: LedgerClient | undefined;
  try {
    conn = openLedgerConnection(endpoint);
    const account = (await conn.account())!;
    await chain.fund(account);

    const deploy = async (): Promise<LedgerAddresses> => {
      hasWritten = true;
      const deployed = await deployLedger(endpoint);
      log.info({ ...deployed }, 'ledger contracts deployed');
      return deployed;
    };
    let addresses: LedgerAddresses;
    let isRecorded = false;
    if (recorded !== null) {
      const found = await inspectContracts(conn, addressesOf(recorded), account);
      if (found === 'ours') {
        addresses = addressesOf(recorded);
        isRecorded = true;
      } else if (found === 'foreign') {
        throw new GatewayError('CONFLICT', 'the recorded ledger contracts belong to another account', {
          reason: 'foreign-deployment',
        });
      } else if (found === 'outdated') {
        // The development chain is the gateway's own: it deploys the current contracts beside the old ones and
        // registers again; anchoring then finds no root of its own there and anchors every batch again, in order,
        // with key ids and status roots (docs/receipts.md §8). The old contracts stay on the chain, untouched.
        log.warn(
          { previous: addressesOf(recorded) },
          'ledger contracts are from an older version: deploying current ones',
        );
        addresses = await deploy();
      } else if ((await (await conn.provider()).getBlockNumber()) === 0 && options.hasRecordedAnchors === false) {
        log.warn(
          { statePath: chain.statePath },
          'local chain state is empty and nothing was ever anchored: deploying the ledger again',
        );
        addresses = await deploy();
      } else {
        throw new GatewayError(
          'LEDGER_UNAVAILABLE',
          'the local chain lost the ledger contracts; restore chain/state.json (chain/state.backup.json is the last clean copy)',
          { reason: 'state-lost' },
        );
      }
    } else {
      const candidate: LedgerAddresses = {
        registry: getCreateAddress({ from: account, nonce: 0 }),
        anchor: getCreateAddress({ from: account, nonce: 1 }),
        packages: getCreateAddress({ from: account, nonce: 2 }),
        chainId: chain.chainId,
        deployBlock: 0, // unknown after a crash; scans from genesis are merely slower
      };
      if ((await inspectContracts(conn, candidate, account)) === 'ours') {
        log.warn(
          { ...candidate },
          'ledger deployment record was missing; adopted the contracts this gateway deployed earlier',
        );
        addresses = candidate;
      } else {
        addresses = await deploy();
      }
    }
    if (!isRecorded) {
      await writeDeployment(deploymentPath, deploymentOf(addresses, account, clock.now()));
    }

    client = connectLedger({ ...endpoint, addresses });
    const registration = await registrationOf(client, options, account);
    if (registration === 'unregistered') {
      hasWritten = true;
      await client.registerGateway({
        id: options.partyId,
        ed25519PublicKey: options.ed25519PublicKey,
        evmAccount: account,
      });
      // The log's base fields carry the party id already; a second `partyId` key would repeat it in the line.
      log.info({ evmAccount: account }, 'gateway registered in its ledger registry');
    } else if (registration === 'revoked') {
      throw new GatewayError('LEDGER_UNAUTHORIZED', 'this gateway is revoked in its ledger registry', {
        reason: 'revoked',
      });
    } else if (registration === 'mismatch') {
      throw new GatewayError('CONFLICT', 'the ledger registry holds another key or account for this party id', {
        reason: 'registration-mismatch',
      });
    }

    let stopping: Promise<void> | undefined;
    const ready = client;
    return {
      client: ready,
      chainId: chain.chainId,
      addresses,
      rpcUrl: chain.rpcUrl,
      localChain: chain,
      stop() {
        stopping ??= (async () => {
          ready.close();
          await chain.stop();
        })();
        return stopping;
      },
    };
  } catch (error) {
    client?.close();
    await (hasWritten ? chain.stop() : chain.abort());
    throw error;
  } finally {
    conn?.close();
  }
}

async function startExternal(options: StartLedgerOptions & { rpcUrl: string }): Promise<StartedLedger> {
  const { log, addresses } = options;
  if (addresses === undefined) {
    throw new GatewayError('BAD_INPUT', 'an external ledger needs its contract addresses', {
      field: 'ledgerAddresses',
    });
  }
  const endpoint = {
    rpcUrl: options.rpcUrl,
    privateKey: options.evmPrivateKeyHex,
    timeoutMs: options.timeoutMs ?? 30_000,
  };
  const conn = openLedgerConnection(endpoint);
  try {
    const account = (await conn.account())!;
    let chainId: number;
    try {
      chainId = await conn.chainId();
    } catch (error) {
      // Writes still succeed while the chain is down and are anchored later (DESIGN.md §4).
      // Only the reason is logged: an external RPC URL may carry an API key.
      log.warn(
        { reason: error instanceof GatewayError ? error.detail['reason'] : 'unknown' },
        'external ledger unreachable at start; anchoring will retry',
      );
      return external(options, addresses);
    }
    if (chainId !== addresses.chainId) {
      throw new GatewayError('LEDGER_UNAVAILABLE', 'the ledger endpoint serves a different chain', {
        reason: 'wrong-chain',
        chainId,
        expectedChainId: addresses.chainId,
      });
    }
    const found = await inspectContracts(conn, addresses, null);
    if (found === 'outdated') {
      throw new GatewayError(
        'LEDGER_UNAVAILABLE',
        'the configured ledger contracts are from an older version; the registry owner deploys the current ones (docs/operations.md)',
        { reason: 'contracts-outdated' },
      );
    }
    if (found !== 'ours') {
      throw new GatewayError('LEDGER_UNAVAILABLE', 'the configured ledger addresses do not hold the ledger contracts', {
        reason: found === 'absent' ? 'no-contract' : 'foreign-contract',
      });
    }
    const started = external(options, addresses);
    const registration = await registrationOf(started.client, options, account);
    if (registration !== 'registered') {
      // The registry owner (the consortium) registers partners; these public facts are what it needs.
      log.warn(
        {
          registration,
          partyId: options.partyId,
          evmAccount: account,
          ed25519PublicKey: toBytes32Hex(options.ed25519PublicKey, 'ed25519PublicKey'),
        },
        'gateway is not an active registrant of the external ledger; anchoring fails until the registry owner registers it',
      );
    }
    return started;
  } finally {
    conn.close();
  }
}

function external(options: StartLedgerOptions & { rpcUrl: string }, addresses: LedgerAddresses): StartedLedger {
  const client = connectLedger({
    rpcUrl: options.rpcUrl,
    privateKey: options.evmPrivateKeyHex,
    timeoutMs: options.timeoutMs ?? 30_000,
    addresses,
  });
  return {
    client,
    chainId: addresses.chainId,
    addresses,
    rpcUrl: options.rpcUrl,
    localChain: null,
    stop: async () => client.close(),
  };
}

/** Starts the embedded chain (or connects to an external one) and returns a ready ledger client. */
export async function startLedger(options: StartLedgerOptions): Promise<StartedLedger> {
  // Checked before anything starts, so bad configuration never leaves a half-started chain.
  if (!GatewayId.safeParse(options.partyId).success) {
    throw new GatewayError(
      'BAD_INPUT',
      'partyId must be 1-31 characters of A-Z a-z 0-9 . _ - to serve as a ledger gateway id',
      { field: 'partyId' },
    );
  }
  toBytes32Hex(options.ed25519PublicKey, 'ed25519PublicKey');
  if (options.rpcUrl !== undefined) return startExternal({ ...options, rpcUrl: options.rpcUrl });
  if (options.addresses !== undefined) {
    throw new GatewayError(
      'BAD_INPUT',
      'ledger addresses are only for an external chain; the embedded chain records its own',
      { field: 'ledgerAddresses' },
    );
  }
  return startEmbedded(options);
}
