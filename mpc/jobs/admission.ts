// Whether this party takes part in a proposed job (DESIGN.md §1.2-3, §6): every party checks the purpose against its
// own catalogue, delegations and Cedar policies, and its own view and columns, before any of its data is touched.
// Deny by default: any failed check refuses the job with a stable code, which the coordinator spreads to every party.
import { decide, type DecisionRequest } from '../../consent/decision.ts';
import type { ConsentLog } from '../../consent/consent-log.ts';
import type { PolicyHolder } from '../../consent/policy-holder.ts';
import { findPurpose } from '../../consent/purpose.ts';
import type { Connectors } from '../../connectors/connectors.ts';
import { partyOf, type JobSpec } from './job.ts';
import type { JobProtocol } from './protocol.ts';
import { GatewayError } from '../../core/errors.ts';

/** Jobs join rows across partners: Cedar sees them in the joint-modeling scene, under the action 'join'. */
export const JOB_SCENE = 'joint-modeling';
export const JOB_ACTION = 'join';

export type AdmissionDeps = {
  partyId: string;
  policies: PolicyHolder;
  consent: Pick<ConsentLog, 'view' | 'recordDecision'>;
  connectors: Connectors;
  now: () => Date;
};

/** Who asks: the partner gateway that proposed the job, or this gateway's own steward submitting it. */
export type JobAsker = { type: 'Partner'; id: string; role: string } | { type: 'User'; id: string; role: string };

/**
 * Resolves when this party may take part in `spec` as asked by `asker`. Throws CONSENT_DENIED (purpose unknown,
 * action or recipient not allowed, policy or delegation denies, a field not allowed), COLUMN_DENIED, NOT_FOUND (no
 * such view) or BAD_INPUT (not a party, not an identifier column). The decision is written to the audit chain. What
 * this party reads (its view, identifier column and columns) is what the job's protocol declares.
 */
export async function admitJob(
  deps: AdmissionDeps,
  spec: JobSpec,
  asker: JobAsker,
  protocol: Pick<JobProtocol, 'reads'>,
): Promise<void> {
  const party = partyOf(spec, deps.partyId);
  if (party === undefined)
    throw new GatewayError('BAD_INPUT', 'this gateway is not a party of the job', { job: spec.id });
  const reads = protocol.reads(spec, party);
  const denied = (message: string, reason: string) =>
    new GatewayError('CONSENT_DENIED', message, { job: spec.id, party: deps.partyId, reason });

  const purpose = findPurpose(deps.policies.bundle.purposes, spec.purpose);
  if (purpose === undefined)
    throw denied(`purpose ${spec.purpose} is not in the catalogue of ${deps.partyId}`, 'PURPOSE_UNKNOWN');
  if (!purpose.actions.includes(JOB_ACTION))
    throw denied(`purpose ${spec.purpose} does not allow ${JOB_ACTION} at ${deps.partyId}`, 'ACTION_NOT_IN_PURPOSE');
  // Learning the output is receiving this party's data; the party itself is not a recipient of its own data.
  const outsiders = spec.receivers.filter((r) => r !== deps.partyId && !purpose.allowedRecipients.includes(r));
  if (outsiders.length > 0)
    throw denied(
      `purpose ${spec.purpose} does not allow ${outsiders.join(', ')} to receive outputs at ${deps.partyId}`,
      'RECIPIENT_NOT_ALLOWED',
    );

  await deps.connectors.keys.joinColumn(reads.view, reads.idColumn);
  if (reads.columns.length > 0) await deps.connectors.reader.readViewColumns(reads.view, reads.columns, spec.purpose);
  const { declaration } = await deps.connectors.views.get(reads.view);
  const isSensitive = reads.columns.some(
    (c) => declaration.columns.find((d) => d.name === c)?.classification === 'sensitive',
  );

  const fields = [reads.idColumn, ...reads.columns];
  const request: DecisionRequest = {
    principal:
      asker.type === 'Partner'
        ? { type: 'Partner', id: asker.id, attrs: { role: asker.role } }
        : { type: 'User', id: asker.id, attrs: { role: asker.role, region: 'all' } },
    action: JOB_ACTION,
    resource: {
      type: 'Dataset',
      id: reads.view,
      attrs: { owner: deps.partyId, region: 'all', classification: isSensitive ? 'sensitive' : 'customer' },
    },
    context: { purpose: spec.purpose, scene: JOB_SCENE, fields },
  };
  const { authorizer, bundle } = deps.policies;
  const decision = decide(request, {
    authorizer,
    purposes: bundle.purposes,
    view: deps.consent.view,
    controllerId: deps.partyId,
    now: deps.now(),
  });
  const missing = fields.filter((f) => !decision.allowedFields.includes(f));
  const isPermitted = decision.decision === 'permit' && missing.length === 0;
  await deps.consent.recordDecision({
    actor: asker.type === 'Partner' ? asker.id : `token:${asker.id}`,
    action: JOB_ACTION,
    outcome: isPermitted ? 'permit' : 'deny',
    purpose: spec.purpose,
    reasons: decision.reasons.map((r) => r.code),
    consentIds: decision.consentIds,
    delegationIds: decision.delegationIds,
    fields: decision.allowedFields,
  });
  if (decision.decision !== 'permit') {
    const reason = decision.reasons[0];
    throw denied(`${deps.partyId} refuses: ${reason?.message ?? 'denied'}`, reason?.code ?? 'DENY');
  }
  if (missing.length > 0)
    throw denied(
      `${deps.partyId} refuses: purpose, delegation or consent does not allow ${missing.join(', ')}`,
      'FIELDS_DROPPED',
    );
}
