// ECDH-PSI as a job protocol (DESIGN.md §6, docs/psi.md, docs/jobs.md): two steps, the consent filter and the blinded
// exchange. The guest initiates with every host; a host responds to the guest alone. The output is the intersection,
// stored as this party's own pseudonyms in the order every receiver shares, or its cardinality only.
import { isErrorCode } from '../../core/errors.ts';
import { consentFilterStep } from '../jobs/consent-filter.ts';
import type { JobProtocol, ProtocolStep, StepContext } from '../jobs/protocol.ts';
import type { JobOutputSummary } from '../jobs/store.ts';
import { PsiProtocolError } from './psi-error.ts';
import { exchangeInput } from './psi-input.ts';
import { createPsiExchange } from './psi-job.ts';
import { PSI_PROTOCOL_VERSION } from './psi-message.ts';
import { PsiJobParams, checkPsiJob } from './psi-params.ts';
import { createX25519Pool, type X25519Pool } from './x25519-pool.ts';

export type PsiProtocolOptions = {
  /** X25519 worker threads, started at the first exchange; default os.availableParallelism(). */
  poolSize?: number;
  bucketRecords?: number;
};

export function createPsiProtocol(options: PsiProtocolOptions = {}): JobProtocol {
  let pool: X25519Pool | null = null;
  const poolOf = () => (pool ??= createX25519Pool(options.poolSize === undefined ? {} : { size: options.poolSize }));

  const exchangeStep = (context: StepContext): ProtocolStep => {
    const { spec, self, store } = context;
    const exchange = createPsiExchange({
      spec,
      self,
      pool: poolOf(),
      signal: context.signal,
      ...(options.bucketRecords === undefined ? {} : { bucketRecords: options.bucketRecords }),
      // The audit step names the PSI protocol version and message step: `exchange.psi-v1.initiator-blinded`.
      send: (peer, frame, header) =>
        context.send(peer, frame, {
          auditStep: `exchange.psi-v${PSI_PROTOCOL_VERSION}.${header.step}`,
          isBlinded: true,
        }),
    });
    let expected: number | null = null;
    return {
      get hasFailed() {
        return exchange.hasFailed;
      },
      deliver: (sender, frame) => exchange.deliver(sender, frame),
      progress: () => {
        const s = exchange.stats;
        return { rows: s.rowsIn + s.recordsIn, total: expected, bytesIn: s.bytesIn, bytesOut: s.bytesOut };
      },
      async run() {
        const admitted = await store.countInputs(spec.id);
        const isGuest = spec.coordinator === self;
        // Rows this party handles: its own, every peer set it re-blinds, and (guest) its own set back from each host.
        // The guest knows the hosts' admitted counts from their filter reports; a host assumes the guest's is like its
        // own.
        const reports = await context.hostReports('filter');
        const peerRows =
          reports.length === 0
            ? undefined
            : reports.reduce((n, e) => n + (typeof e.detail.admitted === 'number' ? e.detail.admitted : 0), 0);
        const hosts = spec.parties.length - 1;
        expected = isGuest
          ? admitted * (1 + hosts) + (peerRows ?? admitted * hosts)
          : admitted + (peerRows ?? admitted);
        const input = exchangeInput(context, spec, self, context.signal);
        const result = await exchange.run(input.ids);
        const isReceiver = spec.receivers.includes(self);
        let count = result.count;
        if (result.rows !== null) {
          const inputRows = input.inputRows();
          const aligned = new Uint32Array(result.rows.length);
          result.rows.forEach((row, k) => {
            aligned[k] = inputRows[row] as number;
          });
          count = await store.storeIntersection(spec.id, aligned);
        }
        const s = exchange.stats;
        const { mode } = PsiJobParams.parse(spec.params);
        const output: JobOutputSummary = {
          mode,
          isReceiver,
          count: isReceiver ? count : null,
          peerSizes: result.peerSizes,
        };
        const detail = {
          blinded: s.rowsIn,
          withdrawn: input.withdrawn,
          recordsIn: s.recordsIn,
          recordsOut: s.recordsOut,
        };
        return {
          rows: s.rowsIn + s.recordsIn,
          rowsTotal: expected,
          bytesIn: s.bytesIn,
          bytesOut: s.bytesOut,
          detail,
          output,
        };
      },
    };
  };

  return {
    name: 'psi',
    params: PsiJobParams,
    steps: ['filter', 'exchange'],
    check: checkPsiJob,
    // The identifier column is aligned on; the declared columns are what a later joint step may read.
    reads: (_spec, party) => ({ view: party.view, idColumn: party.idColumn, columns: party.columns }),
    startStep: (context) => (context.step === 'filter' ? consentFilterStep(context) : exchangeStep(context)),
    hasOutputRows: (output) => output.mode === 'intersection',
    auditDetail: (spec) => ({ mode: PsiJobParams.parse(spec.params).mode }),
    /**
     * A refusal the peer explained with a PSI code (a frame it found malformed) becomes that PSI error here, so both
     * ends of the exchange fail with the same stable code and the same record: the peer caught it (`party`) and this
     * gateway, the sender, is blamed (`peer`). Whichever of the two failure notices reaches the others first, they
     * then tell one story.
     */
    peerRefusal(code, peer, self, cause) {
      if (!code.startsWith('PSI_') || !isErrorCode(code)) return null;
      const detail = { party: peer, peer: self, protocolVersion: PSI_PROTOCOL_VERSION };
      return new PsiProtocolError(
        code as PsiProtocolError['code'],
        `party ${peer} rejected a PSI message from ${self}`,
        detail,
        { cause },
      );
    },
    async close() {
      await pool?.close();
      pool = null;
    },
  };
}
