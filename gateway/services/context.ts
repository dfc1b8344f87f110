// The gateway's dependencies as one plain object: built once at start-up, passed to buildApp and to
// every route module. Features add their services by extending this type and createContext.
import { join } from 'node:path';
import type { DestinationStream, Logger } from 'pino';
import { systemClock, type Clock } from '../../core/clock.ts';
import type { GatewayConfig } from '../config.ts';
import { openDatabase, type Database } from '../../core/database.ts';
import { loadOrCreateIdentity, type Identity } from '../identity/identity.ts';
import { createLogger } from '../http/logger.ts';
import { createMetrics, type Metrics } from '../http/metrics.ts';
import { registerStateGauges } from '../http/state-gauges.ts';
import { metricSources } from './metric-sources.ts';
import type { ReadinessCheck, ReadinessState } from './readiness.ts';
import { createTokenStore, type TokenStore } from '../identity/token-store.ts';
import { openConsentLog, type ConsentLog } from '../../consent/consent-log.ts';
import { openConsentStore, type ConsentStore } from '../../consent/consent-store.ts';
import { openPolicyHolder, type PolicyHolder } from '../../consent/policy-holder.ts';
import { createWorkerSigner } from '../../consent/signing-worker.ts';
import { openLedgerServices, type LedgerServices } from './ledger-services.ts';
import { openPeerServices, type PeerServices } from './peer-services.ts';
import { openConnectors, type Connectors } from '../../connectors/connectors.ts';
import type { JobProtocol } from '../../mpc/jobs/protocol.ts';
import { openJobRunner, type JobRunner } from '../../mpc/jobs/runner.ts';
import { createAttestation } from '../../mpc/peers/attestation.ts';
import { createPsiProtocol } from '../../mpc/psi/psi-protocol.ts';
import { sharedHePool } from '../../mpc/he/shared-he-pool.ts';
import { createJointStatsProtocol } from '../../mpc/stats/joint-stats-protocol.ts';
import { createSecureSumProtocol } from '../../mpc/secagg/secagg-protocol.ts';
import { createHflProtocol } from '../../mpc/hfl/hfl-protocol.ts';
import { openPrivacyBudget } from '../../mpc/stats/privacy-budget.ts';
import { openModelStore, type ModelStore } from '../../mpc/vfl/model-store.ts';
import { createValuations, type Valuations } from '../../exchange/valuations.ts';
import { openValuationStore } from '../../exchange/valuation-store.ts';
import { createLiftCertificates, type LiftCertificates } from '../../exchange/lift-certificates.ts';
import { openLiftCertificateStore } from '../../exchange/lift-certificate-store.ts';
import { createListings, type Listings } from '../../exchange/listings.ts';
import { openListingStore } from '../../exchange/listing-store.ts';
import { createOffers, type Offers } from '../../exchange/offers.ts';
import { createConsentBases, type ConsentBases } from '../../exchange/consent-bases.ts';
import { openConsentBasisStore } from '../../exchange/consent-basis-store.ts';
import { openPackageSourceStore } from '../../exchange/package-source-store.ts';
import { createOrders, type Orders } from '../../exchange/orders.ts';
import { openOrderStore } from '../../exchange/order-store.ts';
import { createDeliveries, type Deliveries } from '../../exchange/deliveries.ts';
import { openDeliveryStore } from '../../exchange/delivery-store.ts';
import { RecipientId } from '../../consent/purpose.ts';
import { openOfferStore } from '../../exchange/offer-store.ts';
import { createVflProtocol } from '../../mpc/vfl/vfl-protocol.ts';
import { createScoreProtocol } from '../../mpc/vfl/score-protocol.ts';

export const DATABASE_FILE = 'sealgate.duckdb';
export const POLICY_DIR = 'policies';

export type { ReadinessCheck, ReadinessState } from './readiness.ts';

