// Held-out scores reach the guest shuffled (docs/joint-modeling.md, "Evaluation"): exponential ElGamal on
// edwards25519, additively homomorphic and re-randomizable, one ciphertext per row.
//
// 1. The guest makes a key (sk, P = sk·G) for this evaluation and encrypts, for each held-out row i, the integer
//    v_i = 2·q(a_i) + y_i, where a_i is its own partial score and q(x) = round(x · 2^12), x clamped to ±16:
//    (R, C) = (r·G, v·G + r·P).
// 2. Each host adds its own 2·q(h_i) under the guest's key with fresh randomness, which also re-randomizes the pair:
//    (R + r'·G, C + 2·q(h_i)·G + r'·P). The last host shuffles the list with a permutation of its own; the hosts
//    before it keep the row order, and their lists reach the next host sealed (mpc/vfl/relay-seal.ts).
// 3. The guest decrypts M = C − sk·R = v·G and finds v in a baby-step giant-step table: it gets every held-out row's
//    full score q(z) = q(a) + Σ q(h) with its label, in an order it cannot link to its rows (DDH: a re-randomized
//    ciphertext looks fresh). That multiset is all AUC, KS, log-loss, RMSE and MAE need.
//
// Points from a peer are checked (on the curve) and multiplied by the cofactor before lookup, so a point with a
// small-order component cannot move a result.
import { randomBytes, randomInt } from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519.js';
import { GatewayError } from '../../core/errors.ts';

const Point = ed25519.Point;
type EdPoint = InstanceType<typeof Point>;
const ORDER = Point.Fn.ORDER;

export const SCORE_RESOLUTION_BITS = 12;
export const SCORE_CLAMP = 16;
/** Largest |v| the table finds: four parties' clamped scores, doubled, plus the label bit. */
const V_BOUND = 2 ** 20;
const BABY_BITS = 16;

export const quantizeScore = (x: number): number =>
  Math.round(Math.max(-SCORE_CLAMP, Math.min(SCORE_CLAMP, x)) * 2 ** SCORE_RESOLUTION_BITS);

function randomScalar(): bigint {
  for (;;) {
    const s = BigInt(`0x${randomBytes(40).toString('hex')}`) % ORDER;
    if (s !== 0n) return s;
  }
}

const timesInt = (point: EdPoint, n: number): EdPoint => {
  if (n === 0) return Point.ZERO;
  const p = point.multiply(BigInt(Math.abs(n)));
  return n < 0 ? p.negate() : p;
};

export type ShuffleKey = { secret: bigint; publicKey: Uint8Array };

export function shuffleKey(): ShuffleKey {
  const secret = randomScalar();
  return { secret, publicKey: Point.BASE.multiply(secret).toBytes() };
}

const bad = (reason: string) => new GatewayError('JOB_BAD_MESSAGE', `score ciphertexts refused: ${reason}`, { reason });

function readPoint(bytes: Uint8Array, at: number): EdPoint {
  try {
    return Point.fromBytes(bytes.subarray(at, at + 32));
  } catch {
    throw bad('a point is not on the curve');
  }
}

/** Pairs (R, C) as 64 bytes each. */
function readPairs(bytes: Uint8Array, count: number): [EdPoint, EdPoint][] {
  if (bytes.length !== count * 64) throw bad('wrong number of score ciphertexts');
  return Array.from({ length: count }, (_, i) => [readPoint(bytes, i * 64), readPoint(bytes, i * 64 + 32)]);
}

function writePairs(pairs: readonly [EdPoint, EdPoint][]): Uint8Array {
  const out = new Uint8Array(pairs.length * 64);
  pairs.forEach(([r, c], i) => {
    out.set(r.toBytes(), i * 64);
    out.set(c.toBytes(), i * 64 + 32);
  });
  return out;
}

