// The route table: every route module is registered here, in one place, so the API surface and
// each route's access policy can be reviewed together.
import type { FastifyInstance } from 'fastify';
import type { GatewayContext } from '../../services/context.ts';
import { registerHealthRoutes } from './health.routes.ts';
import { registerTokenRoutes } from './token.routes.ts';
import { registerConsentRoutes } from './consent.routes.ts';
import { registerDelegationRoutes } from './delegation.routes.ts';
import { registerDecisionRoutes } from './decision.routes.ts';
import { registerAuditRoutes } from './audit.routes.ts';
import { registerPolicyRoutes } from './policy.routes.ts';
import { registerLedgerRoutes } from './ledger.routes.ts';
import { registerPeerRoutes } from './peer.routes.ts';
import { registerConnectorRoutes } from './connector.routes.ts';
import { registerIngestRoutes } from './ingest.routes.ts';
import { registerJobRoutes } from './job.routes.ts';
import { registerModelRoutes } from './model.routes.ts';
import { registerValuationRoutes } from './valuation.routes.ts';
import { registerLiftCertificateRoutes } from './lift-certificate.routes.ts';
import { registerListingRoutes } from './listing.routes.ts';
import { registerOfferRoutes } from './offer.routes.ts';
import { registerConsentBasisRoutes } from './consent-basis.routes.ts';
import { registerOrderRoutes } from './order.routes.ts';
import { registerConsoleRoutes } from '../console/console-routes.ts';

export async function registerRoutes(app: FastifyInstance, ctx: GatewayContext): Promise<void> {
  registerHealthRoutes(app, ctx);
  registerTokenRoutes(app, ctx);
  registerConsentRoutes(app, ctx);
  registerDelegationRoutes(app, ctx);
  registerDecisionRoutes(app, ctx);
  registerAuditRoutes(app, ctx);
  registerPolicyRoutes(app, ctx);
  registerLedgerRoutes(app, ctx);
  registerPeerRoutes(app, ctx);
  registerConnectorRoutes(app, ctx);
  registerIngestRoutes(app, ctx);
  registerJobRoutes(app, ctx);
  registerModelRoutes(app, ctx);
  registerValuationRoutes(app, ctx);
  registerLiftCertificateRoutes(app, ctx);
  registerListingRoutes(app, ctx);
  registerOfferRoutes(app, ctx);
  registerConsentBasisRoutes(app, ctx);
  registerOrderRoutes(app, ctx);
  registerConsoleRoutes(app, ctx);
}