export type GatewayContext = {
  config: GatewayConfig;
  db: Database;
  identity: Identity;
  tokens: TokenStore;
  clock: Clock;
  log: Logger;
  metrics: Metrics;
  readiness: Map<string, ReadinessCheck>;
  /** The signed, hash-chained consent and delegation log with its audit chain. */
  consent: ConsentLog;
  /** The Cedar policy bundle and purpose catalogue in force. */
  policies: PolicyHolder;
  /** Anchor batches, the anchoring service, the chain and receipts. */
  ledger: LedgerServices;
  /** The partner registry, the signed peer client and the guard for peer routes (docs/peer-protocol.md). */
  peers: PeerServices;
  /** Partner data: connector views, their purpose-checked readers and the signed event ingest (connectors/). */
  connectors: Connectors;
  /** Multi-party jobs (PSI): the durable runner behind /v1/jobs and /peer/v1/jobs (docs/jobs.md). */
  jobs: JobRunner;
  /** This party's parts of vertical models (mpc/vfl/model-store.ts), behind /v1/models. */
  models: ModelStore;
  /** Data-package valuations, stored and anchored in the package registry (exchange/valuations.ts). */
  valuations: Valuations;
  /** Lift certificates: backtests behind a valuation's errors, signed, audited (exchange/lift-certificates.ts). */
  liftCertificates: LiftCertificates;
  /** Listings of data packages: revisions, lifecycle, anchoring (exchange/listings.ts). */
  listings: Listings;
  /** Offers on listings (exchange/offers.ts). */
  offers: Offers;
  /** Package sources and consent bases, their checks, flags and revaluations (exchange/consent-bases.ts). */
  consentBases: ConsentBases;
  /** Buyers' orders (exchange/orders.ts). */
  orders: Orders;
  /** Compute-to-data deliveries under orders (exchange/deliveries.ts). */
  deliveries: Deliveries;
  /** Releases what createContext opened (the database). Idempotent. */
  close(): Promise<void>;
};

export type ContextOptions = {
  clock?: Clock;
  /** Where log lines go (tests capture them); stdout by default. */
  logDestination?: DestinationStream;
  /** Overrides `<dataDir>/sealgate.duckdb`, e.g. ':memory:' in tests. */
  databasePath?: string;
  /** Job protocols beside the built-in ones (PSI): tests register protocols of their own this way. */
  protocols?: readonly JobProtocol[];
};

const DB_PROBE_TIMEOUT_MS = 2_000;

