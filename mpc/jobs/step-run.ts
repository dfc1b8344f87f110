// One party's work in one attempt at one PSI job step (docs/jobs.md): the consent filter, or the blinded exchange
// with its output. Both the coordinator and the participants run steps through here, so every party measures rows,
// bytes and time the same way for the timeline.
import type { JobSpec, JobStepName } from './job.ts';
import { createPsiExchange, type PsiExchange } from '../psi/psi-job.ts';
import { PSI_PROTOCOL_VERSION } from '../psi/psi-message.ts';
import type { X25519Pool } from '../psi/x25519-pool.ts';
import { GatewayError } from '../../core/errors.ts';
import { exchangeInput, filterInputs, type JobInputDeps } from './job-input.ts';
import { messagePath, type JobPeer } from './job-peer.ts';
import type { JobOutputSummary, TimelineEntry } from './store.ts';

export type StepProgress = { rows: number; total: number | null; bytesIn: number; bytesOut: number };

export type StepRun = {
  readonly step: JobStepName;
  readonly attempt: number;
  readonly startedAt: string;
  /** Live counters, for GET /v1/jobs/{id} while the step runs. */
  progress(): StepProgress;
  /** The exchange session messages are delivered to; null for the filter step. */
  readonly exchange: PsiExchange | null;
  /** Runs the step; resolves with this party's timeline entry and, for the exchange, what it learned. */
  run(): Promise<{ entry: TimelineEntry; output: JobOutputSummary | null }>;
};

export type StepDeps = JobInputDeps & {
  self: string;
  peer: JobPeer;
  pool: () => X25519Pool;
  bucketRecords?: number;
  /** Absolute deadline of this attempt (ms since the epoch): every message is due by then. */
  deadlineAt: number;
  traceparent: string;
};

/** `peerRows`: the peers' admitted rows when known (the coordinator has them from the filter reports). */
export function createStepRun(deps: StepDeps, spec: JobSpec, step: JobStepName, attempt: number, signal: AbortSignal, peerRows?: number): StepRun {
  const startedAt = deps.now().toISOString();
  const self = deps.self;
  const entry = (rows: number, total: number | null, bytes: { bytesIn: number; bytesOut: number }, detail: TimelineEntry['detail']): TimelineEntry => {
    const endedAt = deps.now().toISOString();
    return {
      step, party: self, attempt, status: 'completed', startedAt, endedAt, durationMs: Date.parse(endedAt) - Date.parse(startedAt),
      ...bytes, rows, rowsTotal: total, errorCode: null, detail,
    };
  };

  if (step === 'filter') {
    let rowsRead = 0;
    let total: number | null = null;
    return {
      step, attempt, startedAt, exchange: null,
      progress: () => ({ rows: rowsRead, total, bytesIn: 0, bytesOut: 0 }),
      async run() {
        const party = spec.parties.find((p) => p.id === self);
        if (party !== undefined) total = (await deps.connectors.views.get(party.view)).rows;
        const counts = await filterInputs(deps, spec, self, signal, (n) => { rowsRead = n; });
        return { entry: entry(counts.rowsRead, total, { bytesIn: 0, bytesOut: 0 }, { rowsRead: counts.rowsRead, admitted: counts.admitted, withoutKey: counts.withoutKey }), output: null };
      },
    };
  }

  const exchange = createPsiExchange({
    spec, self, pool: deps.pool(), signal,
    ...(deps.bucketRecords === undefined ? {} : { bucketRecords: deps.bucketRecords }),
    // The audit step names the PSI protocol version and message step: `exchange.psi-v1.initiator-blinded`.
    send: async (peer, frame, header) => {
      const answer = await deps.peer.call(peer, messagePath(spec.id, attempt), frame, {
        jobId: spec.id, step: `exchange.psi-v${PSI_PROTOCOL_VERSION}.${header.step}`, traceparent: deps.traceparent, deadlineAt: deps.deadlineAt, isBlinded: true,
      });
      // The peer is not running this attempt (a newer one started, or it restarted): this attempt is over here too.
      if ((answer as { isStale?: unknown } | null)?.isStale === true) {
        throw new GatewayError('PEER_UNAVAILABLE', `party ${peer} is no longer running attempt ${attempt}`, { peer, reason: 'stale-attempt' });
      }
    },
  });
  let expected: number | null = null;
  return {
    step, attempt, startedAt, exchange,
    progress: () => {
      const s = exchange.stats;
      return { rows: s.rowsIn + s.recordsIn, total: expected, bytesIn: s.bytesIn, bytesOut: s.bytesOut };
    },
    async run() {
      const admitted = await deps.store.countInputs(spec.id);
      const isGuest = spec.coordinator === self;
      // Rows this party handles: its own, every peer set it re-blinds, and (guest) its own set back from each host.
      // The guest knows the hosts' admitted counts from their filter reports; a host assumes the guest's is like its own.
      const hosts = spec.parties.length - 1;
      expected = isGuest ? admitted * (1 + hosts) + (peerRows ?? admitted * hosts) : admitted + (peerRows ?? admitted);
      const input = exchangeInput(deps, spec, self, signal);
      const result = await exchange.run(input.ids);
      const isReceiver = spec.receivers.includes(self);
      let count = result.count;
      if (result.rows !== null) {
        const inputRows = input.inputRows();
        const aligned = new Uint32Array(result.rows.length);
        result.rows.forEach((row, k) => { aligned[k] = inputRows[row] as number; });
        count = await deps.store.storeIntersection(spec.id, aligned);
      }
      const s = exchange.stats;
      const output: JobOutputSummary = { mode: spec.params.mode, isReceiver, count: isReceiver ? count : null, peerSizes: result.peerSizes };
      const detail = { blinded: s.rowsIn, withdrawn: input.withdrawn, recordsIn: s.recordsIn, recordsOut: s.recordsOut };
      return { entry: entry(s.rowsIn + s.recordsIn, expected, { bytesIn: s.bytesIn, bytesOut: s.bytesOut }, detail), output };
    },
  };
}
