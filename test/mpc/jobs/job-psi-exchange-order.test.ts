// The PSI exchange of a job (mpc/psi/psi-job.ts) over a transport that behaves like concurrent HTTP requests: frames of
// one step arrive out of order, some twice (a retried request), each after a random delay. The session must still
// see every bucket once and in order, and both parties must end with the true intersection; a forged sender or a
// bucket far ahead of the stream fails the exchange with a PSI code.
import { afterAll, describe, expect, it } from 'vitest';
import { JobSpec } from '../../../mpc/jobs/job.ts';
import { encodePsiMessage, PSI_PROTOCOL_VERSION } from '../../../mpc/psi/psi-message.ts';
import { createPsiExchange, type PsiExchange } from '../../../mpc/psi/psi-job.ts';
import { createX25519Pool } from '../../../mpc/psi/x25519-pool.ts';
import { idsAt, intersect, seededRandom } from '../psi/psi-fixture.ts';

const pool = createX25519Pool({ size: 2 });
afterAll(() => pool.close());

const spec = JobSpec.parse({
  id: '0b5f8a3e-7c1d-4e2a-9f60-1d2c3b4a5e6f',
  coordinator: 'dealer-4s',
  createdAt: '2026-11-01T09:00:00.000Z',
  protocol: 'psi',
  purpose: 'customer-alignment',
  params: { mode: 'intersection' },
  receivers: ['dealer-4s', 'insurer-a'],
  parties: [
    { id: 'dealer-4s', role: 'guest', view: 'customers', idColumn: 'vin' },
    { id: 'insurer-a', role: 'host', view: 'policyholders', idColumn: 'vin' },
  ],
});

/**
 * Delivers every frame after a seeded random delay (0-15 ms), so frames overtake each other; every fifth is sent twice.
 */
function wire(random: () => number) {
  const ends = new Map<string, PsiExchange>();
  let sent = 0;
  const send = (to: string, from: string) => async (_peer: string, frame: Buffer) => {
    const target = ends.get(to) as PsiExchange;
    const copy = Buffer.from(frame);
    const isTwice = sent++ % 5 === 0;
    await new Promise((resolve) => setTimeout(resolve, Math.floor(random() * 15)));
    const first = target.deliver(from, copy);
    if (isTwice) void target.deliver(from, Buffer.from(copy)).catch(() => undefined);
    await first;
  };
  return { ends, send };
}

const lcg = (seed: number) => () => {
  seed = (seed * 1103515245 + 12345) % 2 ** 31;
  return seed / 2 ** 31;
};

describe('PSI exchange over an unordered transport', () => {
  it('reorders buckets, ignores repeats, and both receivers get the true aligned intersection', async () => {
    const dealer = Array.from({ length: 3000 }, (_, i) => `LSV${String(i * 3).padStart(14, '0')}`);
    const insurer = Array.from({ length: 2500 }, (_, i) => `LSV${String(i * 2).padStart(14, '0')}`);
    const { ends, send } = wire(lcg(7));
    const signal = new AbortController().signal;
    // Small buckets: many frames per step, so there is something to reorder.
    const options = { spec, pool, bucketRecords: 97, window: 8, signal };
    ends.set(
      'dealer-4s',
      createPsiExchange({
        ...options,
        self: 'dealer-4s',
        random: seededRandom('d'),
        send: send('insurer-a', 'dealer-4s'),
      }),
    );
    ends.set(
      'insurer-a',
      createPsiExchange({
        ...options,
        self: 'insurer-a',
        random: seededRandom('i'),
        send: send('dealer-4s', 'insurer-a'),
      }),
    );
    const [a, b] = await Promise.all([
      (ends.get('dealer-4s') as PsiExchange).run(dealer),
      (ends.get('insurer-a') as PsiExchange).run(insurer),
    ]);
    const expected = intersect(dealer, insurer);
    expect(expected.length).toBe(834);
    expect(idsAt(dealer, a.rows as Uint32Array)).toEqual(expected);
    const aligned = Array.from(a.rows as Uint32Array, (row, k) => [
      dealer[row],
      insurer[(b.rows as Uint32Array)[k] as number],
    ]);
    expect(aligned.filter(([x, y]) => x !== y)).toEqual([]);
    const stats = (ends.get('dealer-4s') as PsiExchange).stats;
    expect(stats.rowsIn).toBe(3000);
    expect(stats.recordsIn).toBe(2500 + 3000);
  });

  it('fails with PSI_WRONG_PARTY when a frame names a sender other than the authenticated one', async () => {
    const exchange = createPsiExchange({
      spec,
      self: 'insurer-a',
      pool,
      signal: new AbortController().signal,
      send: async () => undefined,
    });
    const frame = encodePsiMessage({
      header: {
        protocolVersion: PSI_PROTOCOL_VERSION,
        jobId: spec.id,
        step: 'initiator-blinded',
        party: 'charging-net',
        to: 'insurer-a',
        bucket: 0,
        count: 1,
        total: 1,
      },
      payload: Buffer.alloc(32, 9),
    });
    await expect(exchange.deliver('dealer-4s', frame)).rejects.toMatchObject({ code: 'PSI_WRONG_PARTY' });
    // The session is over: the next frame is refused too, and run() reports the first failure.
    await expect(exchange.run(['a'])).rejects.toMatchObject({ code: 'PSI_WRONG_PARTY' });
  });

  it('fails with PSI_UNEXPECTED_STEP for a bucket far ahead of its stream instead of waiting for it', async () => {
    const exchange = createPsiExchange({
      spec,
      self: 'insurer-a',
      pool,
      signal: new AbortController().signal,
      send: async () => undefined,
    });
    const frame = encodePsiMessage({
      header: {
        protocolVersion: PSI_PROTOCOL_VERSION,
        jobId: spec.id,
        step: 'initiator-blinded',
        party: 'dealer-4s',
        to: 'insurer-a',
        bucket: 1000,
        count: 1,
        total: 5000,
      },
      payload: Buffer.alloc(32, 9),
    });
    await expect(exchange.deliver('dealer-4s', frame)).rejects.toMatchObject({ code: 'PSI_UNEXPECTED_STEP' });
  });

  it('fails a waiting bucket when the exchange is aborted (the step deadline), so no request hangs', async () => {
    const controller = new AbortController();
    const exchange = createPsiExchange({
      spec,
      self: 'insurer-a',
      pool,
      signal: controller.signal,
      send: async () => undefined,
    });
    const frame = encodePsiMessage({
      header: {
        protocolVersion: PSI_PROTOCOL_VERSION,
        jobId: spec.id,
        step: 'initiator-blinded',
        party: 'dealer-4s',
        to: 'insurer-a',
        bucket: 3,
        count: 1,
        total: 5000,
      },
      payload: Buffer.alloc(32, 9),
    });
    const waiting = exchange.deliver('dealer-4s', frame);
    controller.abort(new Error('deadline'));
    await expect(waiting).rejects.toThrow('deadline');
  });
});
