// A PSI party checks every message a hostile or broken peer can send and rejects it with a stable PSI_* code before
// any output is released: wrong job, sender, recipient or version, malformed headers and payloads, counts that do
// not add up, buckets out of order, steps not due, small-order points, repeated points, and forged matches.
import { afterAll, describe, expect, it } from 'vitest';
import { PSI_PROTOCOL_VERSION, type PsiHeader, type PsiMessage } from '../../../mpc/psi/psi-message.ts';
import { createPsiParty, type PsiMode, type PsiOutputTo, type PsiParty } from '../../../mpc/psi/psi-party.ts';
import { createX25519Pool } from '../../../mpc/psi/x25519-pool.ts';

const pool = createX25519Pool({ size: 2 });
afterAll(() => pool.close());

const JOB = 'job-hostile';
const SMALL_ORDER = Buffer.from('e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800', 'hex');
const dealerIds = Array.from({ length: 40 }, (_, i) => `subject-${i}`);
const insurerIds = Array.from({ length: 30 }, (_, i) => `subject-${i + 20}`);

type Setup = { mode?: PsiMode; outputTo?: PsiOutputTo; maxRows?: number };
const makeDealer = (s: Setup = {}) =>
  createPsiParty({
    jobId: JOB,
    role: 'initiator',
    mode: s.mode ?? 'intersection',
    self: 'dealer',
    peers: ['insurer'],
    outputTo: s.outputTo ?? 'all',
    pool,
    bucketRecords: 8,
    ...(s.maxRows === undefined ? {} : { maxRows: s.maxRows }),
  });
const makeInsurer = (s: Setup = {}) =>
  createPsiParty({
    jobId: JOB,
    role: 'responder',
    mode: s.mode ?? 'intersection',
    self: 'insurer',
    peers: ['dealer'],
    outputTo: s.outputTo ?? 'all',
    pool,
    bucketRecords: 8,
    ...(s.maxRows === undefined ? {} : { maxRows: s.maxRows }),
  });

/** Both parties started: `toInsurer` are the dealer's 5 initiator-blinded buckets, `toDealer` the insurer's 4. */
async function started(s: Setup = {}) {
  const dealer = makeDealer(s);
  const insurer = makeInsurer(s);
  const [toInsurer, toDealer] = await Promise.all([dealer.start(dealerIds), insurer.start(insurerIds)]);
  return { dealer, insurer, toInsurer, toDealer };
}

const withHeader = (m: PsiMessage, patch: Record<string, unknown>): PsiMessage => ({
  header: { ...m.header, ...patch } as PsiHeader,
  payload: m.payload,
});
const withPayload = (m: PsiMessage, edit: (p: Buffer) => void): PsiMessage => {
  const payload = Buffer.from(m.payload);
  edit(payload);
  return { header: m.header, payload };
};
const deliverAll = async (party: PsiParty, messages: PsiMessage[]) =>
  (await Promise.all(messages.map((m) => party.receive(m)))).flat();
const rejection = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  );

