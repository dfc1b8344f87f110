// The parameters of one secure-aggregation round (Bonawitz et al., CCS 2017; Bell et al., CCS 2020) and the rules
// that make them safe. The session string binds every key, mask, share and signature to one round of one attempt of
// one job, so nothing from another round can be replayed into this one.
//
// The threshold t: each party's secrets go to `holders` parties (all n, or its k neighbours and itself). Requiring
// t > holders/2 means two disjoint groups of holders cannot both reach t, so a coordinator that tells one group a
// party survived (asking for its self-mask seed) and another that it dropped (asking for its mask key) cannot rebuild
// both; this is the paper's bound against a deviating server. docs/secagg.md says what it covers with colluders.
import { z } from 'zod';
import { GatewayError } from '../../core/errors.ts';
import { PartyId } from '../../core/party-id.ts';

export const SECAGG_PHASES = ['advertise', 'share', 'masked-input', 'consistency', 'unmask'] as const;
export type SecAggPhase = (typeof SECAGG_PHASES)[number];

/** Shamir over GF(2^8) gives at most 255 distinct x-coordinates. */
export const MAX_PARTIES = 255;
/** 2^24 elements: 64 MiB per vector in ring 64, far past one model update. */
export const MAX_DIMENSION = 2 ** 24;

export const SecAggConfig = z.strictObject({
  /** Binds everything: e.g. `${jobId}/${attempt}/${round}`. */
  session: z.string().regex(/^[\x21-\x7e]{1,200}$/, 'expected 1-200 printable ASCII characters without spaces'),
  /** Sorted, unique, 2-255 party ids. */
  parties: z.array(PartyId).min(2).max(MAX_PARTIES).readonly(),
  /** t: the shares needed to rebuild a secret, and the fewest parties a round may continue with. */
  threshold: z.int().min(2).max(MAX_PARTIES),
  /** k for SecAgg+ (even, 2 ≤ k < n), or null for the complete graph (SecAgg). */
  neighbours: z
    .int()
    .min(2)
    .max(MAX_PARTIES - 1)
    .nullable(),
  dimension: z.int().min(1).max(MAX_DIMENSION),
  ring: z.union([z.literal(32), z.literal(64)]),
});
export type SecAggConfig = z.infer<typeof SecAggConfig>;

/** How many parties hold shares of each party's secrets: k + 1, or n for the complete graph. */
export const holderCount = (config: Pick<SecAggConfig, 'parties' | 'neighbours'>): number =>
  config.neighbours === null ? config.parties.length : config.neighbours + 1;

const refuse = (message: string, detail: Record<string, unknown>) => new GatewayError('BAD_INPUT', message, detail);

/** `config` once it is well formed and safe; BAD_INPUT naming the rule it breaks otherwise. */
export function checkSecAggConfig(config: SecAggConfig): SecAggConfig {
  const parsed = SecAggConfig.safeParse(config);
  if (!parsed.success)
    throw refuse('secure-aggregation config is malformed', {
      fields: parsed.error.issues.map((issue) => issue.path.join('.')),
    });
  const c = parsed.data;
  const n = c.parties.length;
  for (let i = 1; i < n; i++)
    if ((c.parties[i - 1] as string) >= (c.parties[i] as string))
      throw refuse('secure-aggregation parties must be sorted and unique', { index: i });
  if (c.neighbours !== null && (c.neighbours % 2 !== 0 || c.neighbours >= n))
    throw refuse(`neighbours must be even and below the party count ${n}, not ${c.neighbours}`, {
      neighbours: c.neighbours,
      parties: n,
    });
  const holders = holderCount(c);
  if (c.threshold > holders)
    throw refuse(`threshold ${c.threshold} exceeds the ${holders} holders of each secret`, {
      threshold: c.threshold,
      holders,
    });
  if (2 * c.threshold <= holders)
    throw refuse(
      `threshold ${c.threshold} must exceed half the ${holders} holders (at least ${Math.floor(holders / 2) + 1}), ` +
        'so two disjoint groups cannot both rebuild a secret',
      { threshold: c.threshold, holders, minimum: Math.floor(holders / 2) + 1 },
    );
  return c;
}

export type Dropped = { party: string; phase: SecAggPhase };

/** SECAGG_TOO_FEW_PARTIES listing who dropped in which phase (docs/errors.md). */
export function tooFewParties(options: {
  remaining: number;
  threshold: number;
  dropped: readonly Dropped[];
  reason?: string;
}): GatewayError {
  const named = options.dropped.map((d) => `${d.party} (${d.phase})`).join(', ');
  return new GatewayError(
    'SECAGG_TOO_FEW_PARTIES',
    `${options.reason ?? `${options.remaining} parties remain, threshold ${options.threshold}`}; ` +
      `dropped: ${named === '' ? 'none' : named}`,
    { remaining: options.remaining, threshold: options.threshold, dropped: [...options.dropped] },
  );
}
