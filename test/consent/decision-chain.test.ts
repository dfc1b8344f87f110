// The decision point denies by default and reports the first failing link with a stable code:
// purpose, recipient, Cedar, consent, delegation; every link is re-checked even if the view is stale.
import { describe, expect, it } from 'vitest';
import type { ActiveDelegation, ActiveGrant } from '../../consent/authorization-view.ts';
import { compilePolicyBundle } from '../../consent/cedar.ts';
import { Decision, decide } from '../../consent/decision.ts';
import type { DecisionDeps, DecisionRequest } from '../../consent/decision.ts';
import { DEFAULT_POLICY_BUNDLE } from '../../consent/default-policy-bundle.ts';
import { fakeAuthorizationView } from './fake-authorization-view.ts';

const NOW = new Date('2026-03-01T00:00:00Z');
const CONTROLLER = 'dealer-4s';
const SUBJECT = `sp_${'A'.repeat(43)}`;
const authorizer = compilePolicyBundle(DEFAULT_POLICY_BUNDLE);

const grant: ActiveGrant = {
  recordId: 'cr-1',
  subject: SUBJECT,
  controller: CONTROLLER,
  purposes: ['joint-modeling-clv'],
  recipients: ['insurer-a', CONTROLLER],
  fieldAllowlist: ['customer_age', 'region_code', 'vehicle_model'],
  precision: {},
  expiresAt: '2027-01-01T00:00:00Z',
};
const delegation: ActiveDelegation = {
  delegationId: 'dg-1',
  controller: CONTROLLER,
  partner: 'insurer-a',
  purposes: ['joint-modeling-clv'],
  fieldAllowlist: ['customer_age', 'region_code', 'vehicle_model'],
  expiresAt: '2027-01-01T00:00:00Z',
};

function partnerJoin(overrides: Partial<DecisionRequest['context']> = {}): DecisionRequest {
  return {
    principal: { type: 'Partner', id: 'insurer-a', attrs: { role: 'insurer' } },
    action: 'join',
    resource: {
      type: 'Dataset',
      id: 'customers',
      attrs: { owner: CONTROLLER, region: 'east', classification: 'customer' },
      subject: SUBJECT,
    },
    context: {
      purpose: 'joint-modeling-clv',
      scene: 'joint-modeling',
      fields: ['customer_age', 'region_code'],
      ...overrides,
    },
  };
}

function deps(view = fakeAuthorizationView({ grants: [grant], delegations: [delegation] }), now = NOW): DecisionDeps {
  return { authorizer, purposes: DEFAULT_POLICY_BUNDLE.purposes, view, controllerId: CONTROLLER, now };
}

function denial(request: DecisionRequest, d: DecisionDeps = deps()): string {
  const out = decide(request, d);
  expect(Decision.parse(out)).toEqual(out);
  expect(out.decision).toBe('deny');
  expect(out.reasons).toHaveLength(1);
  expect([out.consentIds, out.delegationIds, out.allowedFields, out.precision]).toEqual([[], [], [], {}]);
  return out.reasons[0]?.code ?? '';
}

describe('decide: permit', () => {
  it('permits a delegated partner join under the subject consent and names everything relied on', () => {
    const out = decide(partnerJoin(), deps());
    expect(Decision.parse(out)).toEqual(out);
    expect(out).toEqual({
      decision: 'permit',
      reasons: [{ code: 'PERMITTED', message: 'permitted by policy partner-joint-modeling' }],
      consentIds: ['cr-1'],
      delegationIds: ['dg-1'],
      policyIds: ['partner-joint-modeling'],
      allowedFields: ['customer_age', 'region_code'],
      precision: { customer_age: 'band:5', region_code: 'truncate:4' },
      kThreshold: 10,
      policyVersion: authorizer.version,
    });
  });
  it("permits the controller's own steward under consent naming the controller, with no delegation", () => {
    const steward = { type: 'User' as const, id: 'u-zhao', attrs: { role: 'data-steward', region: 'hq' } };
    const out = decide({ ...partnerJoin(), principal: steward }, deps(fakeAuthorizationView({ grants: [grant] })));
    expect([out.decision, out.consentIds, out.delegationIds]).toEqual(['permit', ['cr-1'], []]);
  });
  it('without a subject checks no consent but still needs the delegation', () => {
    const { subject: _subject, ...resource } = partnerJoin().resource;
    const view = fakeAuthorizationView({ delegations: [delegation] });
    const out = decide({ ...partnerJoin(), resource }, deps(view));
    expect([out.decision, out.consentIds, out.delegationIds]).toEqual(['permit', [], ['dg-1']]);
    view.remove('dg-1');
    expect(denial({ ...partnerJoin(), resource }, deps(view))).toBe('NO_DELEGATION');
  });
});