describe('the responder rejects a hostile initiator-blinded step', () => {
  it.each([
    ['another job id', { jobId: 'job-other' }, 'PSI_WRONG_JOB'],
    ['a sender that is not its peer', { party: 'mallory' }, 'PSI_WRONG_PARTY'],
    ['a recipient that is not itself', { to: 'charging' }, 'PSI_WRONG_PARTY'],
    ['protocol version 2', { protocolVersion: 2 }, 'PSI_VERSION_UNSUPPORTED'],
    ['protocol version "1" as a string', { protocolVersion: '1' }, 'PSI_VERSION_UNSUPPORTED'],
    ['an unknown step', { step: 'initiator-unblinded' }, 'PSI_BAD_MESSAGE'],
    ['an extra header field', { note: 'x' }, 'PSI_BAD_MESSAGE'],
    ['a missing count', { count: undefined }, 'PSI_BAD_MESSAGE'],
    ['a negative bucket', { bucket: -1 }, 'PSI_BAD_MESSAGE'],
    ['a count that differs from the payload', { count: 7 }, 'PSI_COUNT_MISMATCH'],
    ['a total smaller than the bucket', { total: 4 }, 'PSI_COUNT_MISMATCH'],
    ['a bucket out of order', { bucket: 1 }, 'PSI_UNEXPECTED_STEP'],
  ])('%s', async (_name, patch, code) => {
    const { insurer, toInsurer } = await started();
    await expect(insurer.receive(withHeader(toInsurer[0] as PsiMessage, patch))).rejects.toMatchObject({ code });
  });

  it('a payload that is not a whole number of 32-byte points', async () => {
    const { insurer, toInsurer } = await started();
    const first = toInsurer[0] as PsiMessage;
    await expect(
      insurer.receive({ header: first.header, payload: first.payload.subarray(0, first.payload.length - 1) }),
    ).rejects.toMatchObject({ code: 'PSI_BAD_MESSAGE', detail: { reason: 'payload-length' } });
  });

  it('a bucket that changes the announced total', async () => {
    const { insurer, toInsurer } = await started();
    await insurer.receive(toInsurer[0] as PsiMessage);
    await expect(insurer.receive(withHeader(toInsurer[1] as PsiMessage, { total: 41 }))).rejects.toMatchObject({
      code: 'PSI_COUNT_MISMATCH',
    });
  });

  it('an empty bucket in a non-empty step', async () => {
    const { insurer, toInsurer } = await started();
    await expect(
      insurer.receive({ header: { ...(toInsurer[0] as PsiMessage).header, count: 0 }, payload: Buffer.alloc(0) }),
    ).rejects.toMatchObject({ code: 'PSI_COUNT_MISMATCH' });
  });

  it('a repeated bucket', async () => {
    const { insurer, toInsurer } = await started();
    await insurer.receive(toInsurer[0] as PsiMessage);
    await expect(insurer.receive(toInsurer[0] as PsiMessage)).rejects.toMatchObject({
      code: 'PSI_UNEXPECTED_STEP',
      detail: { reason: 'bucket-order', expected: 1 },
    });
  });

  it('a bucket for a step that is already complete', async () => {
    const { insurer, toInsurer } = await started();
    await deliverAll(insurer, toInsurer);
    await expect(insurer.receive(withHeader(toInsurer[0] as PsiMessage, { bucket: 5 }))).rejects.toMatchObject({
      code: 'PSI_UNEXPECTED_STEP',
      detail: { reason: 'step-finished' },
    });
  });

  it('a step the responder never receives', async () => {
    const { insurer, toDealer } = await started();
    await expect(
      insurer.receive(withHeader(toDealer[0] as PsiMessage, { party: 'dealer', to: 'insurer' })),
    ).rejects.toMatchObject({ code: 'PSI_UNEXPECTED_STEP', detail: { reason: 'not-for-role' } });
  });

  it('a set larger than the responder accepts', async () => {
    const { toInsurer } = await started();
    const insurer = makeInsurer({ maxRows: 39 });
    await expect(insurer.receive(toInsurer[0] as PsiMessage)).rejects.toMatchObject({
      code: 'PSI_SET_TOO_LARGE',
      detail: { limit: 39 },
    });
  });

  it('a bucket larger than any party accepts', async () => {
    const insurer = makeInsurer();
    const header: PsiHeader = {
      protocolVersion: PSI_PROTOCOL_VERSION,
      jobId: JOB,
      step: 'initiator-blinded',
      party: 'dealer',
      to: 'insurer',
      bucket: 0,
      count: 65_537,
      total: 65_537,
    };
    await expect(insurer.receive({ header, payload: Buffer.alloc(65_537 * 32, 9) })).rejects.toMatchObject({
      code: 'PSI_SET_TOO_LARGE',
    });
  });

  it('a small-order point, naming its step, bucket and index', async () => {
    const { insurer, toInsurer } = await started();
    const bad = withPayload(toInsurer[2] as PsiMessage, (p) => SMALL_ORDER.copy(p, 5 * 32));
    const error = await rejection(deliverAll(insurer, [toInsurer[0], toInsurer[1], bad] as PsiMessage[]));
    expect(error).toMatchObject({
      code: 'PSI_SMALL_ORDER_POINT',
      detail: { step: 'initiator-blinded', bucket: 2, index: 5 },
    });
  });

  it('a repeated point', async () => {
    const { insurer, toInsurer } = await started();
    const bad = withPayload(toInsurer[1] as PsiMessage, (p) => p.copy(p, 6 * 32, 3 * 32, 4 * 32));
    const error = await rejection(
      deliverAll(
        insurer,
        toInsurer.map((m, i) => (i === 1 ? bad : m)),
      ),
    );
    expect(error).toMatchObject({ code: 'PSI_DUPLICATE_POINT', detail: { step: 'initiator-blinded' } });
  });

  it('a repeated point in disguise (bit 255 set, which X25519 ignores): duplicates are checked after multiplying', async () => {
    const { insurer, toInsurer } = await started();
    const bad = withPayload(toInsurer[1] as PsiMessage, (p) => {
      p.copy(p, 6 * 32, 3 * 32, 4 * 32);
      p[6 * 32 + 31] = (p[6 * 32 + 31] as number) ^ 0x80;
    });
    expect(Buffer.compare(bad.payload.subarray(3 * 32, 4 * 32), bad.payload.subarray(6 * 32, 7 * 32))).not.toBe(0);
    const error = await rejection(
      deliverAll(
        insurer,
        toInsurer.map((m, i) => (i === 1 ? bad : m)),
      ),
    );
    expect(error).toMatchObject({ code: 'PSI_DUPLICATE_POINT' });
  });

  it('any message once the session has failed, even a valid one', async () => {
    const { insurer, toInsurer } = await started();
    await expect(insurer.receive(withHeader(toInsurer[0] as PsiMessage, { jobId: 'job-other' }))).rejects.toMatchObject(
      { code: 'PSI_WRONG_JOB' },
    );
    await expect(insurer.receive(toInsurer[0] as PsiMessage)).rejects.toMatchObject({
      code: 'PSI_UNEXPECTED_STEP',
      detail: { reason: 'session-failed', failedWith: 'PSI_WRONG_JOB' },
    });
  });
});

