// A permit allows only requested ∩ purpose ∩ consent ∩ delegation fields, each at the coarsest precision
// of purpose and consent, and aggregates only over at least k subjects.
import { describe, expect, it } from 'vitest';
import type { ActiveDelegation, ActiveGrant } from '../../consent/authorization-view.ts';
import { compilePolicyBundle } from '../../consent/cedar.ts';
import { decide } from '../../consent/decision.ts';
import type { DecisionDeps, DecisionRequest } from '../../consent/decision.ts';
import { DEFAULT_POLICY_BUNDLE } from '../../consent/default-policy-bundle.ts';
import { minimizeRow } from '../../consent/minimization.ts';
import { fakeAuthorizationView } from './fake-authorization-view.ts';

const NOW = new Date('2026-03-01T00:00:00Z');
const CONTROLLER = 'dealer-4s';
const SUBJECT = `sp_${'Q'.repeat(43)}`;
const authorizer = compilePolicyBundle(DEFAULT_POLICY_BUNDLE);
const ALL = ['customer_age', 'vehicle_model', 'charging_kwh_month', 'policy_premium', 'region_code', 'financing_type'];

function grant(overrides: Partial<ActiveGrant> = {}): ActiveGrant {
  return {
    recordId: 'cr-1',
    subject: SUBJECT,
    controller: CONTROLLER,
    purposes: ['joint-modeling-clv'],
    recipients: ['charging-net'],
    fieldAllowlist: ALL,
    precision: {},
    expiresAt: null,
    ...overrides,
  };
}
function delegation(overrides: Partial<ActiveDelegation> = {}): ActiveDelegation {
  return {
    delegationId: 'dg-1',
    controller: CONTROLLER,
    partner: 'charging-net',
    purposes: ['joint-modeling-clv'],
    fieldAllowlist: ALL,
    expiresAt: '2030-01-01T00:00:00Z',
    ...overrides,
  };
}
function request(
  action: string,
  fields: string[],
  extra: { cohortSize?: number; subject?: boolean } = {},
): DecisionRequest {
  const resource: DecisionRequest['resource'] = {
    type: 'Dataset',
    id: 'charging',
    attrs: { owner: CONTROLLER, region: 'east', classification: 'usage' },
  };
  if (extra.subject !== false) resource.subject = SUBJECT;
  const context: DecisionRequest['context'] = { purpose: 'joint-modeling-clv', scene: 'joint-modeling', fields };
  if (extra.cohortSize !== undefined) context.cohortSize = extra.cohortSize;
  return {
    principal: { type: 'Partner', id: 'charging-net', attrs: { role: 'charging-operator' } },
    action,
    resource,
    context,
  };
}
function deps(grants: ActiveGrant[] = [grant()], delegations: ActiveDelegation[] = [delegation()]): DecisionDeps {
  return {
    authorizer,
    purposes: DEFAULT_POLICY_BUNDLE.purposes,
    view: fakeAuthorizationView({ grants, delegations }),
    controllerId: CONTROLLER,
    now: NOW,
  };
}

