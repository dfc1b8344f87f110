// A hostile gateway (DESIGN.md §6 "bad input"): it signs PSI frames it has tampered with (a point of small order,
// a payload of the wrong length, a frame of another job) and sends them in a real job. The receiver rejects the
// frame with the PSI code, and the job fails cleanly with that same code at every party: the one that caught it
// (naming the sender), the sender, and the third party that never saw the frame. Both a hostile guest and a
// hostile host are tried. A host that declines with a code named after an Object.prototype member ('constructor' in
// an object is true) is a decline like any other: CONSENT_DENIED at every party, never a job left proposed. The rest
// is the runtime against a hostile host: a failure names its real sender, reports are accepted only for the sender's
// own live attempt and are bounded, every held frame is answered when its attempt ends, a bucket repeated with other
// bytes is refused, and a malformed answer is the answering host's fault.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodePsiMessage, encodePsiMessage } from '../../../mpc/psi/psi-message.ts';
import type { JobRequestInput } from '../../../mpc/jobs/job.ts';
import {
  getJob,
  interceptPeerCalls,
  restartJobGateway,
  settled,
  startJobMesh,
  stopJobMesh,
  submitJob,
  type JobGateway,
} from './job-fixture.ts';
import { dropRows, FATE_GUEST_CSV, readIds } from '../psi/psi-fixture.ts';

const PARTIES = ['dealer-4s', 'insurer-a', 'charging-net'];
let gateways: JobGateway[] = [];

beforeAll(async () => {
  const population = dropRows(await readIds(FATE_GUEST_CSV), 'job-hostile/population', 0.04);
  gateways = await startJobMesh(PARTIES, (party) => dropRows(population, `job-hostile/${party}`, 0.8));
}, 240_000);

afterAll(() => stopJobMesh(gateways));

/** A three-party PSI job with every party as receiver, submitted at the guest. */
const psiJob = (): JobRequestInput => ({
  protocol: 'psi',
  purpose: 'customer-alignment',
  params: { mode: 'intersection' },
  receivers: PARTIES,
  parties: PARTIES.map((id) => ({
    id,
    role: id === 'dealer-4s' ? ('guest' as const) : ('host' as const),
    view: 'customers',
    idColumn: 'vin',
  })),
  deadlines: { stepMs: 60_000 },
});

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
      const submitted = await submitJob(dealer, psiJob());
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
      const submitted = await submitJob(dealer, psiJob());
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
        const submitted = await submitJob(dealer, psiJob());
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

async function submitted(gw: JobGateway): Promise<string> {
  const res = await submitJob(gw, psiJob());
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return String(res.body.id);
}

/** Polls `gw` until it holds job `id` in a state `isReady` accepts. */
async function until(gw: JobGateway, id: string, isReady: (status: string) => boolean): Promise<void> {
  for (let i = 0; i < 400; i++) {
    const view = await gw.ctx.jobs.get(id).catch(() => null);
    if (view !== null && isReady(view.status)) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`job ${id} at ${gw.partyId} never got ready`);
}

