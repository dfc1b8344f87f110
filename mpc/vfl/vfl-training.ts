// The training rounds of a vertical model (docs/joint-modeling.md, "Training"). Every party runs the same loop on the
// same batches. In each round, party p holds its partial scores u_p = X_p w_p over the batch; its share of the
// residual is r_p = slope · u_p (the guest adds offset − y), so that d = Σ_p r_p. Party q's gradient is
// X_q^T d = X_q^T r_q + Σ_{p≠q} X_q^T r_p: the first term is local, each other term comes from one exchange:
//   1. p encrypts r_p / 4 under its own key and sends it to q;
//   2. q multiplies it by its columns, masks each sum with a random total ρ it keeps, and sends the products back;
//   3. p decrypts the masked sums (it learns X_q^T r_p / 4 + ρ: noise to it) and returns them;
//   4. q removes ρ: it now holds X_q^T r_p, a sum over the batch for each of its own columns, and nothing per row.
// Every party sends and answers all at once, so a round is three message hops whatever the number of parties.
import { webcrypto } from 'node:crypto';
import { GatewayError } from '../../core/errors.ts';
import { VECTOR_BOUND, type HeKeys } from '../he/he-engine.ts';
import type { HePool } from '../he/he-pool.ts';
import { HE_PRESETS } from '../he/he-presets.ts';
import { productCount, slotLayout } from '../he/slot-layout.ts';
import { MASK_BOUND, tileMasks } from '../he/tile-masks.ts';
import type { StepContext } from '../jobs/protocol.ts';
import { guestOf } from '../jobs/job.ts';
import { RESIDUAL, columnSums, gradientStep, hasConverged, partialScores, type Task } from './linear-model.ts';
import { checkedRelayKey, relayKey, relayKeyPair, signedRelayKey } from './relay-seal.ts';
import { epochBatches } from './training-plan.ts';
import { columnCounts, type PartyData } from './vfl-data.ts';
import type { VflParams } from './vfl-params.ts';
import type { VflTransport } from './vfl-transport.ts';

/** Shares are sent divided by 4, so |r| up to 16 fits the HE layer's bound of 4 per slot. */
const SHARE_SCALE = 4;

export type TrainingRun = {
  context: StepContext;
  transport: VflTransport;
  pool: HePool;
  params: VflParams;
  task: Task;
  data: PartyData;
  progress: { rounds: number; totalRounds: number };
};

export type Trained = {
  weights: number[];
  epochs: number;
  rounds: number;
  clippedShares: number;
  /** Time spent in CKKS operations (workers), of the whole loop, in milliseconds. */
  heMs: number;
  trainMs: number;
};

const bad = (reason: string) => new GatewayError('JOB_BAD_MESSAGE', `protocol message refused: ${reason}`, { reason });

export const floats = (values: ArrayLike<number>): Uint8Array => {
  const out = new Float64Array(values.length);
  out.set(values as ArrayLike<number>);
  return new Uint8Array(out.buffer);
};

export function readFloats(bytes: Uint8Array | undefined, count: number, what: string): Float64Array {
  if (bytes === undefined || bytes.length !== count * 8) throw bad(`${what} has the wrong length`);
  const copy = Uint8Array.from(bytes);
  const values = new Float64Array(copy.buffer);
  if (!values.every(Number.isFinite)) throw bad(`${what} holds a number that is not finite`);
  return values;
}

/** Uniform in ±2^30: the totals that hide each sum from the key holder. */
function randomTotals(count: number): number[] {
  const words = webcrypto.getRandomValues(new Uint32Array(count));
  return Array.from(words, (w) => (w / 2 ** 32 - 0.5) * MASK_BOUND);
}

