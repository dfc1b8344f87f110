// The policy decision point (XACML 3.0 PDP role; deny-overrides, default deny): purpose rules, Cedar
// scene-data-action policies, the consent and delegation chain, minimization and k-thresholds, combined
// into one permit or deny with the reasons and the ids of every record relied on.
//
// Checks run in a fixed order and the first failure decides, so reason codes are stable:
//   (a) PURPOSE_UNKNOWN, ACTION_NOT_IN_PURPOSE   (b) RECIPIENT_NOT_ALLOWED   (c) CEDAR_ERROR, CEDAR_DENY
//   (d) NO_CONSENT   (e) NO_DELEGATION   (f) NO_FIELDS   (g) K_THRESHOLD
// The view already filters by time and status; every link is re-checked here anyway (controller,
// subject, purpose, recipient, expiry), because a stale or buggy projection must not turn into a permit.
import { z } from 'zod';
import type { ActiveDelegation, ActiveGrant, AuthorizationView } from './authorization-view.ts';
import type { Authorizer } from './cedar.ts';
import { FieldName, allowedFields, checkKThreshold } from './minimization.ts';
import type { Allowlist } from './minimization.ts';
import { PrecisionRule, precisionFor } from './precision.ts';
import { PurposeAction, PurposeId, findPurpose } from './purpose.ts';
import type { PurposeCatalog } from './purpose.ts';

const EntityId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/, 'ids are letters, digits, . _ : @ -');
const AttrName = z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,63}$/);
/** Cedar attribute values: String, Long (a safe integer) or Boolean. */
const MAX_ATTRS = 32;
const Attrs = z
  .record(AttrName, z.union([z.string().max(256), z.int(), z.boolean()]))
  .refine((attrs) => Object.keys(attrs).length <= MAX_ATTRS, `at most ${MAX_ATTRS} attributes`)
  // The refinement as JSON Schema states it, so the route's compiled validator enforces it too (request-validator.ts).
  .meta({ maxProperties: MAX_ATTRS });
/** A subject pseudonym (HMAC of the raw id, never the raw id itself). */
export const SubjectPseudonym = z.string().regex(/^sp_[A-Za-z0-9_-]{16,128}$/, 'subjects are pseudonyms sp_...');
export const SceneName = z.string().regex(/^[a-z][a-z0-9-]{0,63}$/, 'scenes are lowercase letters, digits and -');

export const DecisionRequest = z.strictObject({
  principal: z.strictObject({ type: z.enum(['Partner', 'User']), id: EntityId, attrs: Attrs.optional() }),
  action: PurposeAction,
  resource: z.strictObject({
    type: z.literal('Dataset'),
    id: EntityId,
    attrs: Attrs.optional(),
    subject: SubjectPseudonym.optional(),
  }),
  context: z.strictObject({
    purpose: PurposeId,
    scene: SceneName,
    fields: z.array(FieldName).max(256),
    cohortSize: z.int().min(0).optional(),
  }),
});
export type DecisionRequest = z.infer<typeof DecisionRequest>;

export const DecisionReasonCode = z.enum([
  'PERMITTED',
  'FIELDS_DROPPED',
  'INVALID_REQUEST',
  'PURPOSE_UNKNOWN',
  'ACTION_NOT_IN_PURPOSE',
  'RECIPIENT_NOT_ALLOWED',
  'CEDAR_ERROR',
  'CEDAR_DENY',
  'NO_CONSENT',
  'NO_DELEGATION',
  'NO_FIELDS',
  'K_THRESHOLD',
]);
export type DecisionReasonCode = z.infer<typeof DecisionReasonCode>;

export const DecisionReason = z.strictObject({ code: DecisionReasonCode, message: z.string() });
export type DecisionReason = z.infer<typeof DecisionReason>;

export const Decision = z.strictObject({
  decision: z.enum(['permit', 'deny']),
  /** On deny: exactly the first failing check. On permit: PERMITTED, then FIELDS_DROPPED if any were. */
  reasons: z.array(DecisionReason).min(1),
  /** Records relied on for a permit; empty on deny, since a deny relies on nothing. */
  consentIds: z.array(z.string()),
  delegationIds: z.array(z.string()),
  /** Cedar policies that determined the permit (their @id). */
  policyIds: z.array(z.string()),
  allowedFields: z.array(FieldName),
  precision: z.record(FieldName, PrecisionRule),
  kThreshold: z.int().min(1).nullable(),
  policyVersion: z.string(),
});
export type Decision = z.infer<typeof Decision>;

