// A hostile gateway (DESIGN.md §6 "bad input"): it signs PSI frames it has tampered with (a point of small order,
// a payload of the wrong length, a frame of another job) and sends them in a real job. The receiver rejects the
// frame with the PSI code, and the job fails cleanly with that same code at every party: the one that caught it
// (naming the sender), the sender, and the third party that never saw the frame. Both a hostile guest and a
// hostile host are tried. A host that declines with a code named after an Object.prototype member ('constructor' in
// an object is true) is a decline like any other: CONSENT_DENIED at every party, never a job left proposed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodePsiMessage, encodePsiMessage } from '../../../mpc/psi/psi-message.ts';
import { interceptPeerCalls, settled, startJobMesh, stopJobMesh, submitJob, type JobGateway } from './job-fixture.ts';
import { dropRows, FATE_GUEST_CSV, readIds } from '../psi/psi-fixture.ts';

const PARTIES = ['dealer-4s', 'insurer-a', 'charging-net'];
let gateways: JobGateway[] = [];

beforeAll(async () => {
  const population = dropRows(await readIds(FATE_GUEST_CSV), 'job-hostile/population', 0.04);
  gateways = await startJobMesh(PARTIES, (party) => dropRows(population, `job-hostile/${party}`, 0.8));
}, 240_000);

afterAll(() => stopJobMesh(gateways));

/** Rewrites the first initiator-blinded frame the dealer sends to the insurer, before the dealer signs it. */
function tamperFirstFrame(dealer: JobGateway, rewrite: (frame: Buffer) => Buffer): () => void {
  let isDone = false;
  return interceptPeerCalls(dealer, {
    before: (call) => {
      if (
        isDone ||
        call.peer !== 'insurer-a' ||
        !call.path.startsWith('/peer/v1/jobs/messages') ||
        !(call.body instanceof Uint8Array)
      )
        return call.body;
      if (decodePsiMessage(call.body).header.step !== 'initiator-blinded') return call.body;
      isDone = true;
      return rewrite(Buffer.from(call.body));
    },
  });
}

const cases: [string, string, (frame: Buffer) => Buffer][] = [
  [
    'a point of small order (u = 0)',
    'PSI_SMALL_ORDER_POINT',
    (frame) => {
      const message = decodePsiMessage(frame);
      const payload = Buffer.from(message.payload);
      payload.fill(0, 32, 64);
      return encodePsiMessage({ header: message.header, payload });
    },
  ],
  ['a payload of the wrong length', 'PSI_BAD_MESSAGE', (frame) => frame.subarray(0, frame.length - 7)],
  [
    'a frame of another job',
    'PSI_WRONG_JOB',
    (frame) => {
      const message = decodePsiMessage(frame);
      return encodePsiMessage({
        header: { ...message.header, jobId: '00000000-0000-4000-8000-000000000000' },
        payload: message.payload,
      });
    },
  ],
];

describe('a hostile peer in a PSI job', () => {
  it.each(cases)('%s fails the job with %s at every party', async (_name, code, rewrite) => {
    const [dealer] = gateways as [JobGateway];
    const restore = tamperFirstFrame(dealer, rewrite);
    try {
      const submitted = await submitJob(dealer, {
        protocol: 'psi',
        purpose: 'customer-alignment',
        params: { mode: 'intersection' },
        receivers: PARTIES,
        parties: PARTIES.map((id) => ({
          id,
          role: id === 'dealer-4s' ? 'guest' : 'host',
          view: 'customers',
          idColumn: 'vin',
        })),
        deadlines: { stepMs: 60_000 },
      });
      expect(submitted.status, JSON.stringify(submitted.body)).toBe(201);
      const id = String(submitted.body.id);
      const views = await Promise.all(gateways.map((gw) => settled(gw, id, 30_000)));
      expect(views.map((v) => [v.self, v.status, v.failure?.code])).toEqual(PARTIES.map((p) => [p, 'failed', code]));
      // Every party records the same story: the host that caught the frame, naming the guest that sent it.
      for (const v of views)
        expect(v.failure, v.self).toMatchObject({ party: 'insurer-a', peer: 'dealer-4s', step: 'exchange' });
    } finally {
      restore();
    }
  });

  it('a hostile host is caught by the guest, which names it, and the job fails with the code at every party', async () => {
    const [dealer, insurer] = gateways as [JobGateway, JobGateway];
    let isDone = false;
    const restore = interceptPeerCalls(insurer, {
      before: (call) => {
        if (isDone || !call.path.startsWith('/peer/v1/jobs/messages') || !(call.body instanceof Uint8Array))
          return call.body;
        const message = decodePsiMessage(call.body);
        if (message.header.step !== 'responder-blinded') return call.body;
        isDone = true;
        const payload = Buffer.from(message.payload);
        payload.fill(0, 0, 32);
        return encodePsiMessage({ header: message.header, payload });
      },
    });
    try {
      const submitted = await submitJob(dealer, {
        protocol: 'psi',
        purpose: 'customer-alignment',
        params: { mode: 'intersection' },
        receivers: PARTIES,
        parties: PARTIES.map((id) => ({
          id,
          role: id === 'dealer-4s' ? 'guest' : 'host',
          view: 'customers',
          idColumn: 'vin',
        })),
        deadlines: { stepMs: 60_000 },
      });
      const id = String(submitted.body.id);
      const views = await Promise.all(gateways.map((gw) => settled(gw, id, 30_000)));
      expect(views.map((v) => [v.self, v.status, v.failure?.code])).toEqual(
        PARTIES.map((p) => [p, 'failed', 'PSI_SMALL_ORDER_POINT']),
      );
      // The sender itself, told by the guest's refusal, records it the same way: the guest caught it, naming the host.
      for (const v of views)
        expect(v.failure, v.self).toMatchObject({ party: 'dealer-4s', peer: 'insurer-a', step: 'exchange' });
    } finally {
      restore();
    }
  });
});

describe('a hostile host that declines with a code named after an Object.prototype member', () => {
  it.each(['constructor', 'toString', '__proto__', 'hasOwnProperty', 'valueOf'])(
    'declining with %s fails the job with CONSENT_DENIED at every party',
    async (code) => {
      const [dealer] = gateways as [JobGateway];
      const restore = interceptPeerCalls(dealer, {
        answer: (call, response) =>
          call.peer === 'insurer-a' && call.path === '/peer/v1/jobs'
            ? { ...response, body: { decision: 'declined', code, message: 'declined with a prototype member' } }
            : response,
      });
      try {
        const submitted = await submitJob(dealer, {
          protocol: 'psi',
          purpose: 'customer-alignment',
          params: { mode: 'intersection' },
          receivers: PARTIES,
          parties: PARTIES.map((id) => ({
            id,
            role: id === 'dealer-4s' ? 'guest' : 'host',
            view: 'customers',
            idColumn: 'vin',
          })),
          deadlines: { stepMs: 60_000 },
        });
        expect(submitted.status, JSON.stringify(submitted.body)).toBe(201);
        const id = String(submitted.body.id);
        const views = await Promise.all(gateways.map((gw) => settled(gw, id, 30_000)));
        expect(views.map((v) => [v.self, v.status, v.failure?.code])).toEqual(
          PARTIES.map((p) => [p, 'failed', 'CONSENT_DENIED']),
        );
        for (const v of views) expect(v.failure, v.self).toMatchObject({ party: 'insurer-a', peer: 'insurer-a' });
      } finally {
        restore();
      }
    },
  );
});
