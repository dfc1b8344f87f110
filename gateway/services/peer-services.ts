// Start-up of the peer protocol (docs/peer-protocol.md): the partner registry, the replay cache and
// guard for incoming peer routes, and the signed client for outgoing calls, built once per process
// so every peer scope shares one replay cache.
import type { Logger } from 'pino';
import type { Clock } from '../../core/clock.ts';
import type { ConsentLog } from '../../consent/consent-log.ts';
import type { Database } from '../../core/database.ts';
import type { Identity } from '../identity/identity.ts';
import type { GatewayRegistryClient } from '../../contracts/gateway-registry-client.ts';
import { createNonceCache, DEFAULT_WINDOW_MS } from '../../mpc/peers/nonce-cache.ts';
import { createPeerAuth, type PeerAuth } from '../http/peer-auth.ts';
import { createPeerClient, type PeerCallFailure, type PeerClient } from '../../mpc/peers/peer-client.ts';
import { openPeerRegistry, type PeerRegistry } from '../../mpc/peers/peer-registry.ts';

export type PeerServices = {
  registry: PeerRegistry;
  /** Install on every fastify scope that serves peer routes (`auth.install(scope)`). */
  auth: PeerAuth;
  client: PeerClient;
};

export type PeerServicesOptions = {
  db: Database;
  identity: Identity;
  clock: Clock;
  log: Logger;
  consent: Pick<ConsentLog, 'appendAudit'>;
  /** The ledger's gateway registry, read when a peer is added; null while the ledger is off. */
  chain: () => Pick<GatewayRegistryClient, 'getGateway'> | null;
  /** The ± window around this clock in which a request's timestamp is accepted. Default 60 s. */
  windowMs?: number;
  /** Most remembered nonces per peer. Default 50,000. */
  maxNoncesPerPeer?: number;
  /** Told of every outgoing call that failed (context.ts counts them in /metrics). */
  onFailure?: (failure: PeerCallFailure) => void;
  fetch?: typeof fetch;
};

export async function openPeerServices(options: PeerServicesOptions): Promise<PeerServices> {
  const { db, identity, clock, log, consent } = options;
  const windowMs = options.windowMs ?? DEFAULT_WINDOW_MS;
  // With a ledger, a new peer's key is checked against the on-chain GatewayRegistry.
  const registry = await openPeerRegistry({ db, clock, selfId: identity.partyId, chain: options.chain });
  const audit = (entry: Parameters<ConsentLog['appendAudit']>[0]) => consent.appendAudit(entry);
  const nonces = createNonceCache({
    clock,
    windowMs,
    ...(options.maxNoncesPerPeer === undefined ? {} : { maxPerPeer: options.maxNoncesPerPeer }),
  });
  return {
    registry,
    auth: createPeerAuth({ identity, peers: registry, nonces, clock, audit }),
    client: createPeerClient({
      identity,
      peers: registry,
      clock,
      log,
      audit,
      ...(options.onFailure === undefined ? {} : { onFailure: options.onFailure }),
      ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
    }),
  };
}
