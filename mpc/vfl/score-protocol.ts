// Joint scoring with a trained vertical model (protocol `vfl-score`, docs/joint-modeling.md, "Scoring"): new
// customers, aligned by a PSI job and checked against consent again, are scored by every party's own part of the
// model, and only the guest, the party that asked and that holds the model's intercept, receives the scores.
//
// The guest sends its partial scores encrypted under a fresh ElGamal key (mpc/he/elgamal-shuffle.ts); each host adds
// its own in row order (legs between hosts sealed end to end); the guest decrypts one full score per customer. It
// learns, per customer, the sum of the hosts' partial scores (that is what a score is once its own part is known),
// never one host's. Hosts learn nothing: ciphertexts under the guest's key.
import { z } from 'zod';
import { GatewayError } from '../../core/errors.ts';
import type { SharedHePool } from '../he/shared-he-pool.ts';
import { shuffleKey } from '../he/elgamal-shuffle.ts';
import { partyFor } from '../jobs/consent-filter.ts';
import { createMailbox } from '../jobs/framed-messages.ts';
import { guestOf, JobId, type JobRequestLike } from '../jobs/job.ts';
import type { JobProtocol, ProtocolStep, StepContext } from '../jobs/protocol.ts';
import { readAlignedRows } from '../joint/aligned-rows.ts';
import { acceptsAlignment, agreeOnRows, keptValues } from '../joint/alignment-exchange.ts';
import { jointPeerRefusal } from '../joint/joint-refusal.ts';
import { partialScores, sigmoid } from './linear-model.ts';
import type { ModelStore } from './model-store.ts';
import { checkedRelayKey, relayKey, relayKeyPair, signedRelayKey } from './relay-seal.ts';
import { applyScaler } from './standardize.ts';
import { acceptsVfl, createVflTransport } from './vfl-transport.ts';

/** Scores per job: they are stored as the guest's result document (at most 4 MiB). */
export const MAX_SCORED = 50_000;

export const ScoreParams = z.strictObject({
  /** A PSI job in intersection mode over the customers to score, whose output reached every party. */
  psiJob: JobId,
  /** The vertical model job whose parts score: every party must hold its part of it. */
  trainingJob: JobId,
});

function checkScoreJob(job: JobRequestLike, ctx: z.RefinementCtx): void {
  const guest = job.parties.find((p) => p.role === 'guest');
  if (job.receivers.length !== 1 || job.receivers[0] !== guest?.id)
    ctx.addIssue({
      code: 'custom',
      path: ['receivers'],
      message: 'only the guest, the party that asks, receives scores',
    });
}

