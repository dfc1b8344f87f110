// Joint statistics as a job protocol (docs/joint-modeling.md): one step, `compute`. The guest is the requester: it
// holds the segment (and label) column and alone receives the result. Every host holds numeric columns it describes
// without seeing the segments, and the guest learns only aggregates per group and bin of at least k customers.
import { createMailbox } from '../jobs/framed-messages.ts';
import { guestOf } from '../jobs/job.ts';
import type { JobProtocol, ProtocolStep, StepContext } from '../jobs/protocol.ts';
import { presetFor } from '../he/he-presets.ts';
import type { SharedHePool } from '../he/shared-he-pool.ts';
import { acceptsAlignment } from '../joint/alignment-exchange.ts';
import { jointPeerRefusal } from '../joint/joint-refusal.ts';
import type { PrivacyBudget } from './privacy-budget.ts';
import { STATS_KINDS } from './stats-messages.ts';
import { JointStatsParams, checkJointStatsJob } from './stats-params.ts';
import { runStatsGuest } from './stats-guest.ts';
import { runStatsHost } from './stats-host.ts';

/** Masked products only: one plaintext multiplication per ciphertext. */
const DEPTH = 1;
const MAX_MESSAGE_BYTES = 1024 * 1024 * 1024;

export function createJointStatsProtocol(options: { pool: SharedHePool; budget: PrivacyBudget | null }): JobProtocol {
  const computeStep = (context: StepContext): ProtocolStep => {
    const params = JointStatsParams.parse(context.spec.params);
    const guest = guestOf(context.spec).id;
    const mailbox = createMailbox(context, {
      accepts: (kind, sender) =>
        acceptsAlignment(context, kind, sender) ||
        (kind === STATS_KINDS.request && sender === guest && context.self !== guest) ||
        (kind === STATS_KINDS.reply && context.self === guest && sender !== guest),
      maxMessageBytes: MAX_MESSAGE_BYTES,
      // One reply per host, taken as it completes: no more than one message is ever held.
      maxBufferedBytes: MAX_MESSAGE_BYTES,
      maxSeq: 0,
    });
    const progress = { rows: 0, bytesOut: 0 };
    return {
      get hasFailed() {
        return mailbox.hasFailed;
      },
      deliver: (sender, frame) => mailbox.deliver(sender, frame),
      progress: () => ({ rows: progress.rows, total: null, bytesIn: mailbox.bytesIn, bytesOut: progress.bytesOut }),
      async run() {
        presetFor(params.preset, DEPTH);
        const pool = options.pool.get();
        const run = { context, mailbox, params, pool, budget: options.budget, progress };
        return context.self === guest ? runStatsGuest(run) : runStatsHost(run);
      },
    };
  };

  return {
    name: 'joint-stats',
    params: JointStatsParams,
    steps: ['compute'],
    check: checkJointStatsJob,
    reads(spec, party) {
      const params = JointStatsParams.parse(spec.params);
      const columns =
        party.role === 'guest'
          ? [params.segment, params.label].filter((c): c is string => c !== undefined)
          : party.columns;
      return { view: party.view, idColumn: party.idColumn, columns };
    },
    startStep: computeStep,
    hasOutputRows: () => false,
    auditDetail(spec) {
      const params = JointStatsParams.parse(spec.params);
      return {
        psiJob: params.psiJob,
        preset: params.preset,
        bins: params.bins,
        segmented: params.segment !== undefined,
        labelled: params.label !== undefined,
        epsilon: params.epsilon ?? null,
      };
    },
    peerRefusal: jointPeerRefusal,
    close: () => options.pool.close(),
  };
}
