// The projection keeps folded state, not signed events, and shares the terms records have in common; histories
// older than the in-memory window are read back from the store by seq, whole and in order.
import { describe, expect, it } from 'vitest';
import { createValueInterner } from '../../consent/value-interner.ts';
import { grantInput, openHarness } from '../fixtures/consent-log-fixture.ts';

describe('value interner', () => {
  it('returns one frozen copy per distinct value, and stops remembering when full', () => {
    const interner = createValueInterner(2);
    const a = interner.intern({ x: [1, 2], y: 'z' });
    expect(interner.intern({ x: [1, 2], y: 'z' })).toBe(a);
    expect(Object.isFrozen(a) && Object.isFrozen(a.x)).toBe(true);
    expect(interner.intern({ x: [1, 3], y: 'z' })).not.toBe(a);
    const overflow = interner.intern(['full']);
    expect(interner.size).toBe(2);
    expect(Object.isFrozen(overflow)).toBe(true);
    expect(interner.intern(['full'])).not.toBe(overflow);
    expect(interner.intern('text')).toBe('text');
  });
});

describe('compact consent projection', () => {
  it('shares the common terms of records and reads old histories back from the store', async () => {
    const h = await openHarness();
    try {
      const ctx = { actor: 'token:test' };
      const first = await h.log.grant(grantInput({ subjectId: 'customer-first' }), ctx);
      await h.log.withdraw(first.record.recordId, ctx);
      // Push the first record's events out of the in-memory window of the newest 4,096 events.
      const ids = Array.from({ length: 4200 }, (_, i) => `customer-${i}`);
      const later = await Promise.all(ids.map((id) => h.log.grant(grantInput({ subjectId: id }), ctx)));

      const [a, b] = [later[0]!, later[1]!];
      const [viewA, viewB] = [await h.log.getRecord(a.record.recordId), await h.log.getRecord(b.record.recordId)];
      expect(viewA.record.purposes).toBe(viewB.record.purposes);
      expect(viewA.record.minimization).toBe(viewB.record.minimization);

      const old = await h.log.getRecord(first.record.recordId);
      expect(old.events.map((e) => [e.seq, e.type])).toEqual([
        [1, 'grant'],
        [2, 'withdraw'],
      ]);
      expect(old.current.status).toBe('Withdrawn');
      const history = await h.log.subjectHistory(first.record.subject);
      expect(history.map((r) => r.events.map((e) => e.seq))).toEqual([[1, 2]]);
      // A recent event comes from memory and an old one from the store; both equal what the store holds.
      const both = await h.log.eventsAt([1, 4202]);
      expect(both).toEqual(await h.store.readEventsBySeq([1, 4202]));
      expect(both.map((e) => e.seq)).toEqual([1, 4202]);
    } finally {
      await h.close();
    }
  });
});