describe('the initiator rejects a hostile responder', () => {
  it("a small-order point in the responder's set", async () => {
    const { dealer, toDealer } = await started();
    const error = await rejection(
      dealer.receive(withPayload(toDealer[0] as PsiMessage, (p) => SMALL_ORDER.copy(p, 0))),
    );
    expect(error).toMatchObject({
      code: 'PSI_SMALL_ORDER_POINT',
      detail: { step: 'responder-blinded', bucket: 0, index: 0 },
    });
  });

  it("a repeated point in the responder's set", async () => {
    const { dealer, insurer, toInsurer, toDealer } = await started();
    const replies = await deliverAll(insurer, toInsurer);
    const bad = withPayload(toDealer[3] as PsiMessage, (p) => p.copy(p, 0, 32, 64));
    const error = await rejection(deliverAll(dealer, [...toDealer.slice(0, 3), bad, ...replies]));
    expect(error).toMatchObject({ code: 'PSI_DUPLICATE_POINT', detail: { step: 'responder-blinded' } });
  });

  it('a re-blinded set before the initiator sent its own', async () => {
    const { insurer, toInsurer } = await started();
    const replies = await deliverAll(insurer, toInsurer);
    await expect(makeDealer().receive(replies[0] as PsiMessage)).rejects.toMatchObject({
      code: 'PSI_UNEXPECTED_STEP',
      detail: { reason: 'before-sent' },
    });
  });

  it('a re-blinded set of another size than was sent', async () => {
    const { dealer, insurer, toInsurer } = await started();
    const replies = await deliverAll(insurer, toInsurer);
    await expect(dealer.receive(withHeader(replies[0] as PsiMessage, { total: 39 }))).rejects.toMatchObject({
      code: 'PSI_COUNT_MISMATCH',
      detail: { expected: 40 },
    });
  });

  it('an all-zero re-blinded point', async () => {
    const { dealer, insurer, toInsurer } = await started();
    const replies = await deliverAll(insurer, toInsurer);
    const bad = withPayload(replies[1] as PsiMessage, (p) => p.fill(0, 2 * 32, 3 * 32));
    await expect(deliverAll(dealer, [replies[0] as PsiMessage, bad])).rejects.toMatchObject({
      code: 'PSI_SMALL_ORDER_POINT',
      detail: { step: 'initiator-reblinded', bucket: 1, index: 2 },
    });
  });

  it('a re-blinded set that repeats a point', async () => {
    const { dealer, insurer, toInsurer, toDealer } = await started();
    const replies = await deliverAll(insurer, toInsurer);
    const bad = withPayload(replies[4] as PsiMessage, (p) => p.copy(p, 0, 32, 64));
    const error = await rejection(deliverAll(dealer, [...toDealer, ...replies.slice(0, 4), bad]));
    expect(error).toMatchObject({ code: 'PSI_DUPLICATE_POINT', detail: { step: 'initiator-reblinded' } });
  });

  it('a step the initiator never receives', async () => {
    const { dealer, toInsurer } = await started();
    await expect(
      dealer.receive(withHeader(toInsurer[0] as PsiMessage, { party: 'insurer', to: 'dealer' })),
    ).rejects.toMatchObject({ code: 'PSI_UNEXPECTED_STEP', detail: { reason: 'not-for-role' } });
  });
});