export async function trainRounds(run: TrainingRun): Promise<Trained> {
  const { context, transport, pool, params, task, data, progress } = run;
  const { spec, self } = context;
  const guest = guestOf(spec).id;
  const others = spec.parties.map((p) => p.id).filter((id) => id !== self);
  const hosts = spec.parties.map((p) => p.id).filter((id) => id !== guest);
  const counts = columnCounts(context, params);
  const own = counts.get(self) as number;
  const weights = new Array<number>(own).fill(0);
  const { slope, offset } = RESIDUAL[task];
  const preset = params.preset;
  const started = Date.now();
  let heMs = 0;
  const timed = async <T>(work: Promise<T>): Promise<T> => {
    const t = Date.now();
    try {
      return await work;
    } finally {
      heMs += Date.now() - t;
    }
  };

  // Keys for this attempt: made here, the public half sent to every other party, the secret half never leaves.
  const keys: HeKeys = await timed(pool.generateKeys(preset));
  // At the guest, forwarding between hosts runs beside its own work; a forward that fails fails the attempt at once.
  const relays: Promise<void>[] = [];
  const relayAll = (kind: 'key' | 'vector' | 'products' | 'sums', round: number) => {
    if (self !== guest) return;
    for (const from of hosts)
      for (const to of hosts)
        if (from !== to)
          relays.push(transport.relay(from, to, kind, round).catch((error: unknown) => transport.abort(error)));
  };
  // With the CKKS key, each host publishes an X25519 key: hosts seal what they send each other through the guest.
  const relayPair = relayKeyPair();
  relayAll('key', 0);
  const relayBlobs = signedRelayKey(context.attestation, spec.id, self, relayPair);
  await Promise.all(others.map((q) => transport.send(q, 'key', 0, { blobs: [keys.publicKey, ...relayBlobs] })));
  const peerKeys = new Map<string, Uint8Array>();
  const sealing = new Map<string, Buffer>();
  for (const p of others) {
    const [heKey, ...relayed] = (await transport.take(p, 'key', 0)).blobs;
    peerKeys.set(p, heKey ?? new Uint8Array(0));
    if (self !== guest && p !== guest) {
      const relayPublic = checkedRelayKey(context.attestation, spec.id, p, relayed);
      sealing.set(p, relayKey(relayPair, relayPublic, { job: spec.id, a: self, b: p }));
    }
  }
  transport.setRelayKeys(sealing);

  let round = 0;
  let epochs = 0;
  let clippedShares = 0;
  for (let epoch = 0; epoch < params.epochs; epoch++) {
    let change = 0;
    for (const rows of epochBatches(data.train, params.batchSize, { seed: params.seed, epoch })) {
      context.signal.throwIfAborted();
      for (const kind of ['vector', 'products', 'sums'] as const) relayAll(kind, round);
      const layout = slotLayout(rows.length, HE_PRESETS[preset].slots);
      const u = partialScores(data.columns, weights, rows);
      const share = u.map(
        (ui, i) => slope * ui + (data.label === null ? 0 : offset - (data.label[rows[i] as number] as number)),
      );
      const sent = share.map((r) => {
        const v = r / SHARE_SCALE;
        if (Math.abs(v) <= VECTOR_BOUND) return v;
        clippedShares++;
        return Math.sign(v) * VECTOR_BOUND;
      });
      const [chunks] = await timed(pool.encryptVectors(preset, { keys, layout, vectors: [sent] }));
      await Promise.all(others.map((q) => transport.send(q, 'vector', round, { blobs: chunks as Uint8Array[] })));

      // 2. Products of every other party's share with this party's columns, each sum masked by a total kept here.
      const batchColumns = data.columns.map((c) => Float64Array.from(rows, (r) => c[r] as number));
      const masksOf = new Map<string, number[]>();
      await Promise.all(
        others.map(async (p) => {
          const vector = await transport.take(p, 'vector', round);
          const totals = randomTotals(own);
          masksOf.set(p, totals);
          const masks = Array.from({ length: productCount(layout, own) }, (_, g) =>
            tileMasks(layout, totals.slice(g * layout.tiles, (g + 1) * layout.tiles)),
          );
          const products = await timed(
            pool.maskedProducts(preset, {
              publicKey: peerKeys.get(p) as Uint8Array,
              layout,
              chunks: vector.blobs,
              columns: batchColumns,
              masks,
            }),
          );
          await transport.send(p, 'products', round, { blobs: products });
        }),
      );
      // 3. Decrypt the masked sums the others computed on this party's share, and hand them back.
      await Promise.all(
        others.map(async (q) => {
          const products = await transport.take(q, 'products', round);
          const sums = await timed(
            pool.decryptSums(preset, { keys, layout, products: products.blobs, columns: counts.get(q) as number }),
          );
          await transport.send(q, 'sums', round, { blobs: [floats(sums)] });
        }),
      );
      // 4. Unmask: the cross terms of this party's gradient.
      const gradient = columnSums(
        batchColumns,
        share,
        rows.map((_, i) => i),
      );
      for (const p of others) {
        const masked = readFloats((await transport.take(p, 'sums', round)).blobs[0], own, 'a masked sum');
        const totals = masksOf.get(p) as number[];
        masked.forEach((m, c) => {
          gradient[c] = (gradient[c] as number) + SHARE_SCALE * (m - (totals[c] as number));
        });
      }
      change += gradientStep(weights, gradient, {
        batch: rows.length,
        learningRate: params.learningRate,
        l2: params.l2,
        ...(data.isGuest ? { unregularized: own - 1 } : {}),
      });
      round++;
      progress.rounds = round;
    }
    epochs++;
    // Convergence: the hosts tell the guest how much their weights moved and how large they are (two numbers each);
    // the guest decides for everyone.
    const normSquared = weights.reduce((a, w) => a + w * w, 0);
    let stop: boolean;
    if (self === guest) {
      let totalChange = change;
      let totalNorm = normSquared;
      for (const h of hosts) {
        const [c, n] = readFloats((await transport.take(h, 'norms', epoch)).blobs[0], 2, 'a weight norm');
        totalChange += c as number;
        totalNorm += n as number;
      }
      stop = hasConverged(totalChange, totalNorm, params.tolerance) || epoch === params.epochs - 1;
      await Promise.all(hosts.map((h) => transport.send(h, 'decision', epoch, { meta: { stop }, blobs: [] })));
    } else {
      await transport.send(guest, 'norms', epoch, { blobs: [floats([change, normSquared])] });
      const decision = (await transport.take(guest, 'decision', epoch)).meta as { stop?: unknown } | null;
      if (typeof decision?.stop !== 'boolean') throw bad('a training decision is malformed');
      stop = decision.stop;
    }
    if (stop) break;
  }
  await Promise.all(relays);
  return { weights, epochs, rounds: round, clippedShares, heMs, trainMs: Date.now() - started };
}
