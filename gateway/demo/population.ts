// The demo's synthetic population (docs/demo.md): a car dealer's customers, an insurer's policy holders and a charging
// network's users, who overlap in part, with a customer lifetime value (CLV) made of three independent signals, one
// per partner, in stated shares. Because the shares are stated, the errors a linear model of CLV can reach with the
// dealer's columns alone, and with all three partners' columns, are known before anything runs: the demo's measured
// lift is checked against them. Pure and seeded: the same seed gives the same rows.
import { samplerOf, seededPrng } from '../../valuation/distributions.ts';

/** The parties of the demo and the shared identifier they align on. */
export const DEMO_PARTIES = ['dealer-4s', 'insurer-a', 'charging-net'] as const;
export type DemoParty = (typeof DEMO_PARTIES)[number];

/**
 * CLV = mean + sd · (√s_dealer · z_dealer + √s_insurer · z_insurer + √s_charging · z_charging + √s_noise · e), with
 * independent standard normal z and e. Each partner holds one column that is an exact linear function of its own z
 * (and others that are noisy ones), so the best linear model of CLV on a set of partners' columns explains the sum of
 * their shares.
 */
export const CLV_MODEL = {
  mean: 60_000,
  sd: 20_000,
  shares: { 'dealer-4s': 0.3, 'insurer-a': 0.25, 'charging-net': 0.25, 'noise': 0.2 },
} as const;

export type DemoOptions = {
  /** The dealer's customers. */
  customers: number;
  seed: number;
  /** The share of the dealer's customers the insurer and the charging network also hold. */
  overlap?: { 'insurer-a': number; 'charging-net': number };
  /** The share of each partner's customers who refuse consent. */
  refusal?: number;
};

export type DealerRow = {
  id: string;
  phone: string;
  region_code: string;
  purchase_amount: number;
  service_visits_12m: number;
  clv: number;
  high_value: number;
  purchase_intent: number;
  nev_acceptance: number;
  financing_preference: number;
};
export type InsurerRow = { id: string; phone: string; policy_premium: number; claims_3y: number; tenure_years: number };
export type ChargingRow = {
  id: string;
  phone: string;
  charging_kwh_month: number;
  sessions_month: number;
  home_share: number;
};

export type Population = {
  dealer: DealerRow[];
  insurer: InsurerRow[];
  charging: ChargingRow[];
  /** Each partner's customers (raw ids) who refuse consent: they are never granted, so never read. */
  refusing: Record<DemoParty, Set<string>>;
  /** Dealer customers who also consent to the exchange purpose (charging-demand-forecast, for a battery maker). */
  exchangeConsent: Set<string>;
};

export const REGIONS = ['R01', 'R02', 'R03', 'R04', 'R05', 'R06'] as const;

const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits;
const phoneOf = (n: number) => `139${String(n).padStart(8, '0')}`;

/** The population for `options`; every draw comes from one MT19937 seeded with `options.seed`, in a fixed order. */
export function generatePopulation(options: DemoOptions): Population {
  const prng = seededPrng(options.seed);
  const normal = samplerOf({ kind: 'normal', mean: 0, sd: 1 }, prng);
  const overlap = options.overlap ?? { 'insurer-a': 0.7, 'charging-net': 0.6 };
  const refusal = options.refusal ?? 0.05;
  const { mean, sd, shares } = CLV_MODEL;

  const dealer: DealerRow[] = [];
  const insurer: InsurerRow[] = [];
  const charging: ChargingRow[] = [];
  const refusing: Record<DemoParty, Set<string>> = {
    'dealer-4s': new Set(),
    'insurer-a': new Set(),
    'charging-net': new Set(),
  };
  const exchangeConsent = new Set<string>();

  const insurerRow = (n: number, phone: string, z: number): InsurerRow => ({
    id: `I-${String(n).padStart(6, '0')}`,
    phone,
    policy_premium: round(6_000 + 1_500 * z, 2),
    claims_3y: Math.max(0, Math.round(1 - 0.5 * z + 0.7 * normal())),
    tenure_years: Math.max(0, Math.round(5 + 2 * z + 2 * normal())),
  });
  const chargingRow = (n: number, phone: string, z: number): ChargingRow => ({
    id: `C-${String(n).padStart(6, '0')}`,
    phone,
    charging_kwh_month: round(250 + 80 * z, 3),
    sessions_month: Math.max(0, Math.round(12 + 4 * z + 3 * normal())),
    home_share: round(1 / (1 + Math.exp(-(0.5 * z + normal()))), 4),
  });

  for (let i = 0; i < options.customers; i++) {
    const phone = phoneOf(i);
    const z = { dealer: normal(), insurer: normal(), charging: normal(), noise: normal() };
    const clv =
      mean +
      sd *
        (Math.sqrt(shares['dealer-4s']) * z.dealer +
          Math.sqrt(shares['insurer-a']) * z.insurer +
          Math.sqrt(shares['charging-net']) * z.charging +
          Math.sqrt(shares.noise) * z.noise);
    const id = `D-${String(i).padStart(6, '0')}`;
    const intentScore = 0.8 * z.dealer + 0.6 * normal();
    dealer.push({
      id,
      phone,
      region_code: REGIONS[Math.floor(prng() * REGIONS.length)] as string,
      purchase_amount: round(180_000 + 45_000 * z.dealer, 2),
      service_visits_12m: Math.max(0, Math.round(3 + 1.5 * z.dealer + normal())),
      clv: round(clv, 2),
      high_value: clv > mean ? 1 : 0,
      purchase_intent: intentScore > 0.5 ? 1 : 0,
      nev_acceptance: round(1 / (1 + Math.exp(-(0.9 * z.charging + 0.5 * normal()))), 4),
      financing_preference: round(1 / (1 + Math.exp(-(0.7 * z.insurer + 0.7 * normal()))), 4),
    });
    if (prng() < refusal) refusing['dealer-4s'].add(id);
    else if (prng() < 0.85) exchangeConsent.add(id);
    if (prng() < overlap['insurer-a']) {
      const row = insurerRow(insurer.length, phone, z.insurer);
      insurer.push(row);
      if (prng() < refusal) refusing['insurer-a'].add(row.id);
    }
    if (prng() < overlap['charging-net']) {
      const row = chargingRow(charging.length, phone, z.charging);
      charging.push(row);
      if (prng() < refusal) refusing['charging-net'].add(row.id);
    }
  }
  // Each of the other partners also holds customers the dealer does not: they never align.
  const outsiders = Math.round(options.customers * 0.25);
  for (let j = 0; j < outsiders; j++) {
    const insured = insurerRow(insurer.length, phoneOf(options.customers + j), normal());
    insurer.push(insured);
    const charged = chargingRow(charging.length, phoneOf(options.customers + outsiders + j), normal());
    charging.push(charged);
  }
  return { dealer, insurer, charging, refusing, exchangeConsent };
}

/**
 * The root mean squared error a linear model of CLV reaches, in the limit of many rows, on the columns of `parties`:
 * sd · √(1 − Σ shares). What the demo's measured errors are checked against.
 */
export function expectedClvRmse(parties: readonly DemoParty[]): number {
  const explained = parties.reduce((sum, p) => sum + CLV_MODEL.shares[p], 0);
  return CLV_MODEL.sd * Math.sqrt(1 - explained);
}
