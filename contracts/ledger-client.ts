// Typed ledger client (ethers v6): anchors Merkle roots in ConsentAnchor.sol, verifies inclusion
// proofs on chain, and exposes the gateway and data-package registries (DESIGN.md §4-5).
//
// Reconciling after a crash: an anchor whose transaction was sent but whose receipt was never seen
// (process died, or LEDGER_UNAVAILABLE from a confirmation timeout) may still be mined. Before
// re-sending, call findAnchorTx(root): if it returns a transaction, the root is anchored and the
// retry must not happen; anchorRoot itself refuses duplicates with ANCHOR_DUPLICATE.
import type { z } from 'zod';
import { GatewayError } from '../core/errors.ts';
import { openLedgerConnection } from './ledger-connection.ts';
import { toLedgerError } from './ledger-error.ts';
import type { LedgerEndpoint } from './ledger-connection.ts';
import { bindLedgerContract, txSummaryOf } from './ledger-contract.ts';
import { gatewayRegistryClient, keyIdOfBytes8 } from './gateway-registry-client.ts';
import type { GatewayRegistryClient } from './gateway-registry-client.ts';
import { packageRegistryClient } from './package-registry-client.ts';
import type { PackageRegistryClient } from './package-registry-client.ts';
import {
  LedgerAddresses,
  ZERO_BYTES32,
  gatewayIdFromBytes32,
  gatewayIdToBytes32,
  toBytes32Hex,
} from './ledger-values.ts';
import type { AnchorReceipt, AnchorRecord, AnchorTx, Bytes32Input } from './ledger-values.ts';

export type LedgerClient = GatewayRegistryClient &
  PackageRegistryClient & {
    readonly addresses: LedgerAddresses;
    /** The signing account, or null for a read-only client. Needs no network. */
    account(): Promise<string | null>;
    /**
     * Anchors one batch root. `prevRoot` is this gateway's previous root (null or zero for its first), `keyId` the
     * id of the Ed25519 key the batch's events were signed with (16 hex digits; it must be the gateway's current
     * key) and `stateRoot` the batch's status tree root. Throws ANCHOR_DUPLICATE, ANCHOR_CHAIN_BROKEN,
     * LEDGER_UNAUTHORIZED (not an active gateway), CONFLICT (KeyMismatch), BAD_INPUT, LEDGER_UNAVAILABLE. Without
     * `commit` (tools and tests that anchor bare roots) it reads the account's current key id from the registry and
     * commits the empty status tree (zero root).
     */
    anchorRoot(
      root: Bytes32Input,
      count: number,
      prevRoot: Bytes32Input | null,
      commit?: AnchorCommit,
    ): Promise<AnchorReceipt>;
    /** The stored anchor of `root`, or null if it was never anchored. */
    getAnchor(root: Bytes32Input): Promise<AnchorRecord | null>;
    /** The last root anchored by `gatewayId`, or the zero root if none: the next prevRoot. */
    lastRootOf(gatewayId: string): Promise<string>;
    /** ConsentAnchor.verifyInclusion: true only if `root` is anchored and the proof links `recordHash`. */
    verifyInclusionOnChain(
      root: Bytes32Input,
      recordHash: Bytes32Input,
      proof: readonly Bytes32Input[],
    ): Promise<boolean>;
    /** The header of block `blockNumber` (its own timestamp, not a contract's copy), or null past the head. */
    blockHeader(blockNumber: number): Promise<{ number: number; timestamp: number; hash: string } | null>;
    /** The Anchored event (with its transaction) that anchored `root`, or null. */
    findAnchorTx(root: Bytes32Input): Promise<AnchorTx | null>;
    close(): void;
  };

/** What an anchor commits to besides the batch root: the signing key's id and the status tree root. */
export type AnchorCommit = { keyId: string; stateRoot: Bytes32Input };

export type LedgerClientOptions = LedgerEndpoint & { addresses: z.input<typeof LedgerAddresses> };

const MAX_UINT64 = 2n ** 64n - 1n;

function anchorRecordOf(root: string, a: Record<string, unknown>): AnchorRecord {
  return {
    root,
    gatewayId: gatewayIdFromBytes32(String(a['gatewayId'])),
    count: Number(a['count']),
    anchoredBy: String(a['anchoredBy']),
    blockNumber: Number(a['blockNumber']),
    blockTime: Number(a['blockTime']),
    keyId: keyIdOfBytes8(a['keyId']),
  };
}

