// Whether a buyer may use a package (docs/exchange.md, "Orders"): the same decision point as every other use
// (consent/decision.ts), asked with the buyer as a Partner in the `data-exchange` scene, for the action each bought
// algorithm takes on the package's view and its fields. It runs when an order is placed and again when each delivery
// starts, since a delegation or a policy may have changed in between. Deny by default; every decision is audited; a
// refusal names the basis that is missing.
import { decide, type DecisionRequest } from '../consent/decision.ts';
import type { ConsentLog } from '../consent/consent-log.ts';
import type { PolicyHolder } from '../consent/policy-holder.ts';
import type { Connectors } from '../connectors/connectors.ts';
import { GatewayError } from '../core/errors.ts';
import type { PackageSource } from './package-source.ts';

/** The scene a buyer's use is decided in (the default bundle's `buyer-compute-to-data` policy permits it). */
export const EXCHANGE_SCENE = 'data-exchange';

export type BuyerAdmissionDeps = {
  partyId: string;
  policies: PolicyHolder;
  consent: Pick<ConsentLog, 'view' | 'recordDecision'>;
  connectors: Pick<Connectors, 'views'>;
  now: () => Date;
};

export type BuyerUse = {
  /** The buyer's organisation: a recipient id, as purposes and consent records name recipients. */
  buyer: string;
  purpose: string;
  actions: readonly ('aggregate' | 'model')[];
  source: PackageSource;
  /** The subjects the package holds now: the cohort an aggregate is computed over. */
  cohortSize: number;
  /** The audit actor: the buyer's token. */
  actor: string;
};

/** The delegations and policies the permits relied on. Throws CONSENT_DENIED naming the missing basis. */
export async function admitBuyer(
  deps: BuyerAdmissionDeps,
  use: BuyerUse,
): Promise<{ delegationIds: string[]; policyIds: string[] }> {
  const { declaration } = await deps.connectors.views.get(use.source.view);
  const isSensitive = use.source.fields.some(
    (f) => declaration.columns.find((c) => c.name === f)?.classification === 'sensitive',
  );
  const delegationIds = new Set<string>();
  const policyIds = new Set<string>();
  for (const action of new Set(use.actions)) {
    const request: DecisionRequest = {
      principal: { type: 'Partner', id: use.buyer, attrs: { role: 'buyer' } },
      action,
      resource: {
        type: 'Dataset',
        id: use.source.view,
        attrs: { owner: deps.partyId, region: 'all', classification: isSensitive ? 'sensitive' : 'customer' },
      },
      context: { purpose: use.purpose, scene: EXCHANGE_SCENE, fields: use.source.fields, cohortSize: use.cohortSize },
    };
    const { authorizer, bundle } = deps.policies;
    const decision = decide(request, {
      authorizer,
      purposes: bundle.purposes,
      view: deps.consent.view,
      controllerId: deps.partyId,
      now: deps.now(),
    });
    const missing = use.source.fields.filter((f) => !decision.allowedFields.includes(f));
    const isPermitted = decision.decision === 'permit' && missing.length === 0;
    await deps.consent.recordDecision({
      actor: use.actor,
      action,
      outcome: isPermitted ? 'permit' : 'deny',
      purpose: use.purpose,
      reasons: decision.reasons.map((r) => r.code),
      consentIds: [],
      delegationIds: decision.delegationIds,
      fields: decision.allowedFields,
    });
    if (decision.decision !== 'permit') {
      const reason = decision.reasons[0];
      throw new GatewayError('CONSENT_DENIED', `${deps.partyId} refuses ${use.buyer}: ${reason?.message ?? 'denied'}`, {
        reason: reason?.code ?? 'DENY',
        action,
        purpose: use.purpose,
        missingBasis: reason?.message ?? 'no permit',
      });
    }
    if (missing.length > 0)
      throw new GatewayError(
        'CONSENT_DENIED',
        `${deps.partyId} refuses ${use.buyer} the fields ${missing.join(', ')}`,
        {
          reason: 'FIELDS_DROPPED',
          action,
          purpose: use.purpose,
          missingBasis: `purpose, delegation or consent allowing ${missing.join(', ')}`,
        },
      );
    for (const id of decision.delegationIds) delegationIds.add(id);
    for (const id of decision.policyIds) policyIds.add(id);
  }
  return { delegationIds: [...delegationIds], policyIds: [...policyIds] };
}