export type DecisionDeps = {
  /** Compiled from the same bundle as `purposes`: `policyVersion` names that bundle. */
  authorizer: Authorizer;
  purposes: PurposeCatalog;
  view: AuthorizationView;
  /** This gateway's own party id: the controller of every grant and delegation it may rely on. */
  controllerId: string;
  now: Date;
};

function deny(deps: DecisionDeps, kThreshold: number | null, code: DecisionReasonCode, message: string): Decision {
  return {
    decision: 'deny',
    reasons: [{ code, message }],
    consentIds: [],
    delegationIds: [],
    policyIds: [],
    allowedFields: [],
    precision: {},
    kThreshold,
    policyVersion: deps.authorizer.version,
  };
}

// The use a grant or delegation is checked against: built once per request, then each candidate record is checked
// against it (a handful per request, so a named object rather than positional parameters).
type GrantUse = { subject: string; purpose: string; recipient: string; controllerId: string; nowMs: number };
type DelegationUse = { partner: string; purpose: string; controllerId: string; nowMs: number };

function isGrantUsable(g: ActiveGrant, { subject, purpose, recipient, controllerId, nowMs }: GrantUse): boolean {
  return (
    g.subject === subject &&
    g.controller === controllerId &&
    g.purposes.includes(purpose) &&
    g.recipients.includes(recipient) &&
    (g.expiresAt === null || Date.parse(g.expiresAt) > nowMs)
  );
}

function isDelegationUsable(d: ActiveDelegation, { partner, purpose, controllerId, nowMs }: DelegationUse): boolean {
  // Date.parse of a malformed timestamp is NaN, and NaN > now is false: unreadable expiry means expired.
  return (
    d.partner === partner &&
    d.controller === controllerId &&
    d.purposes.includes(purpose) &&
    Date.parse(d.expiresAt) > nowMs
  );
}

/**
 * Decide one request. Never throws for a bad request or a Cedar failure (both deny); an exception from
 * the view propagates, and an exception is never a permit.
 */
export function decide(input: DecisionRequest, deps: DecisionDeps): Decision {
  const checked = DecisionRequest.safeParse(input);
  if (!checked.success) {
    const paths = checked.error.issues.map((issue) => issue.path.map(String).join('.') || '(root)');
    return deny(deps, null, 'INVALID_REQUEST', `malformed decision request at ${paths.join(', ')}`);
  }
  return decideParsed(checked.data, deps);
}

/**
 * `decide` for a request that is already the output of `DecisionRequest.parse`, such as a route body the
 * schema validator produced: the same checks without parsing twice on the hot path.
 */