/** Opens a client without touching the network; the first call connects (see ledger-connection.ts). */
export function connectLedger(options: LedgerClientOptions): LedgerClient {
  const parsedAddresses = LedgerAddresses.safeParse(options.addresses);
  if (!parsedAddresses.success) {
    throw new GatewayError('BAD_INPUT', 'invalid ledger addresses', {
      fields: parsedAddresses.error.issues.map((i) => i.path.join('.')),
    });
  }
  const addresses = parsedAddresses.data;
  const { addresses: _omit, ...endpoint } = options;
  const conn = openLedgerConnection(endpoint);
  const registry = bindLedgerContract(conn, 'GatewayRegistry', addresses.registry, addresses.chainId);
  const anchor = bindLedgerContract(conn, 'ConsentAnchor', addresses.anchor, addresses.chainId);
  const packages = bindLedgerContract(conn, 'DataPackageRegistry', addresses.packages, addresses.chainId);

  const getAnchor = async (rootInput: Bytes32Input): Promise<AnchorRecord | null> => {
    const root = toBytes32Hex(rootInput, 'root');
    const [a] = await anchor.read('getAnchor', [root], 'getAnchor');
    if (/^0x0{40}$/.test(String(a.anchoredBy))) return null;
    return anchorRecordOf(root, a.toObject());
  };

  const currentKeyId = async (): Promise<string> => {
    const account = await conn.account();
    if (account === null)
      throw new GatewayError('LEDGER_UNAUTHORIZED', 'a read-only client cannot anchor', { reason: 'read-only' });
    const [, keyId] = await registry.read('anchoringIdentityOf', [account], 'anchorRoot');
    return keyIdOfBytes8(keyId);
  };

  return {
    ...gatewayRegistryClient(registry),
    ...packageRegistryClient(packages),
    addresses,
    account: () => conn.account(),

    async anchorRoot(rootInput, count, prevRootInput, commit) {
      const root = toBytes32Hex(rootInput, 'root');
      const prevRoot = prevRootInput === null ? ZERO_BYTES32 : toBytes32Hex(prevRootInput, 'prevRoot');
      if (!Number.isSafeInteger(count) || count < 1 || BigInt(count) > MAX_UINT64) {
        throw new GatewayError('BAD_INPUT', 'count must be a positive integer', { field: 'count' });
      }
      const { keyId, stateRoot } = commit ?? { keyId: await currentKeyId(), stateRoot: ZERO_BYTES32 };
      if (!/^[0-9a-f]{16}$/.test(keyId))
        throw new GatewayError('BAD_INPUT', 'keyId must be 16 lower-case hex digits', { field: 'keyId' });
      const args = [root, count, prevRoot, `0x${keyId}`, toBytes32Hex(stateRoot, 'stateRoot')];
      try {
        const receipt = await anchor.write('anchor', args, 'anchorRoot');
        const event = anchor.eventIn(receipt, 'Anchored');
        return { ...txSummaryOf(receipt), blockTime: Number(event.getValue('blockTime')) };
      } catch (error) {
        // A revert after mining carries no reason. If the root is anchored now, another
        // transaction (ours, retried, or a racing one) won: report the duplicate, not a bug.
        if (
          error instanceof GatewayError &&
          error.code === 'INTERNAL' &&
          (await getAnchor(root).catch(() => null)) !== null
        ) {
          throw new GatewayError(
            'ANCHOR_DUPLICATE',
            'ledger refused anchorRoot: DuplicateRoot',
            { operation: 'anchorRoot', reason: 'DuplicateRoot' },
            { cause: error },
          );
        }
        throw error;
      }
    },

    getAnchor,

    async lastRootOf(gatewayId) {
      const [root] = await anchor.read('lastRootOf', [gatewayIdToBytes32(gatewayId)], 'lastRootOf');
      return String(root).toLowerCase();
    },

    async verifyInclusionOnChain(root, recordHash, proof) {
      const args = [
        toBytes32Hex(root, 'root'),
        toBytes32Hex(recordHash, 'recordHash'),
        proof.map((p, i) => toBytes32Hex(p, `proof[${i}]`)),
      ];
      const [ok] = await anchor.read('verifyInclusion', args, 'verifyInclusion');
      return ok === true;
    },

    async blockHeader(blockNumber) {
      if (!Number.isSafeInteger(blockNumber) || blockNumber < 0)
        throw new GatewayError('BAD_INPUT', 'blockNumber must be a non-negative integer', { field: 'blockNumber' });
      const provider = await conn.provider();
      const block = await provider.getBlock(blockNumber).catch((error: unknown) => {
        throw toLedgerError(error, 'blockHeader');
      });
      return block === null ? null : { number: block.number, timestamp: block.timestamp, hash: String(block.hash) };
    },

    async findAnchorTx(rootInput) {
      const record = await getAnchor(rootInput);
      if (record === null) return null;
      // The stored block number pins the search to one block, so no unbounded log scan is needed.
      const logs = await anchor.logs({
        event: 'Anchored',
        topics: [null, record.root],
        fromBlock: record.blockNumber,
        toBlock: record.blockNumber,
        operation: 'findAnchorTx',
      });
      const log = logs[0];
      if (log === undefined) {
        throw new GatewayError('LEDGER_UNAVAILABLE', 'anchor is stored but its event was not returned', {
          operation: 'findAnchorTx',
          reason: 'missing-log',
        });
      }
      const event = anchor.parseLog(log).toObject();
      return {
        ...record,
        ...anchorRecordOf(record.root, event),
        prevRoot: String(event['prevRoot']).toLowerCase(),
        stateRoot: String(event['stateRoot']).toLowerCase(),
        blockNumber: log.blockNumber,
        txHash: log.transactionHash,
        logIndex: log.index,
      };
    },

    close: () => conn.close(),
  };
}
