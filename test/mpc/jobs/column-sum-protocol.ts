// A second job protocol, for tests only: each party sums one numeric column over the rows its consent filter admitted,
// each host sends its sum and row count to the guest, and the guest receives the total. It exists to show that a
// protocol plugs into the runtime (docs/jobs.md, "Adding a protocol") without an edit to the runner, the coordinator,
// the participant, the store or the routes. It is not a product protocol: the guest learns each host's sum, which a
// real aggregate would hide behind secure aggregation and a k-threshold.
import { z } from 'zod';
import { SqlName } from '../../../connectors/sql-name.ts';
import { GatewayError } from '../../../core/errors.ts';
import { consentFilterStep, partyFor } from '../../../mpc/jobs/consent-filter.ts';
import { guestOf } from '../../../mpc/jobs/job.ts';
import type { JobProtocol, ProtocolStep, StepContext } from '../../../mpc/jobs/protocol.ts';

const ColumnSumParams = z.strictObject({ column: SqlName });
/** What a host sends the guest: its sum and how many rows it summed. Nothing else crosses the wire. */
const HostSum = z.strictObject({ sum: z.number().finite(), rows: z.int().min(0) });
const MAX_FRAME_BYTES = 256;
const PAGE_ROWS = 10_000;

/** The admitted rows' values of `column` at this party, summed. */
async function sumAdmitted(context: StepContext, column: string): Promise<{ sum: number; rows: number }> {
  const party = partyFor(context.spec, context.self);
  const grant = await context.connectors.reader.readViewColumns(party.view, [column], context.spec.purpose);
  let sum = 0;
  let rows = 0;
  for (let from = 0; ; from += PAGE_ROWS) {
    const page = await context.store.readInputs(context.spec.id, from, PAGE_ROWS);
    if (page.subjects.length === 0) break;
    for await (const chunk of context.connectors.reader.readColumnsFor(grant, page.subjects)) {
      context.signal.throwIfAborted();
      for (const row of chunk) {
        const value = row[column];
        if (typeof value === 'number') sum += value;
        rows++;
      }
    }
  }
  return { sum, rows };
}

function sumStep(context: StepContext): ProtocolStep {
  const { spec, self } = context;
  const { column } = ColumnSumParams.parse(spec.params);
  const guest = guestOf(spec).id;
  const hosts = spec.parties.map((p) => p.id).filter((id) => id !== guest);
  const received = new Map<string, z.infer<typeof HostSum>>();
  let bytesIn = 0;
  let bytesOut = 0;
  let hasFailed = false;
  let wake: () => void = () => undefined;

  const allReceived = () =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (hosts.every((h) => received.has(h))) resolve();
      };
      wake = check;
      context.signal.addEventListener('abort', () => reject(context.signal.reason), { once: true });
      check();
    });

  return {
    get hasFailed() {
      return hasFailed;
    },
    progress: () => ({ rows: received.size, total: self === guest ? hosts.length : 1, bytesIn, bytesOut }),
    async deliver(sender, frame) {
      if (self !== guest || !hosts.includes(sender))
        throw new GatewayError('BAD_INPUT', 'only a host sends its sum, to the guest');
      if (frame.length > MAX_FRAME_BYTES) throw new GatewayError('PAYLOAD_TOO_LARGE', 'a host sum is a few bytes');
      if (received.has(sender)) return { isDuplicate: true };
      let body: unknown;
      try {
        body = JSON.parse(Buffer.from(frame).toString('utf8'));
      } catch {
        hasFailed = true;
        throw new GatewayError('BAD_INPUT', 'a host sum is JSON');
      }
      const parsed = HostSum.safeParse(body);
      if (!parsed.success) {
        hasFailed = true;
        throw new GatewayError('BAD_INPUT', 'a host sum is { sum, rows }');
      }
      received.set(sender, parsed.data);
      bytesIn += frame.length;
      wake();
      return { isDuplicate: false };
    },
    async run() {
      const own = await sumAdmitted(context, column);
      if (self !== guest) {
        const frame = Buffer.from(JSON.stringify(own));
        await context.send(guest, frame, { auditStep: 'sum.host-sum' });
        bytesOut += frame.length;
        const output = { mode: 'total', isReceiver: false, count: null, peerSizes: {} };
        return { rows: own.rows, rowsTotal: own.rows, bytesIn, bytesOut, detail: { summed: own.rows }, output };
      }
      await allReceived();
      let total = own.sum;
      let rows = own.rows;
      const peerSizes: Record<string, number> = {};
      for (const [host, sum] of received) {
        total += sum.sum;
        rows += sum.rows;
        peerSizes[host] = sum.rows;
      }
      const output = { mode: 'total', isReceiver: true, count: rows, peerSizes, values: { total } };
      return { rows: own.rows, rowsTotal: own.rows, bytesIn, bytesOut, detail: { summed: own.rows }, output };
    },
  };
}

export const columnSumProtocol: JobProtocol = {
  name: 'column-sum',
  params: ColumnSumParams,
  steps: ['filter', 'sum'],
  check(job, ctx) {
    const guest = job.parties.find((p) => p.role === 'guest')?.id;
    if (job.receivers.length !== 1 || job.receivers[0] !== guest)
      ctx.addIssue({ code: 'custom', path: ['receivers'], message: 'the guest alone receives the total' });
  },
  reads: (spec, party) => ({
    view: party.view,
    idColumn: party.idColumn,
    columns: [ColumnSumParams.parse(spec.params).column],
  }),
  startStep: (context) => (context.step === 'filter' ? consentFilterStep(context) : sumStep(context)),
  hasOutputRows: () => false,
  auditDetail: (spec) => ({ column: ColumnSumParams.parse(spec.params).column }),
};
