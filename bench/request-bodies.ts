// Request bodies the consent benchmarks send, the same shapes as test/flows/flow-consent-decision.test.ts: a grant of
// the CLV joint-modeling purpose to the insurer and the charging network, the controller's delegation to the
// insurer, and the insurer's decision requests spread over subjects, actions and regional datasets.

export const CONTROLLER = 'dealer-4s';
export const PARTNER = 'insurer-a';
export const PURPOSE = 'joint-modeling-clv';

const YEAR_MS = 365 * 86_400_000;
const inAYear = () => new Date(Date.now() + YEAR_MS).toISOString();

export function grantBody(subjectId: string): Record<string, unknown> {
  return {
    subjectId,
    jurisdiction: 'CN',
    recipients: [
      { id: PARTNER, role: 'joint-controller' },
      { id: 'charging-net', role: 'joint-controller' },
    ],
    purposes: [{ purpose: PURPOSE, legalBasis: 'dpv:Consent' }],
    dataCategories: [
      { category: 'dpv:Age', sensitive: false },
      { category: 'dpv:Vehicle', sensitive: false },
    ],
    minimization: {
      fieldAllowlist: ['customer_age', 'vehicle_model', 'region_code'],
      precision: { customer_age: 'band:10' },
      localOnly: false,
      crossBorder: false,
    },
    notice: { url: 'https://dealer.example/privacy', hash: 'a'.repeat(64), version: '2026-01' },
    indication: { method: 'app', by: 'subject', at: new Date().toISOString() },
    separateConsent: { sharing: true, sensitive: false, crossBorder: false },
    expiresAt: inAYear(),
  };
}

export function delegationBody(): Record<string, unknown> {
  return {
    partner: PARTNER,
    purposes: [PURPOSE],
    fieldAllowlist: ['customer_age', 'vehicle_model'],
    expiresAt: inAYear(),
  };
}

const ACTIONS = ['join', 'model', 'aggregate'] as const;
const REGIONS = ['east', 'west', 'north', 'south'] as const;

/**
 * The i-th decision request: subject i mod n, and one of 12 (action, dataset) combinations, so the Cedar memo
 * holds a realistic handful of keys while the consent lookups touch every subject. Every one is a permit.
 */
export function decisionBody(subjects: readonly string[], i: number) {
  const action = ACTIONS[i % ACTIONS.length] as (typeof ACTIONS)[number];
  const region = REGIONS[Math.floor(i / ACTIONS.length) % REGIONS.length] as string;
  return {
    principal: { type: 'Partner' as const, id: PARTNER, attrs: { role: 'insurer' } },
    action,
    resource: {
      type: 'Dataset' as const,
      id: `crm-${region}`,
      attrs: { owner: CONTROLLER, region, classification: 'customer' },
      subject: subjects[i % subjects.length] as string,
    },
    context: {
      purpose: PURPOSE,
      scene: 'joint-modeling',
      fields: ['customer_age', 'vehicle_model', 'policy_premium'],
      ...(action === 'aggregate' ? { cohortSize: 100 } : {}),
    },
  };
}
