// PSI messages survive the wire framing unchanged (u32be header length ‖ JSON header ‖ payload), buckets reassemble
// to the step's records, and broken frames are refused with PSI_BAD_MESSAGE or PSI_VERSION_UNSUPPORTED.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  bucketMessages,
  decodePsiMessage,
  encodePsiMessage,
  PSI_PROTOCOL_VERSION,
  RECORD_BYTES,
  type PsiHeader,
  type PsiStep,
} from '../../../mpc/psi/psi-message.ts';

const steps = Object.keys(RECORD_BYTES) as PsiStep[];
const frameOf = (header: unknown, payload = Buffer.alloc(0)) => {
  const json = Buffer.from(JSON.stringify(header));
  const length = Buffer.alloc(4);
  length.writeUInt32BE(json.length, 0);
  return Buffer.concat([length, json, payload]);
};
const HEADER: PsiHeader = {
  protocolVersion: PSI_PROTOCOL_VERSION,
  jobId: 'job-1',
  step: 'initiator-blinded',
  party: 'dealer',
  to: 'insurer',
  bucket: 0,
  count: 1,
  total: 1,
};

describe('PSI wire framing', () => {
  it('decode(encode(message)) is the message', () => {
    const message = fc.constantFrom(...steps).chain((step) =>
      fc
        .record({
          header: fc.record({
            protocolVersion: fc.constant(PSI_PROTOCOL_VERSION),
            jobId: fc.string({ minLength: 1, maxLength: 40 }),
            step: fc.constant(step),
            party: fc.string({ minLength: 1, maxLength: 20 }),
            to: fc.string({ minLength: 1, maxLength: 20 }),
            bucket: fc.nat(),
            count: fc.constant(0),
            total: fc.nat(),
          }),
          records: fc.integer({ min: 0, max: 20 }),
        })
        .chain(({ header, records }) =>
          fc
            .uint8Array({ minLength: records * RECORD_BYTES[step], maxLength: records * RECORD_BYTES[step] })
            .map((payload) => ({ header: { ...header, count: records }, payload })),
        ),
    );
    fc.assert(
      fc.property(message, (m) => {
        const decoded = decodePsiMessage(encodePsiMessage(m));
        expect(decoded.header).toEqual(m.header);
        expect(Buffer.from(decoded.payload).equals(Buffer.from(m.payload))).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('buckets cover the records in order, with one empty bucket for an empty step', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 100 }), fc.integer({ min: 1, max: 17 }), (n, size) => {
        const records = Buffer.alloc(n * 32, 0);
        for (let i = 0; i < n; i++) records.writeUInt32LE(i, i * 32);
        const buckets = bucketMessages(
          { jobId: 'job-1', step: 'initiator-blinded', party: 'dealer', to: 'insurer' },
          records,
          size,
        );
        expect(buckets.map((b) => b.header.bucket)).toEqual(buckets.map((_, i) => i));
        expect(buckets.every((b) => b.header.total === n && b.payload.length === b.header.count * 32)).toBe(true);
        expect(Buffer.concat(buckets.map((b) => b.payload)).equals(records)).toBe(true);
        expect(buckets).toHaveLength(Math.max(1, Math.ceil(n / size)));
      }),
    );
  });

  it.each([
    ['a frame shorter than its length prefix', Buffer.from([0, 0])],
    ['a header length past the end', Buffer.from([0, 0, 1, 0, 123])],
    ['a header that is not JSON', Buffer.concat([Buffer.from([0, 0, 0, 3]), Buffer.from('{x}')])],
    ['a header that is JSON but not an object', frameOf([1, 2, 3])],
    ['a payload that is not whole records', frameOf(HEADER, Buffer.alloc(31))],
  ])('refuses %s with PSI_BAD_MESSAGE', (_name, frame) => {
    expect(() => decodePsiMessage(frame)).toThrow(expect.objectContaining({ code: 'PSI_BAD_MESSAGE' }));
  });

  it('checks the version before the rest of the header, so a newer peer is told what is wrong', () => {
    expect(() => decodePsiMessage(frameOf({ protocolVersion: 2, shape: 'new' }))).toThrow(
      expect.objectContaining({ code: 'PSI_VERSION_UNSUPPORTED', detail: { protocolVersion: 2 } }),
    );
  });

  it('names the bad header fields, never their values', () => {
    let error: unknown;
    try {
      decodePsiMessage(frameOf({ ...HEADER, jobId: '', extra: 'secret-value' }, Buffer.alloc(32)));
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: 'PSI_BAD_MESSAGE', detail: { reason: 'header' } });
    expect(JSON.stringify((error as { detail: unknown }).detail)).not.toContain('secret-value');
  });
});