describe('a receiving responder rejects forged output', () => {
  /** Runs the protocol to the point where the dealer has computed its matches, and returns them undelivered. */
  async function untilMatches(s: Setup = {}) {
    const { dealer, insurer, toInsurer, toDealer } = await started(s);
    const replies = await deliverAll(insurer, toInsurer);
    const output = await deliverAll(dealer, [...toDealer, ...replies]);
    return { insurer, output };
  }

  it('accepts the honest matches (20 subjects in common)', async () => {
    const { insurer, output } = await untilMatches();
    await deliverAll(insurer, output);
    expect(insurer.result().count).toBe(20);
  });

  it('a match that is not a point it re-blinded', async () => {
    const { insurer, output } = await untilMatches();
    const bad = withPayload(output[0] as PsiMessage, (p) => {
      p[0] = (p[0] as number) ^ 1;
    });
    await expect(insurer.receive(bad)).rejects.toMatchObject({
      code: 'PSI_BAD_MESSAGE',
      detail: { reason: 'unknown-match', index: 0 },
    });
  });

  it('a position outside its set', async () => {
    const { insurer, output } = await untilMatches();
    const bad = withPayload(output[0] as PsiMessage, (p) => p.writeUInt32LE(30, 36 + 32));
    await expect(insurer.receive(bad)).rejects.toMatchObject({
      code: 'PSI_BAD_MESSAGE',
      detail: { reason: 'position-out-of-range', index: 1 },
    });
  });

  it('a repeated position', async () => {
    const { insurer, output } = await untilMatches();
    const bad = withPayload(output[0] as PsiMessage, (p) => p.writeUInt32LE(p.readUInt32LE(32), 36 + 32));
    await expect(insurer.receive(bad)).rejects.toMatchObject({ code: 'PSI_DUPLICATE_POINT', detail: { index: 1 } });
  });

  it('more matches than the smaller set holds', async () => {
    const { insurer, output } = await untilMatches();
    await expect(insurer.receive(withHeader(output[0] as PsiMessage, { total: 31 }))).rejects.toMatchObject({
      code: 'PSI_COUNT_MISMATCH',
      detail: { limit: 30 },
    });
  });

  it('matches before it returned the re-blinded set', async () => {
    const { output } = await untilMatches();
    const fresh = makeInsurer();
    await fresh.start(insurerIds);
    await expect(fresh.receive(output[0] as PsiMessage)).rejects.toMatchObject({
      code: 'PSI_UNEXPECTED_STEP',
      detail: { reason: 'before-sent' },
    });
  });

  it('matches sent to a responder that is not a receiver', async () => {
    const { output } = await untilMatches();
    const { insurer, toInsurer } = await started({ outputTo: 'initiator' });
    await deliverAll(insurer, toInsurer);
    await expect(insurer.receive(output[0] as PsiMessage)).rejects.toMatchObject({ code: 'PSI_UNEXPECTED_STEP' });
  });

  it('a cardinality larger than the smaller set', async () => {
    const { insurer, output } = await untilMatches({ mode: 'cardinality' });
    expect(output).toHaveLength(1);
    const bad = withPayload(output[0] as PsiMessage, (p) => p.writeUInt32LE(31, 0));
    await expect(insurer.receive(bad)).rejects.toMatchObject({
      code: 'PSI_COUNT_MISMATCH',
      detail: { count: 31, limit: 30 },
    });
  });
});

describe('a party checks its own input', () => {
  it('refuses a repeated identifier, naming the rows and never the identifier', async () => {
    const ids = ['sp_a', 'sp_b', 'sp_dup', 'sp_c', 'sp_d', 'sp_e', 'sp_f', 'sp_dup'];
    const error = await rejection(makeDealer().start(ids));
    expect(error).toMatchObject({ code: 'PSI_DUPLICATE_INPUT', detail: { rows: [2, 7] } });
    expect(
      JSON.stringify({ message: (error as Error).message, detail: (error as { detail: unknown }).detail }),
    ).not.toContain('sp_dup');
  });

  it('refuses an empty identifier, naming the row', async () => {
    await expect(makeInsurer().start(['sp_a', ''])).rejects.toMatchObject({ code: 'BAD_INPUT', detail: { row: 1 } });
  });

  it('refuses to start twice', async () => {
    const dealer = makeDealer();
    await dealer.start(['sp_a']);
    await expect(dealer.start(['sp_a'])).rejects.toMatchObject({ code: 'CONFLICT' });
  });
});
