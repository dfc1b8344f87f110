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
import type { LedgerEndpoint } from './ledger-connection.ts';
import { bindLedgerContract, txSummaryOf } from './ledger-contract.ts';
import { gatewayRegistryClient } from './gateway-registry-client.ts';
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
     * Anchors one batch root. `prevRoot` is this gateway's previous root (null or zero for its first).
     * Throws ANCHOR_DUPLICATE, ANCHOR_CHAIN_BROKEN, LEDGER_UNAUTHORIZED (not an active gateway),
     * BAD_INPUT, LEDGER_UNAVAILABLE.
     */
    anchorRoot(root: Bytes32Input, count: number, prevRoot: Bytes32Input | null): Promise<AnchorReceipt>;
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
    /** The Anchored event (with its transaction) that anchored `root`, or null. */
    findAnchorTx(root: Bytes32Input): Promise<AnchorTx | null>;
    close(): void;
  };

export type LedgerClientOptions = LedgerEndpoint & { addresses: z.input<typeof LedgerAddresses> };

const MAX_UINT64 = 2n ** 64n - 1n;

function anchorRecordOf(root: string, a: Record<string, unknown>): AnchorRecord {
  return {
    root,
    gatewayId: gatewayIdFromBytes32(String(a['gatewayId'])),
    count: Number(a['count']),
    prevRoot: String(a['prevRoot']).toLowerCase(),
    anchoredBy: String(a['anchoredBy']),
    blockNumber: Number(a['blockNumber']),
    blockTime: Number(a['blockTime']),
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

  return {
    ...gatewayRegistryClient(registry),
    ...packageRegistryClient(packages),
    addresses,
    account: () => conn.account(),

    async anchorRoot(rootInput, count, prevRootInput) {
      const root = toBytes32Hex(rootInput, 'root');
      const prevRoot = prevRootInput === null ? ZERO_BYTES32 : toBytes32Hex(prevRootInput, 'prevRoot');
      if (!Number.isSafeInteger(count) || count < 1 || BigInt(count) > MAX_UINT64) {
        throw new GatewayError('BAD_INPUT', 'count must be a positive integer', { field: 'count' });
      }
      try {
        const receipt = await anchor.write('anchor', [root, count, prevRoot], 'anchorRoot');
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
      return {
        ...record,
        ...anchorRecordOf(record.root, anchor.parseLog(log).toObject()),
        blockNumber: log.blockNumber,
        txHash: log.transactionHash,
        logIndex: log.index,
      };
    },

    close: () => conn.close(),
  };
}
