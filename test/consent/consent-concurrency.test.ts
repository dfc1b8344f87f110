// Concurrent writers: seq and prevHash are assigned at flush time in submission order, so any interleaving yields
// one gapless, verifiable chain, and conflicting writes in one batch are decided in order.
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { pseudonymize } from '../../consent/pseudonym.ts';
import { createSigner, type Signer } from '../../consent/signer.ts';
import { createWorkerSigner } from '../../consent/signing-worker.ts';
import { SUBJECT_KEY, grantInput, openHarness, openJournaledHarness } from '../fixtures/consent-log-fixture.ts';

const ctx = { actor: 'tok_collector' };

describe('concurrent submits', () => {
  it.each([
    { storage: 'in memory', open: openHarness },
    { storage: 'journaled', open: openJournaledHarness },
  ])('produce a gapless, verified chain across many small batches ($storage)', async ({ open }) => {
    const h = await open({ maxBatch: 16 });
    try {
      const grants = await Promise.all(
        Array.from({ length: 300 }, (_, i) => h.log.grant(grantInput({ subjectId: `customer-${i}` }), ctx)),
      );
      // Interleave withdrawals, renewals, decisions and new grants.
      await Promise.all([
        ...grants.slice(0, 50).map((g) => h.log.withdraw(g.record.recordId, ctx)),
        ...grants.slice(50, 100).map((g) => h.log.renew(g.record.recordId, { expiresAt: '2027-01-01T00:00:00Z' }, ctx)),
        ...Array.from({ length: 50 }, (_, i) =>
          h.log.recordDecision({
            actor: 'tok_pdp',
            action: 'read',
            outcome: 'permit',
            purpose: 'joint-modeling',
            reasons: [],
            consentIds: [grants[i]!.record.recordId],
            delegationIds: [],
          }),
        ),
        ...Array.from({ length: 100 }, (_, i) => h.log.grant(grantInput({ subjectId: `late-${i}` }), ctx)),
      ]);
      await h.store.settle();
      const seqs = (await h.db.all('SELECT seq FROM events ORDER BY seq')).map((r) => Number(r.seq));
      expect(seqs).toEqual(Array.from({ length: 500 }, (_, i) => i + 1));
      expect(await h.log.verify()).toEqual({ ok: true, events: 500, audit: 550 });
      expect(new Set(grants.map((g) => g.events[0]!.seq)).size).toBe(300);
    } finally {
      await h.close();
    }
  });

  it('lets exactly one of two racing withdrawals win; the other is CONFLICT', async () => {
    const h = await openHarness();
    try {
      const { record } = await h.log.grant(grantInput(), ctx);
      const results = await Promise.allSettled([
        h.log.withdraw(record.recordId, ctx),
        h.log.withdraw(record.recordId, ctx),
        h.log.revoke(record.recordId, ctx),
      ]);
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected']);
      expect(results.slice(1).map((r) => (r as PromiseRejectedResult).reason.code)).toEqual(['CONFLICT', 'CONFLICT']);
      expect((await h.log.getRecord(record.recordId)).events.map((e) => e.type)).toEqual(['grant', 'withdraw']);
      expect(await h.log.verify()).toMatchObject({ ok: true, events: 2 });
    } finally {
      await h.close();
    }
  });

  it('rolls back a whole batch when COMMIT fails and keeps the chain intact for the next one', async () => {
    const h = await openHarness();
    try {
      await h.log.grant(grantInput({ subjectId: 'customer-0' }), ctx);
      const realCommit = h.store.commit;
      (h.store as { commit: typeof realCommit }).commit = async () => {
        throw new Error('disk full');
      };
      const failed = await Promise.allSettled(
        [1, 2, 3].map((i) => h.log.grant(grantInput({ subjectId: `customer-${i}` }), ctx)),
      );
      expect(failed.every((r) => r.status === 'rejected')).toBe(true);
      (h.store as { commit: typeof realCommit }).commit = realCommit;
      const next = await h.log.grant(grantInput({ subjectId: 'customer-4' }), ctx);
      expect(next.events[0]!.seq).toBe(2);
      // Nothing of the failed batch reached the read side.
      for (const i of [1, 2, 3])
        expect(
          h.log.view.grantsFor(pseudonymize(SUBJECT_KEY, `customer-${i}`), 'joint-modeling', h.clock.now()),
        ).toEqual([]);
      expect(h.log.view.grantsFor(next.record.subject, 'joint-modeling', h.clock.now())).toHaveLength(1);
      expect(await h.log.verify()).toEqual({ ok: true, events: 2, audit: 2 });
    } finally {
      await h.close();
    }
  });

  it('begins the transaction while the batch is signed, and rolls it back when signing fails', async () => {
    const inner = createSigner(generateKeyPairSync('ed25519').privateKey);
    // A bulk signer held until the test releases it, or told to fail.
    let release: (outcome: 'sign' | 'fail') => void = () => undefined;
    const signer: Signer = {
      ...inner,
      signBatch: (messages) =>
        new Promise((resolve, reject) => {
          release = (outcome) =>
            outcome === 'sign' ? resolve(messages.map((m) => inner.sign(m))) : reject(new Error('signing worker died'));
        }),
    };
    const h = await openHarness({ signer });
    try {
      const statements: string[] = [];
      const transaction = h.db.transaction.bind(h.db);
      (h.db as { transaction: typeof transaction }).transaction = (work) => {
        statements.push('begin');
        return transaction(work);
      };
      const failing = h.log.grant(grantInput({ subjectId: 'customer-1' }), ctx);
      await vi.waitFor(() => expect(statements).toEqual(['begin']));
      // The transaction is open and the signature still outstanding.
      release('fail');
      await expect(failing).rejects.toThrow('signing worker died');

      const next = h.log.grant(grantInput({ subjectId: 'customer-2' }), ctx);
      await vi.waitFor(() => expect(statements).toEqual(['begin', 'begin']));
      release('sign');
      expect((await next).events[0]!.seq).toBe(1);
      expect(h.log.view.grantsFor(pseudonymize(SUBJECT_KEY, 'customer-1'), 'joint-modeling', h.clock.now())).toEqual(
        [],
      );
      expect(await h.log.verify()).toEqual({ ok: true, events: 1, audit: 1 });
    } finally {
      await h.close();
    }
  });

  it('signs on a worker thread with the same verifiable result', async () => {
    const signer = createWorkerSigner(generateKeyPairSync('ed25519').privateKey);
    const h = await openHarness({ signer, maxBatch: 8 });
    try {
      await Promise.all(
        Array.from({ length: 40 }, (_, i) => h.log.grant(grantInput({ subjectId: `customer-${i}` }), ctx)),
      );
      expect(await h.log.verify()).toEqual({ ok: true, events: 40, audit: 40 });
    } finally {
      await h.close();
      await signer.close();
    }
  });
});
