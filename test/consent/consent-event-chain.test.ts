// The signed event chain names the first broken link: a tampered payload, a forged signature, a removed or
// reordered event.
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GENESIS_HASH, canonicalHash } from '../../consent/canonical.ts';
import { sealEvent, verifyEvent, verifyEventChain, type LogEvent, type UnsealedEvent } from '../../consent/event.ts';
import { createSigner, verifySignature } from '../../consent/signer.ts';

const signer = createSigner(generateKeyPairSync('ed25519').privateKey);
const other = createSigner(generateKeyPairSync('ed25519').privateKey);

const unsealed = (payload: unknown, i = 0): UnsealedEvent => ({
  eventId: randomUUID(),
  kind: 'consent',
  type: 'withdraw',
  subjectOrPartner: 'sp_' + 'a'.repeat(43),
  recordId: randomUUID(),
  at: new Date(Date.UTC(2025, 0, 1, 0, 0, i)).toISOString(),
  actor: 'tok_1',
  payload,
});

function chain(payloads: unknown[], by = signer): LogEvent[] {
  const out: LogEvent[] = [];
  let prev = GENESIS_HASH;
  payloads.forEach((p, i) => {
    const e = sealEvent(unsealed(p, i), prev, i + 1, by);
    out.push(e);
    prev = e.hash;
  });
  return out;
}

describe('sealEvent', () => {
  it('hashes every field except hash and signature, and signs the raw 32 hash bytes', () => {
    const e = sealEvent(unsealed({ reason: 'moved away' }), GENESIS_HASH, 1, signer);
    const { hash, signature, ...body } = e;
    expect(hash).toBe(canonicalHash(body));
    expect(body).toMatchObject({ seq: 1, prevHash: GENESIS_HASH, keyId: signer.keyId });
    expect(verifySignature(signer.publicKey, Buffer.from(hash, 'hex'), Buffer.from(signature, 'hex'))).toBe(true);
    expect(verifyEvent(e, signer.publicKey)).toBeNull();
  });

  it('refuses a bad seq, link, or a kind/type mismatch', () => {
    expect(() => sealEvent(unsealed({}), GENESIS_HASH, 0, signer)).toThrow(
      expect.objectContaining({ code: 'BAD_INPUT' }),
    );
    expect(() => sealEvent(unsealed({}), 'xyz', 1, signer)).toThrow(expect.objectContaining({ code: 'BAD_INPUT' }));
    expect(() => sealEvent({ ...unsealed({}), kind: 'delegation' }, GENESIS_HASH, 1, signer)).toThrow();
  });
});

describe('verifyEventChain', () => {
  it('accepts an intact chain and counts it', () => {
    expect(verifyEventChain(chain([{}, { reason: 'a' }, {}]), signer.publicKey)).toEqual({ ok: true, count: 3 });
    expect(verifyEventChain([], signer.publicKey)).toEqual({ ok: true, count: 0 });
  });

  it('names a tampered payload as hash-mismatch at its seq', () => {
    const events = chain([{}, { reason: 'a' }, {}, {}]);
    events[2] = { ...events[2]!, payload: { reason: 'edited' } };
    expect(verifyEventChain(events, signer.publicKey)).toEqual({
      ok: false,
      seq: 3,
      eventId: events[2]!.eventId,
      reason: 'hash-mismatch',
    });
  });

  it('names a re-hashed forgery (hash recomputed without the key) as bad-signature', () => {
    const events = chain([{}, {}, {}]);
    const { hash: _h, signature, ...body } = { ...events[1]!, actor: 'attacker' };
    events[1] = { ...body, hash: canonicalHash(body), signature };
    expect(verifyEventChain(events, signer.publicKey)).toMatchObject({ ok: false, seq: 2, reason: 'bad-signature' });
  });

  it('names events signed by another key as bad-signature', () => {
    expect(verifyEventChain(chain([{}, {}], other), signer.publicKey)).toMatchObject({
      ok: false,
      seq: 1,
      reason: 'bad-signature',
    });
  });

  it('names the event after a removed one as seq-gap, and a renumbered removal as broken-link', () => {
    const events = chain([{}, {}, {}, {}]);
    const removed = [events[0]!, events[2]!, events[3]!];
    expect(verifyEventChain(removed, signer.publicKey)).toEqual({
      ok: false,
      seq: 3,
      eventId: events[2]!.eventId,
      reason: 'seq-gap',
    });
    const renumbered = [events[0]!, { ...events[2]!, seq: 2 }];
    expect(verifyEventChain(renumbered, signer.publicKey)).toMatchObject({ ok: false, seq: 2, reason: 'broken-link' });
    expect(verifyEventChain(events.slice(1), signer.publicKey)).toMatchObject({ ok: false, seq: 2, reason: 'seq-gap' });
  });

  it('verifies a segment from a given chain point', () => {
    const events = chain([{}, {}, {}]);
    expect(verifyEventChain(events.slice(1), signer.publicKey, { seq: 1, hash: events[0]!.hash })).toEqual({
      ok: true,
      count: 2,
    });
  });

  it('detects any single-field edit of any event at exactly that seq (property)', () => {
    const fields = ['eventId', 'subjectOrPartner', 'recordId', 'at', 'actor', 'payload'] as const;
    fc.assert(
      fc.property(
        fc.array(fc.dictionary(fc.string({ maxLength: 5 }), fc.oneof(fc.integer(), fc.string(), fc.boolean())), {
          minLength: 1,
          maxLength: 8,
        }),
        fc.nat(),
        fc.constantFrom(...fields),
        (payloads, pick, field) => {
          const events = chain(payloads);
          const index = pick % events.length;
          const target = events[index]!;
          const edited =
            field === 'payload'
              ? { tampered: true }
              : field === 'at'
                ? '1999-01-01T00:00:00.000Z'
                : `${String(target[field])}x`;
          events[index] = { ...target, [field]: edited };
          const result = verifyEventChain(events, signer.publicKey);
          expect(result).toMatchObject({ ok: false, seq: index + 1, reason: 'hash-mismatch' });
        },
      ),
      { numRuns: 60 },
    );
  });
});