describe('the job runtime against a hostile host', () => {
  it('a guest restarted after a prototype-member decline keeps the job failed everywhere; nothing is re-proposed', async () => {
    const [dealer] = gateways as [JobGateway];
    const restore = interceptPeerCalls(dealer, {
      answer: (call, response) =>
        call.peer === 'insurer-a' && call.path === '/peer/v1/jobs'
          ? { ...response, body: { decision: 'declined', code: '__proto__', message: 'no' } }
          : response,
    });
    const id = await submitted(dealer);
    await Promise.all(gateways.map((gw) => settled(gw, id, 30_000)));
    restore();
    const restarted = await restartJobGateway(dealer);
    gateways[0] = restarted;
    let proposals = 0;
    const count = interceptPeerCalls(restarted, {
      before: (call) => {
        if (call.path === '/peer/v1/jobs') proposals++;
        return call.body;
      },
    });
    await restarted.ctx.jobs.recover();
    await new Promise((resolve) => setTimeout(resolve, 500));
    count();
    expect(proposals).toBe(0);
    const views = await Promise.all(gateways.map((gw) => getJob(gw, id)));
    expect(views.map((v) => [v.self, v.status, v.failure?.code])).toEqual(
      PARTIES.map((p) => [p, 'failed', 'CONSENT_DENIED']),
    );
  });

  it('a decline whose code is not a string is PEER_BAD_RESPONSE naming the host, at every party', async () => {
    const [dealer] = gateways as [JobGateway];
    const restore = interceptPeerCalls(dealer, {
      answer: (call, response) =>
        call.peer === 'insurer-a' && call.path === '/peer/v1/jobs'
          ? { ...response, body: { decision: 'declined', code: 42 } }
          : response,
    });
    try {
      const id = await submitted(dealer);
      const views = await Promise.all(gateways.map((gw) => settled(gw, id, 30_000)));
      expect(views.map((v) => [v.self, v.status, v.failure?.code])).toEqual(
        PARTIES.map((p) => [p, 'failed', 'PEER_BAD_RESPONSE']),
      );
      for (const v of views) expect(v.failure, v.self).toMatchObject({ party: 'dealer-4s', peer: 'insurer-a' });
    } finally {
      restore();
    }
  });

  it("a host's failure notice names its real sender, whatever its body claims; the call's audit entry references the job", async () => {
    const [dealer, insurer, charging] = gateways as [JobGateway, JobGateway, JobGateway];
    // The innocent charging operator's reports are held back, so the job is still running when the forgery arrives.
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const restore = interceptPeerCalls(charging, {
      before: async (call) => {
        if (call.path === '/peer/v1/jobs/report') await held;
        return call.body;
      },
    });
    try {
      const id = await submitted(dealer);
      await until(insurer, id, (status) => status === 'running');
      const forged = {
        code: 'PSI_BAD_MESSAGE',
        message: 'charging-net sent a malformed frame',
        party: 'charging-net',
        peer: 'charging-net',
        step: 'exchange',
      };
      await insurer.ctx.peers.client.request({
        peerId: 'dealer-4s',
        method: 'POST',
        path: '/peer/v1/jobs/fail',
        body: { job: id, failure: forged, epoch: 0 },
      });
      release();
      const [atDealer, atCharging] = await Promise.all([settled(dealer, id), settled(charging, id)]);
      // The failure is recorded as what it is: insurer-a's claim, not a failure charging-net raised.
      for (const v of [atDealer, atCharging])
        expect(v.failure, v.self).toMatchObject({ code: 'PSI_BAD_MESSAGE', party: 'insurer-a' });
      // The forged notice's own audit entry at the guest is found by the job it concerns.
      const entries = await dealer.ctx.consent.listAudit({ kind: 'message', ref: id, limit: 1000 });
      const calls = entries.filter((e) => e.action === 'peer-exchange' && e.detail.path === '/peer/v1/jobs/fail');
      expect(calls.map((e) => [e.actor, e.refs])).toContainEqual(['insurer-a', [id]]);
    } finally {
      release();
      restore();
    }
  });

  it("reports are taken only for the sender's own live attempt, once, and are bounded: a completed job's timeline cannot be flooded", async () => {
    const [dealer, insurer] = gateways as [JobGateway, JobGateway];
    const id = await submitted(dealer);
    await Promise.all(gateways.map((gw) => settled(gw, id, 30_000)));
    const before = JSON.stringify(await getJob(dealer, id));
    const report = (attempt: number, detail: Record<string, unknown>) => ({
      job: id,
      step: 'exchange',
      attempt,
      outcome: 'completed',
      entry: {
        step: 'exchange',
        party: 'insurer-a',
        attempt,
        status: 'completed',
        startedAt: null,
        endedAt: null,
        durationMs: null,
        bytesIn: 0,
        bytesOut: 0,
        rows: 0,
        rowsTotal: null,
        errorCode: null,
        detail,
      },
      output: null,
      failure: null,
      isTransient: false,
    });
    const send = (body: unknown) =>
      insurer.ctx.peers.client.request({ peerId: 'dealer-4s', method: 'POST', path: '/peer/v1/jobs/report', body });
    // Well-formed reports of attempts that are not live: answered stale, stored nowhere.
    for (let attempt = 1; attempt <= 5; attempt++) {
      const answer = await send(report(attempt, { note: 'x'.repeat(100) }));
      expect(answer.body).toMatchObject({ ok: true, isStale: true });
    }
    // Oversized detail: refused before anything is looked at.
    const wide = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`k${i}`, i]));
    for (const detail of [wide, { note: 'x'.repeat(10_000) }]) {
      await expect(send(report(9, detail))).rejects.toMatchObject({
        code: 'PEER_REJECTED',
        detail: { peerCode: 'BAD_INPUT' },
      });
    }
    expect(JSON.stringify(await getJob(dealer, id))).toBe(before);
  });

  it('a frame held for its turn is answered when the attempt ends, not left open', async () => {
    const [dealer, insurer] = gateways as [JobGateway, JobGateway];
    const original = insurer.ctx.peers.client;
    let held: Promise<{ at: number; body: unknown }> | null = null;
    const restore = interceptPeerCalls(insurer, {
      before: (call) => {
        if (held !== null || !call.path.startsWith('/peer/v1/jobs/messages') || !(call.body instanceof Uint8Array)) {
          return call.body;
        }
        const message = decodePsiMessage(call.body);
        if (message.header.step !== 'responder-blinded') return call.body;
        // A copy numbered five buckets ahead: the guest holds it, waiting for a turn that never comes.
        const ahead = encodePsiMessage({
          header: { ...message.header, bucket: message.header.bucket + 5 },
          payload: message.payload,
        });
        held = original
          .request({
            peerId: 'dealer-4s',
            method: 'POST',
            path: call.path,
            body: ahead,
            options: { deadlineMs: 120_000, retries: 0 },
          })
          .then((answer) => ({ at: Date.now(), body: answer.body }));
        return call.body;
      },
    });
    try {
      const id = await submitted(dealer);
      const atDealer = await settled(dealer, id, 60_000);
      const endedAt = Date.now();
      expect(atDealer.status).toBe('completed');
      expect(held).not.toBeNull();
      const answer = await (held as unknown as Promise<{ at: number; body: unknown }>);
      expect(answer.body).toMatchObject({ ok: true, isStale: true });
      expect(answer.at - endedAt).toBeLessThan(5_000);
    } finally {
      restore();
    }
  });

  it('a bucket sent again with other bytes fails the job with PSI_BAD_MESSAGE naming its sender', async () => {
    const [dealer, insurer] = gateways as [JobGateway, JobGateway];
    const original = insurer.ctx.peers.client;
    let conflicting: Promise<unknown> | null = null;
    const restore = interceptPeerCalls(insurer, {
      before: async (call) => {
        if (conflicting !== null) {
          // Every later frame waits until the conflicting copy was answered, so the exchange is still running.
          await conflicting;
          return call.body;
        }
        if (!call.path.startsWith('/peer/v1/jobs/messages') || !(call.body instanceof Uint8Array)) return call.body;
        const message = decodePsiMessage(call.body);
        if (message.header.step !== 'responder-blinded') return call.body;
        // The copy with other bytes goes first and the genuine bucket second: whichever the receiver holds, the
        // second arrives while the step still waits for it, so the conflict is seen on every run (sent after the
        // genuine one, a last bucket's copy could come once the step was done).
        const payload = Buffer.from(message.payload);
        payload[0] = (payload[0] ?? 0) ^ 0xff;
        conflicting = original
          .request({
            peerId: 'dealer-4s',
            method: 'POST',
            path: call.path,
            body: encodePsiMessage({ header: message.header, payload }),
            options: { retries: 0 },
          })
          .catch(() => undefined);
        await conflicting;
        return call.body;
      },
    });
    try {
      const id = await submitted(dealer);
      const views = await Promise.all(gateways.map((gw) => settled(gw, id, 30_000)));
      expect(views.map((v) => [v.self, v.status, v.failure?.code])).toEqual(
        PARTIES.map((p) => [p, 'failed', 'PSI_BAD_MESSAGE']),
      );
      for (const v of views) expect(v.failure, v.self).toMatchObject({ party: 'dealer-4s', peer: 'insurer-a' });
    } finally {
      restore();
    }
  });
});