describe('decide: purpose, recipient and Cedar', () => {
  it('PURPOSE_UNKNOWN for a purpose not in the catalogue, inherited keys included', () => {
    expect(denial(partnerJoin({ purpose: 'resale' }))).toBe('PURPOSE_UNKNOWN');
    expect(denial(partnerJoin({ purpose: 'constructor' }))).toBe('PURPOSE_UNKNOWN');
  });
  it('ACTION_NOT_IN_PURPOSE when the purpose does not allow the action', () => {
    expect(
      denial({
        ...partnerJoin({ purpose: 'marketing' }),
        principal: { type: 'Partner', id: 'dealer-4s', attrs: { role: 'dealer' } },
      }),
    ).toBe('ACTION_NOT_IN_PURPOSE');
  });
  it('RECIPIENT_NOT_ALLOWED for a partner the purpose does not name, before anything else', () => {
    const battery = { type: 'Partner' as const, id: 'battery-maker', attrs: { role: 'buyer' } };
    const view = fakeAuthorizationView();
    expect(denial({ ...partnerJoin(), principal: battery }, deps(view))).toBe('RECIPIENT_NOT_ALLOWED');
    expect(view.calls).toBe(0);
  });
  it('CEDAR_DENY when no policy permits the scene, naming the forbid when one decides', () => {
    expect(denial(partnerJoin({ scene: 'marketing' }))).toBe('CEDAR_DENY');
    const sensitive = partnerJoin();
    sensitive.resource.attrs = { owner: CONTROLLER, region: 'east', classification: 'sensitive' };
    const out = decide(sensitive, deps());
    expect(out.reasons).toEqual([
      { code: 'CEDAR_DENY', message: 'forbidden by policy sensitive-only-in-compliance-review' },
    ]);
  });
  it('CEDAR_ERROR when the request does not conform to the schema', () => {
    expect(denial({ ...partnerJoin(), principal: { type: 'Partner', id: 'insurer-a' } })).toBe('CEDAR_ERROR');
  });
});

describe('decide: consent and delegation chain', () => {
  it('NO_CONSENT when the subject has no grant', () => {
    expect(denial(partnerJoin(), deps(fakeAuthorizationView({ delegations: [delegation] })))).toBe('NO_CONSENT');
  });
  it('NO_CONSENT at the next decision after a withdrawal', () => {
    const view = fakeAuthorizationView({ grants: [grant], delegations: [delegation] });
    expect(decide(partnerJoin(), deps(view)).decision).toBe('permit');
    view.remove('cr-1');
    expect(denial(partnerJoin(), deps(view))).toBe('NO_CONSENT');
  });
  it('NO_CONSENT once the grant has expired', () => {
    expect(denial(partnerJoin(), deps(undefined, new Date('2027-01-01T00:00:00Z')))).toBe('NO_CONSENT');
  });
  it('NO_CONSENT when the grant names other recipients, another controller or another subject, even from a stale view', () => {
    for (const stale of [
      { ...grant, recipients: ['charging-net'] },
      { ...grant, controller: 'insurer-a' },
      { ...grant, subject: `sp_${'B'.repeat(43)}` },
      { ...grant, purposes: ['marketing'] },
      { ...grant, expiresAt: '2026-01-01T00:00:00Z' },
      { ...grant, expiresAt: 'not a date' },
    ]) {
      expect(
        denial(partnerJoin(), deps(fakeAuthorizationView({ grants: [stale], delegations: [delegation], stale: true }))),
      ).toBe('NO_CONSENT');
    }
  });
  it('NO_CONSENT for a User when the grant does not name the controller as recipient', () => {
    const steward = { type: 'User' as const, id: 'u-zhao', attrs: { role: 'data-steward', region: 'hq' } };
    const partnerOnly = { ...grant, recipients: ['insurer-a'] };
    expect(
      denial({ ...partnerJoin(), principal: steward }, deps(fakeAuthorizationView({ grants: [partnerOnly] }))),
    ).toBe('NO_CONSENT');
  });
  it('NO_DELEGATION when the partner holds no delegation in force', () => {
    expect(denial(partnerJoin(), deps(fakeAuthorizationView({ grants: [grant] })))).toBe('NO_DELEGATION');
    for (const stale of [
      { ...delegation, expiresAt: '2026-02-28T23:59:59Z' },
      { ...delegation, partner: 'charging-net' },
      { ...delegation, controller: 'insurer-a' },
      { ...delegation, purposes: ['marketing'] },
    ]) {
      expect(
        denial(partnerJoin(), deps(fakeAuthorizationView({ grants: [grant], delegations: [stale], stale: true }))),
      ).toBe('NO_DELEGATION');
    }
  });
});

describe('decide: malformed input', () => {
  it('INVALID_REQUEST for unknown keys, a raw identifier as subject, or an invalid clock', () => {
    expect(denial({ ...partnerJoin(), extra: 1 } as DecisionRequest)).toBe('INVALID_REQUEST');
    const raw = partnerJoin();
    raw.resource.subject = '13800000000';
    const out = decide(raw, deps());
    expect(out.reasons[0]).toEqual({
      code: 'INVALID_REQUEST',
      message: 'malformed decision request at resource.subject',
    });
    expect(denial(partnerJoin(), deps(undefined, new Date(NaN)))).toBe('INVALID_REQUEST');
  });
});