/** Step 1, at the guest. */
export function encryptScores(key: ShuffleKey, partial: ArrayLike<number>, labels: ArrayLike<number>): Uint8Array {
  const pub = Point.fromBytes(key.publicKey);
  pub.precompute(8);
  const pairs: [EdPoint, EdPoint][] = [];
  for (let i = 0; i < partial.length; i++) {
    const r = randomScalar();
    const v = 2 * quantizeScore(partial[i] as number) + ((labels[i] as number) === 1 ? 1 : 0);
    pairs.push([Point.BASE.multiply(r), timesInt(Point.BASE, v).add(pub.multiply(r))]);
  }
  return writePairs(pairs);
}

/**
 * Step 2, at a host: adds its partial scores (in the rows' order), re-randomizing every pair, and shuffles the list
 * when `shuffle` (the last host of the chain: the ones before it must keep the row order for the next to add to).
 */
export function addAndShuffle(
  publicKey: Uint8Array,
  scores: Uint8Array,
  partial: ArrayLike<number>,
  shuffle = true,
): Uint8Array {
  let pub: EdPoint;
  try {
    pub = Point.fromBytes(publicKey);
  } catch {
    throw bad('the public key is not on the curve');
  }
  pub.precompute(8);
  const pairs = readPairs(scores, partial.length).map(([r, c], i): [EdPoint, EdPoint] => {
    const fresh = randomScalar();
    return [
      r.add(Point.BASE.multiply(fresh)),
      c.add(timesInt(Point.BASE, 2 * quantizeScore(partial[i] as number))).add(pub.multiply(fresh)),
    ];
  });
  const out = writePairs(pairs);
  return shuffle ? shufflePairs(out) : out;
}

/** A uniformly random permutation of 64-byte pairs (Fisher–Yates, crypto.randomInt), in a new array. */
export function shufflePairs(bytes: Uint8Array): Uint8Array {
  if (bytes.length % 64 !== 0) throw bad('score ciphertexts are not whole pairs');
  const count = bytes.length / 64;
  const order = Array.from({ length: count }, (_, i) => i);
  for (let i = count - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [order[i], order[j]] = [order[j] as number, order[i] as number];
  }
  const out = new Uint8Array(bytes.length);
  order.forEach((from, to) => out.set(bytes.subarray(from * 64, from * 64 + 64), to * 64));
  return out;
}

let table: { baby: Map<bigint, number>; giant: EdPoint } | null = null;

/** j·(8G) for j < 2^16, keyed by affine x: built once per process (about two seconds here). */
function lookupTable() {
  if (table !== null) return table;
  const step = Point.BASE.multiply(8n);
  const baby = new Map<bigint, number>();
  let point = Point.ZERO;
  for (let j = 0; j < 2 ** BABY_BITS; j++) {
    baby.set(point.toAffine().x, j);
    point = point.add(step);
  }
  table = { baby, giant: point };
  return table;
}

/** Step 3, at the guest: the scores (at resolution 2^-12) with their labels, in the hosts' shuffled order. */
export function decryptScores(key: ShuffleKey, scores: Uint8Array, count: number): { score: number; label: number }[] {
  const { baby, giant } = lookupTable();
  const offset = timesInt(Point.BASE.multiply(8n), V_BOUND);
  return readPairs(scores, count).map(([r, c]) => {
    // 8·(v·G) + 8·V_BOUND·G: v + V_BOUND is in [0, 2^21), found in at most 2^21 / 2^16 = 32 giant steps.
    let m = c.subtract(r.multiply(key.secret)).multiply(8n).add(offset);
    for (let k = 0; k <= (2 * V_BOUND) >> BABY_BITS; k++) {
      const j = baby.get(m.toAffine().x);
      if (j !== undefined) {
        const v = k * 2 ** BABY_BITS + j - V_BOUND;
        const label = ((v % 2) + 2) % 2;
        return { score: (v - label) / 2 / 2 ** SCORE_RESOLUTION_BITS, label };
      }
      m = m.subtract(giant);
    }
    throw bad('a score is out of range');
  });
}
