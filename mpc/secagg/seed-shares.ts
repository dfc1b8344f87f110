// Shamir shares of a party's two round secrets (Bonawitz et al., CCS 2017, §4 "SS"): its self-mask seed b and its
// mask key s_sk, over GF(2^8) through Privy's audited `shamir-secret-sharing` (a share is the secret's bytes plus one
// x-coordinate byte). That package never checks what it rebuilds, and a wrong or missing share silently yields a
// wrong secret; so every rebuilt secret is checked against what its owner published before any mask is removed:
// - b against the owner's commitment SHA-256(tag ‖ session ‖ party ‖ b), signed in its advertisement (b is 32
//   uniformly random bytes, so the hash hides it);
// - s_sk by recomputing X25519(s_sk, 9) and comparing it with the advertised s_pk.
// A secret that fails its check is SECAGG_BAD_SHARE naming its owner, and the round releases no sum.
//
// The package draws the polynomial's coefficients and x-coordinates from its own CSPRNG; they cannot be injected, so
// shares differ from run to run even when every other random byte of a round is seeded. The sum does not.
import { createHash, timingSafeEqual } from 'node:crypto';
import { combine, split } from 'shamir-secret-sharing';
import { GatewayError } from '../../core/errors.ts';
import { KEY_BYTES, publicKeyOf } from './key-agreement.ts';

export const SECRET_BYTES = 32;
/** A share of a 32-byte secret: 32 bytes of y plus the x-coordinate byte. */
export const SHARE_BYTES = SECRET_BYTES + 1;

const COMMITMENT_TAG = 'sealgate/secagg/v1/self-seed-commitment';

/** The commitment to a self-mask seed that its owner signs in its advertisement. */
export function commitSeed(options: { session: string; party: string; seed: Uint8Array }): Uint8Array {
  return Uint8Array.from(
    createHash('sha256')
      .update(`${COMMITMENT_TAG}\u0000${options.session}\u0000${options.party}\u0000`)
      .update(options.seed)
      .digest(),
  );
}

/** Shares of `secret` for `holders` in order (share i to holder i); any `threshold` of them rebuild it. */
export async function splitSecret(
  secret: Uint8Array,
  options: { holders: readonly string[]; threshold: number },
): Promise<Map<string, Uint8Array>> {
  if (secret.length !== SECRET_BYTES) throw new RangeError(`a shared secret is 32 bytes, not ${secret.length}`);
  const shares = await split(Uint8Array.from(secret), options.holders.length, options.threshold);
  return new Map(options.holders.map((holder, i) => [holder, shares[i] as Uint8Array]));
}

const badShare = (owner: string, reason: string) =>
  new GatewayError('SECAGG_BAD_SHARE', `the secret of ${owner} does not reconstruct: ${reason}`, {
    party: owner,
    reason,
  });

/**
 * The secret `shares` interpolate. SECAGG_BAD_SHARE naming `owner` for a malformed share or a repeated
 * x-coordinate; SECAGG_TOO_FEW_PARTIES with fewer than `threshold` shares (callers check first, with a fuller detail).
 */
export async function combineShares(
  shares: readonly Uint8Array[],
  options: { owner: string; threshold: number },
): Promise<Uint8Array> {
  if (shares.length < options.threshold)
    throw new GatewayError(
      'SECAGG_TOO_FEW_PARTIES',
      `the secret of ${options.owner} has ${shares.length} shares; ${options.threshold} rebuild it`,
      { party: options.owner, shares: shares.length, threshold: options.threshold },
    );
  const xs = new Set<number>();
  for (const share of shares) {
    if (share.length !== SHARE_BYTES) throw badShare(options.owner, `a share has ${share.length} bytes, not 33`);
    const x = share[SECRET_BYTES] as number;
    // x = 0 is the secret itself; a repeat would make the interpolation singular.
    if (x === 0) throw badShare(options.owner, 'a share has x-coordinate 0');
    if (xs.has(x)) throw badShare(options.owner, 'two shares have the same x-coordinate');
    xs.add(x);
  }
  return combine(shares.map((share) => Uint8Array.from(share)));
}

/** b rebuilt from `shares` and checked against the owner's `commitment`; SECAGG_BAD_SHARE when it differs. */
export async function rebuildSeed(options: {
  shares: readonly Uint8Array[];
  threshold: number;
  session: string;
  owner: string;
  commitment: Uint8Array;
}): Promise<Uint8Array> {
  const seed = await combineShares(options.shares, options);
  const commitment = commitSeed({ session: options.session, party: options.owner, seed });
  if (options.commitment.length !== commitment.length || !timingSafeEqual(commitment, options.commitment))
    throw badShare(options.owner, 'the rebuilt self-mask seed does not match its commitment');
  return seed;
}

/** s_sk rebuilt from `shares` and checked against the advertised `publicKey`; SECAGG_BAD_SHARE when it differs. */
export async function rebuildMaskKey(options: {
  shares: readonly Uint8Array[];
  threshold: number;
  owner: string;
  publicKey: Uint8Array;
}): Promise<Uint8Array> {
  const privateKey = await combineShares(options.shares, options);
  const publicKey = publicKeyOf(privateKey);
  if (options.publicKey.length !== KEY_BYTES || !timingSafeEqual(publicKey, options.publicKey))
    throw badShare(options.owner, 'the rebuilt mask key does not match the advertised public key');
  return privateKey;
}