export async function createContext(config: GatewayConfig, options: ContextOptions = {}): Promise<GatewayContext> {
  const clock = options.clock ?? systemClock;
  const log = createLogger(config, options.logDestination);
  // Keys first: a wrong passphrase should stop start-up before anything else is opened.
  const identity = await loadOrCreateIdentity(config, log);
  // The gateway database serves short transactions (a commit per group of writes or decisions) far more than scans,
  // so it runs DuckDB on one thread; the partner data in connectors keeps one per core for imports and joins.
  const db = await openDatabase(options.databasePath ?? join(config.dataDir, DATABASE_FILE), {
    memoryLimit: config.dbMemoryLimit,
    threads: 1,
  });
  const signer = createWorkerSigner(identity.ed25519.privateKey);
  // Before the services: the peer client and the job runner count into it as they work.
  const metrics = createMetrics(config.partyId);
  let tokens: TokenStore;
  let consentStore: ConsentStore | undefined;
  let consent: ConsentLog;
  let policies: PolicyHolder;
  let ledger: LedgerServices;
  let peers: PeerServices;
  let connectors: Connectors | undefined;
  let jobs: JobRunner;
  let models: ModelStore;
  let valuations: Valuations;
  let liftCertificates: LiftCertificates;
  let listings: Listings;
  let offers: Offers;
  let consentBases: ConsentBases;
  let orders: Orders;
  let deliveries: Deliveries;
  try {
    tokens = await createTokenStore(db, clock);
    // Policies before consent: a bundle that does not validate stops start-up with POLICY_INVALID.
    policies = await openPolicyHolder(join(config.dataDir, POLICY_DIR));
    consentStore = await openConsentStore(db);
    if (consentStore.journalRecovery.discardedBytes > 0) {
      log.warn(
        { component: 'consent', ...consentStore.journalRecovery },
        'audit journal: dropped the unfinished end of an append cut short by a crash; it was never acknowledged',
      );
    }
    if (consentStore.journalRecovery.moved > 0) {
      log.info(
        { component: 'consent', ...consentStore.journalRecovery },
        'audit journal: moved what the last run left into the tables',
      );
    }
    consent = await openConsentLog({
      store: consentStore,
      signer,
      retiredKeys: identity.retiredEd25519Keys,
      clock,
      controllerId: config.partyId,
      subjectKey: identity.subjectKey,
    });
    // The replay scanned the whole log into DuckDB's cache (about 240 MB at a million consents); later reads are by
    // seq.
    await db.dropCache();
    // Before the ledger, so a failure here leaves no chain running; the registry reads the ledger later.
    peers = await openPeerServices({
      db,
      identity,
      clock,
      log,
      consent,
      chain: () => ledger.ledger?.client ?? null,
      onFailure: ({ peer, code }) => metrics.peerCallFailures.inc({ peer, code }),
    });
    ledger = await openLedgerServices({ config, db, identity, consentStore, signer, clock, log });
    connectors = await openConnectors({
      dataDir: config.dataDir,
      memoryLimit: config.dbMemoryLimit,
      subjectKey: identity.subjectKey,
      clock,
      purposes: () => policies.bundle.purposes,
    });
    // The CKKS protocols share one worker pool, started by the first job that needs it.
    const hePool = sharedHePool();
    models = await openModelStore(db);
    const packageLedger = () => {
      const started = ledger.ledger;
      return started === null
        ? null
        : { client: started.client, chainId: started.chainId, registry: started.addresses.packages };
    };
    valuations = createValuations({
      store: await openValuationStore(db),
      clock,
      certificate: async (certificateId) => liftCertificates.issued(certificateId),
      chainReader: () => ledger.chainReader,
      ledger: packageLedger,
      audit: async ({ actor, valuationId, packageId, reportHash }) => {
        await consent.appendAudit({
          kind: 'valuation',
          actor,
          action: 'valuation-create',
          outcome: 'ok',
          refs: [valuationId],
          detail: { packageId, reportHash },
        });
      },
    });
    const protocols = [
      createPsiProtocol(),
      createJointStatsProtocol({ pool: hePool, budget: await openPrivacyBudget(db) }),
      createVflProtocol({ task: 'logistic', pool: hePool, models }),
      createVflProtocol({ task: 'linear', pool: hePool, models }),
      createScoreProtocol({ pool: hePool, models }),
      createSecureSumProtocol(),
      createHflProtocol({ models }),
      ...(options.protocols ?? []),
    ];
    jobs = await openJobRunner(db, {
      partyId: config.partyId,
      clock,
      log,
      consent,
      policies,
      peers,
      connectors,
      subjectKey: identity.subjectKey,
      attestation: createAttestation(signer, peers.registry, config.partyId),
      protocols,
      onStepEnded: (protocol, step, outcome, seconds) =>
        metrics.jobStepDuration.observe({ protocol, step, outcome }, seconds),
      onPartyDropped: (protocol, peer, code) => metrics.partiesDropped.inc({ protocol, peer, code }),
    });
    listings = createListings({
      partyId: config.partyId,
      store: await openListingStore(db),
      clock,
      ledger: packageLedger,
      latestReportHash: async (packageId) => (await valuations.list(packageId, 1))[0]?.reportHash ?? null,
      basisFlag: async (listingId, revision) => consentBases.flagOf(listingId, revision),
      verifyBasis: async (content) => consentBases.verifyStated(content.packageId, content.consentBasis),
      audit: async ({ actor, action, refs, detail }) => {
        await consent.appendAudit({ kind: 'exchange', actor, action, outcome: 'ok', refs, detail });
      },
    });
    const offerStore = await openOfferStore(db);
    offers = createOffers({
      store: offerStore,
      listings,
      clock,
      audit: async ({ actor, action, refs, detail }) => {
        await consent.appendAudit({ kind: 'exchange', actor, action, outcome: 'ok', refs, detail });
      },
    });
    liftCertificates = createLiftCertificates({
      partyId: config.partyId,
      store: await openLiftCertificateStore(db),
      clock,
      signer,
      jobs,
      audit: async ({ actor, action, outcome, refs, detail }) =>
        consent.appendAudit({ kind: 'valuation', actor, action, outcome, refs, detail }),
      receipt: async (seq) => ledger.receipts.issueReceipt({ chain: 'audit', seq }),
      isTokenLive: async (tokenId) => (await tokens.listTokens()).some((t) => t.id === tokenId && t.revokedAt === null),
      log,
    });
    const exchangeAudit = async (entry: {
      actor: string;
      action: string;
      outcome?: 'ok' | 'deny' | 'error';
      refs: string[];
      detail: Record<string, string | number | boolean | null>;
    }) => {
      await consent.appendAudit({ kind: 'exchange', outcome: 'ok', ...entry });
    };
    consentBases = createConsentBases({
      sources: await openPackageSourceStore(db),
      checks: await openConsentBasisStore(db),
      listings,
      connectors,
      consent,
      valuations,
      clock,
      audit: exchangeAudit,
    });
    const admission = { partyId: config.partyId, policies, consent, connectors, now: () => clock.now() };
    orders = createOrders({
      store: await openOrderStore(db),
      offers: offerStore,
      listings,
      bases: consentBases,
      admission,
      clock,
      buyerOrganisation: async (tokenId) => {
        const label = (await tokens.listTokens()).find((t) => t.id === tokenId && t.revokedAt === null)?.label;
        return label !== undefined && RecipientId.safeParse(label).success ? label : null;
      },
      audit: exchangeAudit,
    });
    deliveries = createDeliveries({
      store: await openDeliveryStore(db),
      orders,
      listings,
      bases: consentBases,
      certificates: liftCertificates,
      admission,
      policies,
      consent,
      connectors,
      subjectKey: identity.subjectKey,
      clock,
      log,
      audit: exchangeAudit,
    });
  } catch (error) {
    await connectors?.close();
    await consentStore?.close().catch(() => undefined);
    await signer.close();
    await db.close();
    throw error;
  }

  let isClosed = false;
  const readiness = new Map<string, ReadinessCheck>([
    ['database', () => probeDatabase(db, () => isClosed)],
    ['ledger', () => ledger.readiness()],
    // Down until a restart: every decision and audited request would answer 503 (audit-journal.ts).
    ['audit-journal', () => (consentStore?.isJournalWritable === false ? 'down' : 'ok')],
  ]);
  registerStateGauges(
    metrics.registry,
    metricSources({ config, clock, log, consentStore, ledger, jobs, readiness }),
    (metric, error) =>
      log.warn({ err: error, metric }, 'a metric source failed: its series are left out of this scrape'),
  );
  return {
    config,
    db,
    identity,
    tokens,
    clock,
    log,
    metrics,
    readiness,
    consent,
    policies,
    ledger,
    peers,
    connectors,
    jobs,
    models,
    valuations,
    liftCertificates,
    listings,
    offers,
    consentBases,
    orders,
    deliveries,
    close: async () => {
      if (isClosed) return;
      isClosed = true;
      await deliveries.close();
      await liftCertificates.close();
      // Jobs first: their running attempts read connectors and write the database.
      await jobs.close();
      await connectors.close();
      // Anchoring first: it reads the log, and the embedded chain writes its state as it stops.
      await ledger.stop();
      await consent.close();
      await consentStore.close();
      await signer.close();
      await db.close();
    },
  };
}

/** 'down' when closed or failing, 'degraded' when the serialized queue is too busy to answer quickly. */
async function probeDatabase(db: Database, isClosed: () => boolean): Promise<ReadinessState> {
  if (isClosed()) return 'down';
  let timer: NodeJS.Timeout | undefined;
  const slow = new Promise<ReadinessState>((resolve) => {
    timer = setTimeout(() => resolve('degraded'), DB_PROBE_TIMEOUT_MS);
    timer.unref();
  });
  try {
    return await Promise.race([
      db.all('SELECT 1').then(
        (): ReadinessState => 'ok',
        (): ReadinessState => 'down',
      ),
      slow,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