describe('decide: fields', () => {
  it('allows the intersection of requested, purpose, consent and delegation, in requested order', () => {
    const out = decide(
      request('join', ['phone', 'region_code', 'policy_premium', 'customer_age', 'vehicle_model']),
      deps(
        [grant({ fieldAllowlist: ['customer_age', 'region_code', 'vehicle_model', 'phone'] })],
        [delegation({ fieldAllowlist: ['region_code', 'customer_age', 'policy_premium'] })],
      ),
    );
    expect(out.decision).toBe('permit');
    expect(out.allowedFields).toEqual(['region_code', 'customer_age']);
    expect(out.reasons[1]).toEqual({
      code: 'FIELDS_DROPPED',
      message:
        'phone: not in purpose joint-modeling-clv allowlist; policy_premium: not in consent cr-1 allowlist; vehicle_model: not in delegation dg-1 allowlist',
    });
  });
  it('honours every consent in force: fields intersect and precision coarsens across grants', () => {
    const out = decide(
      request('join', ['customer_age', 'region_code', 'vehicle_model']),
      deps([
        grant({
          recordId: 'cr-1',
          fieldAllowlist: ['customer_age', 'region_code', 'vehicle_model'],
          precision: { customer_age: 'band:10' },
        }),
        grant({
          recordId: 'cr-2',
          fieldAllowlist: ['customer_age', 'region_code'],
          precision: { region_code: 'truncate:2' },
        }),
      ]),
    );
    expect([out.decision, out.consentIds, out.allowedFields]).toEqual([
      'permit',
      ['cr-1', 'cr-2'],
      ['customer_age', 'region_code'],
    ]);
    expect(out.precision).toEqual({ customer_age: 'band:10', region_code: 'truncate:2' });
  });
  it('takes the coarser of purpose and consent precision, in either direction, exact otherwise', () => {
    const out = decide(
      request('join', ['customer_age', 'region_code', 'financing_type']),
      deps([grant({ precision: { customer_age: 'band:3', region_code: 'truncate:6' } })]),
    );
    // purpose band:5 ⊔ consent band:3 = band:15; purpose truncate:4 beats truncate:6; no rule anywhere = exact
    expect(out.precision).toEqual({ customer_age: 'band:15', region_code: 'truncate:4', financing_type: 'exact' });
    const row = minimizeRow(
      { customer_age: 37, region_code: '310104', financing_type: 'loan', phone: '138' },
      { fields: out.allowedFields, precision: out.precision },
    );
    expect(row).toEqual({ customer_age: '30-44', region_code: '3101', financing_type: 'loan' });
  });
  it('drops a field whose purpose and consent rules cannot be reconciled', () => {
    const out = decide(
      request('join', ['customer_age', 'vehicle_model']),
      deps([grant({ precision: { customer_age: 'round:-1' } })]),
    );
    expect(out.allowedFields).toEqual(['vehicle_model']);
    expect(out.reasons[1]?.message).toBe(
      'customer_age: precision rules of the purpose and consent cannot be reconciled',
    );
    const only = decide(request('join', ['customer_age']), deps([grant({ precision: { customer_age: 'band:oops' } })]));
    expect(only.reasons).toEqual([{ code: 'NO_FIELDS', message: 'no requested field is allowed by every link' }]);
  });
  it('NO_FIELDS when nothing requested survives, or nothing was requested', () => {
    const disjoint = decide(request('join', ['customer_age']), deps([grant({ fieldAllowlist: ['vehicle_model'] })]));
    expect(disjoint.reasons.map((r) => r.code)).toEqual(['NO_FIELDS']);
    expect(disjoint.allowedFields).toEqual([]);
    expect(decide(request('join', []), deps()).reasons).toEqual([
      { code: 'NO_FIELDS', message: 'no fields requested' },
    ]);
  });
});

describe('decide: k-threshold', () => {
  it('releases an aggregate over exactly k subjects and not over k - 1', () => {
    expect(decide(request('aggregate', ['customer_age'], { cohortSize: 10, subject: false }), deps()).decision).toBe(
      'permit',
    );
    const small = decide(request('aggregate', ['customer_age'], { cohortSize: 9, subject: false }), deps());
    expect(small.reasons).toEqual([{ code: 'K_THRESHOLD', message: 'aggregate needs a cohort of at least 10' }]);
    expect(small.kThreshold).toBe(10);
  });
  it('denies an aggregate whose cohort size is not stated', () => {
    expect(decide(request('aggregate', ['customer_age'], { subject: false }), deps()).reasons[0]?.code).toBe(
      'K_THRESHOLD',
    );
  });
  it('does not apply the cohort check to non-aggregate actions, but reports k for them', () => {
    const out = decide(request('model', ['customer_age']), deps());
    expect([out.decision, out.kThreshold]).toEqual(['permit', 10]);
  });
});