export function createScoreProtocol(options: { pool: SharedHePool; models: ModelStore }): JobProtocol {
  const scoreStep = (context: StepContext): ProtocolStep => {
    const params = ScoreParams.parse(context.spec.params);
    const mailbox = createMailbox(context, {
      accepts: (kind, sender) => acceptsAlignment(context, kind, sender) || acceptsVfl(context, kind, sender),
      maxMessageBytes: 64 * 1024 * 1024,
      maxSeq: 64,
    });
    const transport = createVflTransport(context, mailbox, 'score.vfl-score');
    let scored = 0;
    return {
      get hasFailed() {
        return mailbox.hasFailed;
      },
      deliver: (sender, frame) => mailbox.deliver(sender, frame),
      progress: () => ({ rows: scored, total: null, bytesIn: mailbox.bytesIn, bytesOut: transport.bytesOut }),
      async run() {
        const { spec, self } = context;
        const guest = guestOf(spec).id;
        const hosts = spec.parties.map((p) => p.id).filter((id) => id !== guest);
        const party = partyFor(spec, self);
        const part = await options.models.byTrainingJob(params.trainingJob);
        if (part === undefined || part.role !== party.role)
          throw new GatewayError(
            'NOT_FOUND',
            `this gateway holds no ${party.role} part of the model ${params.trainingJob}`,
            {
              trainingJob: params.trainingJob,
            },
          );
        if (part.features.length !== party.columns.length || part.features.some((f, i) => f !== party.columns[i]))
          throw new GatewayError('BAD_INPUT', `party ${self} must declare its model's features, in order`, {
            features: part.features.join(','),
          });

        const local = await readAlignedRows(context, params.psiJob, part.features);
        const agreed = await agreeOnRows(context, mailbox, local, 'score.vfl-score');
        const rows = agreed.kept.length;
        if (rows > MAX_SCORED)
          throw new GatewayError('BAD_INPUT', `a scoring job scores at most ${MAX_SCORED} customers`);
        const raw = part.features.map((name) =>
          Float64Array.from(keptValues(local.values.get(name) ?? [], agreed.kept), (v) =>
            typeof v === 'number' ? v : Number.NaN,
          ),
        );
        const { columns } = applyScaler(part.scaler, raw);
        const every = Array.from({ length: rows }, (_, i) => i);
        const partial = partialScores(columns, part.weights, every).map((u) => u + (part.intercept ?? 0));

        // Hosts seal what they pass each other through the guest.
        const pair = relayKeyPair();
        const others = spec.parties.map((p) => p.id).filter((id) => id !== self);
        const relays: Promise<void>[] = [];
        if (self === guest)
          for (const from of hosts)
            for (const to of hosts)
              if (from !== to)
                relays.push(
                  transport.relay(from, to, 'key', 0).catch((error: unknown) => transport.abort(error)),
                  transport.relay(from, to, 'scores', 0).catch((error: unknown) => transport.abort(error)),
                );
        const signed = signedRelayKey(context.attestation, spec.id, self, pair);
        await Promise.all(others.map((q) => transport.send(q, 'key', 0, { blobs: signed })));
        const sealing = new Map<string, Buffer>();
        for (const p of others) {
          const { blobs } = await transport.take(p, 'key', 0);
          if (self !== guest && p !== guest)
            sealing.set(
              p,
              relayKey(pair, checkedRelayKey(context.attestation, spec.id, p, blobs), { job: spec.id, a: self, b: p }),
            );
        }
        transport.setRelayKeys(sealing);

        const pool = options.pool.get();
        const common = { rows, rowsTotal: rows, bytesIn: 0, bytesOut: 0 };
        if (self !== guest) {
          const at = hosts.indexOf(self);
          const message = await transport.take(at === 0 ? guest : (hosts[at - 1] as string), 'scores', 0);
          const [publicKey, scores] = message.blobs;
          if (publicKey === undefined || scores === undefined)
            throw new GatewayError('JOB_BAD_MESSAGE', 'score ciphertexts refused: malformed', { reason: 'malformed' });
          const added = await pool.addAndShuffle(publicKey, scores, Float64Array.from(partial), false);
          const next = at === hosts.length - 1 ? guest : (hosts[at + 1] as string);
          await transport.send(next, 'scores', 0, { blobs: [publicKey, added] });
          scored = rows;
          return {
            ...common,
            bytesIn: mailbox.bytesIn,
            bytesOut: transport.bytesOut,
            detail: { kept: rows, withdrawn: local.withdrawn, missing: local.missing },
            output: { mode: 'scores', isReceiver: false, count: null, peerSizes: {} },
          };
        }
        const key = shuffleKey();
        const encrypted = await pool.encryptScores(key, Float64Array.from(partial), new Float64Array(rows));
        await transport.send(hosts[0] as string, 'scores', 0, { blobs: [key.publicKey, encrypted] });
        const back = await transport.take(hosts[hosts.length - 1] as string, 'scores', 0);
        await Promise.all(relays);
        const totals = await pool.decryptScores(key, back.blobs[1] ?? new Uint8Array(0), rows);
        const pseudonyms: string[] = [];
        for (let from = 0; from < local.rows; from += 10_000)
          pseudonyms.push(...(await context.store.readOutput(params.psiJob, from, 10_000)));
        const subjects = keptValues(pseudonyms, agreed.kept);
        const scores = totals.map(({ score }, i) => {
          const value =
            part.task === 'logistic'
              ? { score, probability: sigmoid(score) }
              : { score: score * (part.labelScaler?.scale ?? 1) + (part.labelScaler?.mean ?? 0) };
          return { subject: subjects[i] as string, ...value };
        });
        await context.store.saveResult(spec.id, {
          model: { name: part.name, version: part.version, trainingJob: params.trainingJob },
          task: part.task,
          scored: rows,
          scores,
        });
        scored = rows;
        return {
          ...common,
          bytesIn: mailbox.bytesIn,
          bytesOut: transport.bytesOut,
          detail: {
            kept: rows,
            withdrawn: local.withdrawn,
            missing: local.missing,
            droppedElsewhere: agreed.droppedElsewhere,
          },
          output: { mode: 'scores', isReceiver: true, count: rows, peerSizes: {} },
        };
      },
    };
  };

  return {
    name: 'vfl-score',
    params: ScoreParams,
    steps: ['score'],
    check: checkScoreJob,
    reads: (_spec, party) => ({ view: party.view, idColumn: party.idColumn, columns: party.columns }),
    startStep: scoreStep,
    hasOutputRows: () => false,
    auditDetail: (spec) => {
      const params = ScoreParams.parse(spec.params);
      return { psiJob: params.psiJob, trainingJob: params.trainingJob };
    },
    peerRefusal: jointPeerRefusal,
    close: () => options.pool.close(),
  };
}
