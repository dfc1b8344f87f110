// Start-up of everything ledger-related: the anchor batch store, the chain (embedded anvil, an external
// RPC, or none), the anchoring service and the receipt issuer. Kept apart from context.ts so the
// order of start and stop lives in one place.
import type { Logger } from 'pino';
import { openAnchorStore, type AnchorStore } from '../../consent/anchor-store.ts';
import { createAnchoring, type Anchoring } from '../../consent/anchoring.ts';
import type { Clock } from '../../core/clock.ts';
import type { ConsentStore } from '../../consent/consent-store.ts';
import { createReceiptIssuer, type ReceiptIssuer } from '../../consent/receipt.ts';
import type { Signer } from '../../consent/signer.ts';
import { createStatusProver, type StatusProver } from '../../consent/status-proof.ts';
import { startLedger, type StartedLedger } from '../../contracts/ledger-bootstrap.ts';
import { readLedgerAddresses } from '../../contracts/ledger-deployment.ts';
import { chainReaderOf, ledgerPortOf } from '../../contracts/ledger-port-adapter.ts';
import type { ChainReader } from '../../consent/receipt-verifier.ts';
import type { GatewayConfig } from '../config.ts';
import type { Database } from '../../core/database.ts';
import type { Identity } from '../identity/identity.ts';

export type LedgerServices = {
  anchors: AnchorStore;
  /** Null when the ledger is off (SEALGATE_LEDGER=off): records stay pending and /ready says so. */
  anchoring: Anchoring | null;
  ledger: StartedLedger | null;
  receipts: ReceiptIssuer;
  /** Status proofs of consent and delegation records against the latest anchored batch. */
  statusProofs: StatusProver;
  /** Read-only chain access for verifying receipts server-side; null when the ledger is off. */
  chainReader: ChainReader | null;
  readiness(): 'ok' | 'degraded';
  /** Stops anchoring (bounded), then the chain client and the embedded chain. */
  stop(): Promise<void>;
};

export async function openLedgerServices(deps: {
  config: GatewayConfig;
  db: Database;
  identity: Identity;
  consentStore: ConsentStore;
  signer: Signer;
  clock: Clock;
  log: Logger;
}): Promise<LedgerServices> {
  const { config, db, identity, consentStore, signer, clock, log } = deps;
  const anchors = await openAnchorStore(db);
  const receipts = createReceiptIssuer({
    anchors,
    records: consentStore,
    signer,
    retiredKeys: identity.retiredEd25519Keys,
    clock,
    partyId: config.partyId,
    evmAccount: identity.evm.address,
  });
  const statusProofs = createStatusProver({
    anchors,
    records: consentStore,
    signer,
    retiredKeys: identity.retiredEd25519Keys,
    clock,
    partyId: config.partyId,
    evmAccount: identity.evm.address,
  });
  if (config.ledger.mode === 'off') {
    log.warn(
      { component: 'ledger' },
      'ledger is off (SEALGATE_LEDGER=off): nothing is anchored and every receipt stays pending',
    );
    return {
      anchors,
      anchoring: null,
      ledger: null,
      receipts,
      statusProofs,
      chainReader: null,
      readiness: () => 'degraded',
      stop: async () => {},
    };
  }

  const isExternal = config.ledger.mode === 'external';
  const ledger = await startLedger({
    dataDir: config.dataDir,
    partyId: config.partyId,
    ed25519PublicKey: identity.ed25519.publicKeyRaw,
    evmPrivateKeyHex: identity.evm.privateKeyHex,
    ...(isExternal && config.ledger.rpcUrl !== undefined && config.ledger.addresses !== undefined
      ? { rpcUrl: config.ledger.rpcUrl, addresses: await readLedgerAddresses(config.ledger.addresses) }
      : {}),
    hasRecordedAnchors: await anchors.hasRecordedAnchors(),
    stateIntervalSeconds: config.ledger.stateIntervalSeconds,
    ...(config.ledger.chainPort === undefined ? {} : { chainPort: config.ledger.chainPort }),
    clock,
    log: log.child({ component: 'ledger' }),
  });
  const anchoring = createAnchoring({
    store: anchors,
    ledger: ledgerPortOf(ledger.client, config.partyId),
    keyId: () => signer.keyId,
    clock,
    log: log.child({ component: 'anchoring' }),
    // Settled: a batch reads the audit table up to this head, and the journal's tail is not in the table yet.
    readHeads: () => consentStore.settledHeads(),
    maxRecords: config.ledger.batchMaxRecords,
    intervalMs: config.ledger.batchIntervalMs,
  });
  try {
    await anchoring.start();
  } catch (error) {
    await ledger.stop();
    throw error;
  }
  // An embedded chain restarted after a crash has lost the blocks since its last state dump.
  ledger.localChain?.onRestarted(() => anchoring.reconcileSoon());
  // The embedded chain's loopback URL is what an officer passes to `npm run verify`; an external URL
  // may carry credentials, so it is never logged.
  log.info(
    {
      component: 'ledger',
      chainId: ledger.chainId,
      anchor: ledger.addresses.anchor,
      ...(ledger.localChain === null ? {} : { rpcUrl: ledger.rpcUrl }),
    },
    'ledger ready',
  );
  return {
    anchors,
    anchoring,
    ledger,
    receipts,
    statusProofs,
    chainReader: chainReaderOf(ledger.client),
    // A stopped embedded chain is degraded at once, not only after the next anchoring attempt fails on it.
    readiness: () =>
      ledger.localChain !== null && !ledger.localChain.isRunning() ? 'degraded' : anchoring.status().state,
    stop: async () => {
      await anchoring.stop();
      await ledger.stop();
    },
  };
}
