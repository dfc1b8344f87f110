// Adapters from the ethers-based LedgerClient to the plain interfaces the consent core uses: the
// anchoring service's LedgerPort and the offline receipt verifier's ChainReader (DESIGN.md §4-5).
import type { LedgerPort, OnChainAnchor, OnChainAnchorTx } from '../consent/ledger-port.ts';
import type { ChainReader } from '../consent/receipt-verifier.ts';
import { GatewayError } from '../core/errors.ts';
import { connectLedger } from './ledger-client.ts';
import type { LedgerClient } from './ledger-client.ts';
import { openLedgerConnection } from './ledger-connection.ts';
import { bindLedgerContract } from './ledger-contract.ts';
import { GatewayId, toAddress } from './ledger-values.ts';
import type { AnchorRecord, AnchorTx } from './ledger-values.ts';

const anchorOf = (a: AnchorRecord): OnChainAnchor => ({
  root: a.root.toLowerCase(),
  gatewayId: a.gatewayId,
  count: a.count,
  anchoredBy: a.anchoredBy,
  blockNumber: a.blockNumber,
  blockTime: a.blockTime,
  keyId: a.keyId,
});
const anchorTxOf = (a: AnchorTx): OnChainAnchorTx => ({
  ...anchorOf(a),
  prevRoot: a.prevRoot.toLowerCase(),
  stateRoot: a.stateRoot.toLowerCase(),
  txHash: a.txHash.toLowerCase(),
});

/**
 * The anchoring service's view of `client`, anchoring as `gatewayId` (the client's account must be its registered
 * account).
 */
/** The anchor reads the writer's port and the verifier's reader share, mapped to the ports' plain types. */
function anchorReadsOf(client: LedgerClient): Pick<LedgerPort, 'getAnchor' | 'findAnchorTx'> {
  return {
    async getAnchor(root) {
      const found = await client.getAnchor(root);
      return found === null ? null : anchorOf(found);
    },
    async findAnchorTx(root) {
      const found = await client.findAnchorTx(root);
      return found === null ? null : anchorTxOf(found);
    },
  };
}

export function ledgerPortOf(client: LedgerClient, gatewayId: string): LedgerPort {
  if (!GatewayId.safeParse(gatewayId).success)
    throw new GatewayError('BAD_INPUT', 'gatewayId must be a registry gateway id', { field: 'gatewayId' });
  return {
    chainId: client.addresses.chainId,
    contract: client.addresses.anchor,
    gatewayId,
    async anchorRoot(root, count, prevRoot, commit) {
      const sent = await client.anchorRoot(root, count, prevRoot, commit);
      return {
        txHash: sent.txHash.toLowerCase(),
        blockNumber: sent.blockNumber,
        gasUsed: sent.gasUsed,
        blockTime: sent.blockTime,
      };
    },
    ...anchorReadsOf(client),
    async lastRootOf(id) {
      return (await client.lastRootOf(id)).toLowerCase();
    },
  };
}

/** The verifier's read-only view of `client`'s anchor contract and gateway registry. */
export function chainReaderOf(client: LedgerClient): ChainReader {
  return {
    ...anchorReadsOf(client),
    async getGateway(gatewayId) {
      // An id that cannot be a registry id cannot be registered: "not found", not an input error.
      if (!GatewayId.safeParse(gatewayId).success) return null;
      const entry = await client.getGateway(gatewayId);
      if (entry === null) return null;
      const [keys, accounts] = await Promise.all([client.keyHistory(gatewayId), client.accountHistory(gatewayId)]);
      return {
        status: entry.status,
        revokedAtBlock: entry.revokedAtBlock,
        keys: keys.map((k) => ({
          publicKey: k.ed25519PublicKey.replace(/^0x/, ''),
          keyId: k.keyId,
          fromBlock: k.fromBlock,
          untilBlock: k.untilBlock,
          isRecovery: k.isRecovery,
        })),
        accounts,
      };
    },
    getBlock: (blockNumber) => client.blockHeader(blockNumber),
    lastRootOf: async (gatewayId) => (await client.lastRootOf(gatewayId)).toLowerCase(),
    verifyInclusion: (root, recordHash, proof) => client.verifyInclusionOnChain(root, recordHash, proof),
  };
}

export type ChainReaderEndpoint = {
  rpcUrl: string;
  /** The chain the receipt names; an endpoint serving another chain fails closed (LEDGER_UNAVAILABLE, wrong-chain). */
  chainId: number;
  /** ConsentAnchor address. */
  anchor: string;
  /** GatewayRegistry address; by default the one ConsentAnchor.registry() names. */
  registry?: string;
  /** Deadline for each RPC request. */
  timeoutMs?: number;
};

export type OpenedChainReader = { reader: ChainReader; registry: string; close(): void };

/**
 * A read-only chain reader over a JSON-RPC URL, for verifiers that hold nothing but a receipt and an
 * RPC endpoint. Throws BAD_INPUT for malformed addresses and LEDGER_UNAVAILABLE when the registry
 * address cannot be read from the anchor contract.
 */
export async function openChainReader(endpoint: ChainReaderEndpoint): Promise<OpenedChainReader> {
  const anchor = toAddress(endpoint.anchor, 'anchor');
  const timeoutMs = endpoint.timeoutMs ?? 15_000;
  let registry: string;
  if (endpoint.registry !== undefined) {
    registry = toAddress(endpoint.registry, 'registry');
  } else {
    const conn = openLedgerConnection({ rpcUrl: endpoint.rpcUrl, timeoutMs });
    try {
      const [address] = await bindLedgerContract(conn, 'ConsentAnchor', anchor, endpoint.chainId).read(
        'registry',
        [],
        'registry',
      );
      registry = toAddress(String(address), 'registry');
    } finally {
      conn.close();
    }
  }
  // The verifier never reads the package registry; the anchor address fills that slot so the one
  // tested client serves here too (bound lazily, it is never called).
  const client = connectLedger({
    rpcUrl: endpoint.rpcUrl,
    timeoutMs,
    addresses: { registry, anchor, packages: anchor, chainId: endpoint.chainId, deployBlock: 0 },
  });
  return { reader: chainReaderOf(client), registry, close: () => client.close() };
}