export function decideParsed(request: DecisionRequest, deps: DecisionDeps): Decision {
  const nowMs = deps.now.getTime();
  if (!Number.isFinite(nowMs)) return deny(deps, null, 'INVALID_REQUEST', 'decision time is not a valid date');
  const { principal, action, resource, context } = request;
  const isPartner = principal.type === 'Partner';

  // (a) purpose limitation
  const purpose = findPurpose(deps.purposes, context.purpose);
  if (purpose === undefined)
    return deny(deps, null, 'PURPOSE_UNKNOWN', `purpose ${context.purpose} is not in the catalogue`);
  const k = purpose.kThreshold;
  if (!purpose.actions.includes(action)) {
    return deny(deps, k, 'ACTION_NOT_IN_PURPOSE', `purpose ${context.purpose} does not allow action ${action}`);
  }
  // (b) a partner must be a named recipient of the purpose; a User acts inside the controller itself
  if (isPartner && !purpose.allowedRecipients.includes(principal.id)) {
    return deny(
      deps,
      k,
      'RECIPIENT_NOT_ALLOWED',
      `partner ${principal.id} is not a recipient of purpose ${context.purpose}`,
    );
  }

  // (c) scene-data-action policies: any error denies, a forbid beats any permit, no permit denies
  const answer = deps.authorizer.authorize({
    principal: { type: principal.type, id: principal.id, attrs: principal.attrs },
    action,
    resource: { type: resource.type, id: resource.id, attrs: resource.attrs },
    context: { purpose: context.purpose, scene: context.scene },
  });
  if (answer.errors.length > 0)
    return deny(deps, k, 'CEDAR_ERROR', `policy evaluation failed: ${answer.errors.join('; ')}`);
  if (answer.decision !== 'allow') {
    const message =
      answer.reasons.length > 0 ? `forbidden by policy ${answer.reasons.join(', ')}` : 'no policy permits this';
    return deny(deps, k, 'CEDAR_DENY', message);
  }

  // (d) the subject's own consent, for this purpose, naming this recipient
  let grants: ActiveGrant[] = [];
  if (resource.subject !== undefined) {
    const subject = resource.subject;
    const recipient = isPartner ? principal.id : deps.controllerId;
    const use = { subject, purpose: context.purpose, recipient, controllerId: deps.controllerId, nowMs };
    grants = deps.view.grantsFor(subject, context.purpose, deps.now).filter((g) => isGrantUsable(g, use));
    if (grants.length === 0)
      return deny(deps, k, 'NO_CONSENT', `no consent in force covers purpose ${context.purpose} for this recipient`);
  }

  // (e) a partner acts only under a delegation from this controller
  let delegations: ActiveDelegation[] = [];
  if (isPartner) {
    const use = { partner: principal.id, purpose: context.purpose, controllerId: deps.controllerId, nowMs };
    delegations = deps.view
      .delegationsFor(principal.id, context.purpose, deps.now)
      .filter((d) => isDelegationUsable(d, use));
    if (delegations.length === 0) {
      return deny(
        deps,
        k,
        'NO_DELEGATION',
        `no delegation in force from ${deps.controllerId} to ${principal.id} for purpose ${context.purpose}`,
      );
    }
  }

  // (f) fields: requested ∩ purpose ∩ every consent ∩ every delegation. With several records in force
  // each is a limit its author set; honouring all of them is the only reading that exceeds none.
  const lists: Allowlist[] = [{ source: `purpose ${context.purpose}`, fields: purpose.fieldAllowlist }];
  for (const g of grants) lists.push({ source: `consent ${g.recordId}`, fields: g.fieldAllowlist });
  for (const d of delegations) lists.push({ source: `delegation ${d.delegationId}`, fields: d.fieldAllowlist });
  const selection = allowedFields(context.fields, ...lists);
  const precisionTables = [purpose.precision, ...grants.map((g) => g.precision)];
  const fields: string[] = [];
  const precision: Record<string, PrecisionRule> = {};
  for (const field of selection.fields) {
    const rule = precisionFor(field, ...precisionTables);
    if (rule === 'suppress') {
      selection.dropped.push({ field, reason: 'precision rules of the purpose and consent cannot be reconciled' });
      continue;
    }
    fields.push(field);
    precision[field] = rule;
  }
  if (fields.length === 0) {
    return deny(
      deps,
      k,
      'NO_FIELDS',
      context.fields.length === 0 ? 'no fields requested' : 'no requested field is allowed by every link',
    );
  }

  // (g) aggregates are released only over at least k subjects
  if (action === 'aggregate' && !checkKThreshold(context.cohortSize, k)) {
    return deny(deps, k, 'K_THRESHOLD', `aggregate needs a cohort of at least ${k}`);
  }

  const reasons: DecisionReason[] = [
    { code: 'PERMITTED', message: `permitted by policy ${answer.reasons.join(', ')}` },
  ];
  if (selection.dropped.length > 0) {
    reasons.push({
      code: 'FIELDS_DROPPED',
      message: selection.dropped.map((d) => `${d.field}: ${d.reason}`).join('; '),
    });
  }
  return {
    decision: 'permit',
    reasons,
    consentIds: grants.map((g) => g.recordId),
    delegationIds: delegations.map((d) => d.delegationId),
    policyIds: [...answer.reasons],
    allowedFields: fields,
    precision,
    kThreshold: k,
    policyVersion: deps.authorizer.version,
  };
}
