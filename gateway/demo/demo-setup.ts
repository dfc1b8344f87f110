// The demo's set-up at each gateway (docs/demo.md, "Set-up"): tokens for its roles, the other two registered as
// peers, the joint-modeling purpose in its policy bundle, and its synthetic customers as a connector view. All of it
// through the gateway's own API, as an operator would, except the tokens, which an operator issues with
// `sealgate token create` on the gateway's host.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DemoApi } from './demo-api.ts';
import type { DemoGateway } from './demo-gateways.ts';
import { DEMO_PARTIES, type DemoParty, type Population } from './population.ts';

/** The purpose the three partners model CLV under. */
export const CLV_PURPOSE = 'joint-modeling-clv';
/** The exchange purpose a dealer customer may also consent to (consent/default-policy-bundle.ts): a battery maker's. */
export const EXCHANGE_PURPOSE = 'charging-demand-forecast';
/** The purpose a partner measures what a data package adds to its forecast under: only error metrics leave. */
export const VALUATION_PURPOSE = 'package-valuation';

/** Each partner's view, its columns (after the subject id and the shared phone number) and their types. */
export const DEMO_VIEWS: Record<DemoParty, { view: string; columns: Record<string, [string, string]> }> = {
  'dealer-4s': {
    view: 'customers',
    columns: {
      region_code: ['string', 'quasi-identifier'],
      purchase_amount: ['double', 'feature'],
      service_visits_12m: ['integer', 'feature'],
      clv: ['double', 'label'],
      high_value: ['integer', 'label'],
      purchase_intent: ['integer', 'feature'],
      nev_acceptance: ['double', 'feature'],
      financing_preference: ['double', 'feature'],
    },
  },
  'insurer-a': {
    view: 'policyholders',
    columns: {
      policy_premium: ['double', 'feature'],
      claims_3y: ['integer', 'feature'],
      tenure_years: ['integer', 'feature'],
    },
  },
  'charging-net': {
    view: 'charging_users',
    columns: {
      charging_kwh_month: ['double', 'feature'],
      sessions_month: ['integer', 'feature'],
      home_share: ['double', 'feature'],
    },
  },
};

/** The columns each partner contributes to the CLV model and its statistics. */
export const MODEL_COLUMNS: Record<DemoParty, string[]> = {
  'dealer-4s': ['purchase_amount', 'service_visits_12m'],
  'insurer-a': ['policy_premium', 'claims_3y', 'tenure_years'],
  'charging-net': ['charging_kwh_month', 'sessions_month', 'home_share'],
};

export type DemoTokens = { admin: string; steward: string; collector: string; officer: string };

export type DemoSite = { party: DemoParty; gw: DemoGateway; api: DemoApi; tokens: DemoTokens };

export async function issueTokens(gw: DemoGateway): Promise<DemoTokens> {
  const issue = async (role: 'admin' | 'data-steward' | 'collector' | 'compliance-officer') =>
    (await gw.ctx.tokens.createToken(role, `demo ${role}`)).token;
  return {
    admin: await issue('admin'),
    steward: await issue('data-steward'),
    collector: await issue('collector'),
    officer: await issue('compliance-officer'),
  };
}

/** Every gateway registers the other two as peers, by URL and Ed25519 key. */
export async function meshPeers(sites: readonly DemoSite[]): Promise<void> {
  for (const a of sites)
    for (const b of sites)
      if (a !== b)
        await a.api('POST', '/v1/peers', a.tokens.admin, {
          id: b.party,
          baseUrl: b.gw.url,
          ed25519PublicKey: Buffer.from(b.gw.ctx.identity.ed25519.publicKeyRaw).toString('hex'),
        });
}

/**
 * The CLV and package-valuation purposes in the gateway's bundle: on the shared phone number and the partners'
 * columns, outputs to the three partners only, and no group under 10 customers.
 */
export async function addClvPurpose(site: DemoSite): Promise<void> {
  const { bundle } = await site.api<{ bundle: { purposes: Record<string, unknown> } }>(
    'GET',
    '/v1/policies',
    site.tokens.admin,
  );
  const fieldAllowlist = ['phone', ...DEMO_PARTIES.flatMap((p) => Object.keys(DEMO_VIEWS[p].columns))];
  const common = {
    fieldAllowlist,
    precision: {},
    kThreshold: 10,
    allowedRecipients: [...DEMO_PARTIES],
  };
  await site.api('PUT', '/v1/policies', site.tokens.admin, {
    ...bundle,
    purposes: {
      ...bundle.purposes,
      [CLV_PURPOSE]: {
        ...common,
        description:
          'Joint customer-lifetime-value modeling by the dealer, the insurer and the charging network: no raw rows shared.',
        actions: ['join', 'aggregate', 'model'],
      },
      [VALUATION_PURPOSE]: {
        ...common,
        description:
          "Measuring what a partner's data package adds to a forecast (lift certificates): only error metrics leave.",
        actions: ['join', 'model'],
      },
    },
  });
}

const csvOf = (rows: readonly Record<string, string | number>[], columns: readonly string[]): string =>
  `${[columns.join(','), ...rows.map((r) => columns.map((c) => String(r[c])).join(','))].join('\n')}\n`;

/** Writes the partner's rows as a CSV in its import root and declares the view over it. */
export async function importRows(site: DemoSite, population: Population): Promise<number> {
  const rows =
    site.party === 'dealer-4s'
      ? population.dealer
      : site.party === 'insurer-a'
        ? population.insurer
        : population.charging;
  const { view, columns } = DEMO_VIEWS[site.party];
  const names = ['id', 'phone', ...Object.keys(columns)];
  const file = `${view}.csv`;
  writeFileSync(join(site.gw.ctx.connectors.importRoots[0] as string, file), csvOf(rows, names));
  await site.api('POST', '/v1/connectors/views', site.tokens.steward, {
    name: view,
    source: { kind: 'csv', path: file },
    subjectColumn: 'id',
    columns: [
      { name: 'id', type: 'string', classification: 'identifier' },
      { name: 'phone', type: 'string', classification: 'identifier' },
      ...Object.entries(columns).map(([name, [type, classification]]) => ({ name, type, classification })),
    ],
  });
  return rows.length;
}
