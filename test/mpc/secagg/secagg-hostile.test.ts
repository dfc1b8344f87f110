// Hostile parties and a hostile coordinator: every refusal of the secure-aggregation core carries its stable code
// (docs/errors.md), names the party at fault where it can, and never lets a sum out.
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../../core/errors.ts';
import type { Quantization } from '../../../mpc/secagg/quantize.ts';
import { createSecAggClient } from '../../../mpc/secagg/secagg-client.ts';
import type { SecAggConfig } from '../../../mpc/secagg/secagg-config.ts';
import {
  ADVERTISE_CONTEXT,
  advertisementStatement,
  decodeMessage,
  encodeMessage,
  type AdvertiseMessage,
  type ClientMessage,
  type ConsistencyMessage,
  type InboxMessage,
  type MaskedInputMessage,
  type RosterMessage,
  type ServerMessage,
  type SharesMessage,
  type SurvivorsMessage,
  type UnmaskMessage,
  type UnmaskRequestMessage,
} from '../../../mpc/secagg/secagg-messages.ts';
import {
  attestationOf,
  identities,
  opening,
  partyNames,
  randomInputs,
  runPhase,
  runRound,
  seededRandom,
  startRound,
  type RoundSetup,
} from './secagg-fixture.ts';

const parties = partyNames(4);
const config: SecAggConfig = { session: 'job-7/0/3', parties, threshold: 3, neighbours: null, dimension: 3, ring: 32 };
const q: Quantization = { ring: 32, clip: 1, fractionBits: 16 };
const { inputs } = randomInputs({ parties, dimension: 3, q, spread: 1, label: 'hostile' });
const ids = identities(parties);
const [p0, p1, p2, p3] = parties as [string, string, string, string];

/** The refusal `fn` throws (or its promise rejects with). */
async function refusal(fn: () => unknown): Promise<GatewayError> {
  let error: unknown = null;
  try {
    await fn();
  } catch (e) {
    error = e;
  }
  if (!(error instanceof GatewayError)) throw new Error(`expected a GatewayError, got ${String(error)}`);
  return error;
}

/** A round started and run through phases 0..index−1; what the server sends for phase `index`. */
async function roundAt(index: number, extra: Partial<RoundSetup> = {}) {
  const setup: RoundSetup = { config, inputs, ids, ...extra };
  const round = startRound(setup);
  let outgoing: ReadonlyMap<string, ServerMessage | undefined> = opening(config);
  for (let i = 0; i < index; i++) outgoing = await runPhase(setup, round, i, outgoing);
  return { setup, round, outgoing: outgoing as Map<string, ServerMessage> };
}

const flip = (bytes: Uint8Array, at: number) => Uint8Array.from(bytes, (b, i) => (i === at ? b ^ 0x01 : b));

describe('hostile parties, refused by the coordinator', () => {
  it('a second, different advertisement is SECAGG_EQUIVOCATION; the same one again is a duplicate', async () => {
    const { round } = await roundAt(0);
    const first = round.clients.get(p1)?.advertise() as AdvertiseMessage;
    expect(round.server.receive(p1, first)).toEqual({ isDuplicate: false });
    expect(round.server.receive(p1, { ...first })).toEqual({ isDuplicate: true });
    const twin = createSecAggClient({
      config,
      self: p1,
      input: inputs.get(p1) as Uint32Array,
      attestation: attestationOf(p1, ids),
    });
    const error = await refusal(() => round.server.receive(p1, twin.advertise()));
    expect([error.code, error.detail.party]).toEqual(['SECAGG_EQUIVOCATION', p1]);
    expect(round.server.waitingFor()).toEqual([p0, p2, p3]);
  });

  it('a forged or altered advertisement is SECAGG_BAD_ATTESTATION naming the party it claims to be', async () => {
    const { round } = await roundAt(0);
    const honest = round.clients.get(p1)?.advertise() as AdvertiseMessage;
    // party-02 signs keys in party-01's name: the signature is real, but not by party-01's registered key.
    const forged = attestationOf(p2, ids).sign(
      ADVERTISE_CONTEXT,
      advertisementStatement(config.session, { party: p1, ...honest }),
    );
    for (const message of [
      { ...honest, signature: forged },
      { ...honest, cPk: flip(honest.cPk, 3) },
    ]) {
      const error = await refusal(() => round.server.receive(p1, message));
      expect([error.code, error.detail.party]).toEqual(['SECAGG_BAD_ATTESTATION', p1]);
    }
    expect(round.server.waitingFor()).toContain(p1);
  });

  it('a signed advertisement of a small-order key is JOB_BAD_MESSAGE', async () => {
    const { round } = await roundAt(0);
    const honest = round.clients.get(p1)?.advertise() as AdvertiseMessage;
    const zero = { ...honest, sPk: new Uint8Array(32) };
    const signature = attestationOf(p1, ids).sign(
      ADVERTISE_CONTEXT,
      advertisementStatement(config.session, { party: p1, ...zero }),
    );
    const error = await refusal(() => round.server.receive(p1, { ...zero, signature }));
    expect([error.code, error.detail.party]).toEqual(['JOB_BAD_MESSAGE', p1]);
  });

  it('a message of another session, another phase, a stranger or a dropped party is SECAGG_WRONG_ROUND', async () => {
    const fresh = await roundAt(1, { dropAt: new Map([[p3, 0]]) });
    const mine = (await fresh.round.clients
      .get(p1)
      ?.shareKeys(fresh.outgoing.get(p1) as RosterMessage)) as SharesMessage;
    const wrong = await refusal(() => fresh.round.server.receive(p1, { ...mine, session: 'job-7/1/3' }));
    expect(wrong.code).toBe('SECAGG_WRONG_ROUND');
    // The same bytes through the codec: decode refuses the session before anything else.
    const encoded = encodeMessage(mine);
    const decoded = await refusal(() =>
      decodeMessage('shares', { ...encoded.meta, session: 'job-7/1/3' }, encoded.blobs, config),
    );
    expect(decoded.code).toBe('SECAGG_WRONG_ROUND');
    const phase = await refusal(() =>
      decodeMessage('shares', { ...encoded.meta, phase: 'unmask' }, encoded.blobs, config),
    );
    expect(phase.code).toBe('SECAGG_WRONG_ROUND');
    const early = await refusal(() =>
      fresh.round.server.receive(p1, {
        kind: 'masked-input',
        session: config.session,
        phase: 'masked-input',
        vector: new Uint32Array(3),
      }),
    );
    expect(early.code).toBe('SECAGG_WRONG_ROUND');
    expect((await refusal(() => fresh.round.server.receive('party-99', mine))).code).toBe('SECAGG_WRONG_ROUND');
    // party-03 never advertised, so it is out of the round for good.
    const dropped = await refusal(() => fresh.round.server.receive(p3, { ...mine, shares: [] }));
    expect(dropped.code).toBe('SECAGG_WRONG_ROUND');
    expect(fresh.round.server.receive(p1, mine)).toEqual({ isDuplicate: false });
  });

  it('shares addressed to anyone but exactly the sender’s other holders are SECAGG_BAD_SHARE', async () => {
    const { round, outgoing } = await roundAt(1);
    const mine = (await round.clients.get(p1)?.shareKeys(outgoing.get(p1) as RosterMessage)) as SharesMessage;
    const [a, b, c] = mine.shares as [
      SharesMessage['shares'][0],
      SharesMessage['shares'][0],
      SharesMessage['shares'][0],
    ];
    for (const shares of [
      [a, b],
      [a, b, { ...c, to: p1 }],
      [a, b, c, { ...c, to: p1 }],
    ]) {
      const error = await refusal(() => round.server.receive(p1, { ...mine, shares }));
      expect([error.code, error.detail.party]).toEqual(['SECAGG_BAD_SHARE', p1]);
    }
    const short = encodeMessage(mine);
    short.blobs[1] = short.blobs[1]?.subarray(0, 50) as Uint8Array;
    expect((await refusal(() => decodeMessage('shares', short.meta, short.blobs, config))).code).toBe(
      'SECAGG_BAD_SHARE',
    );
  });

  it('a masked vector of the wrong length is SECAGG_BAD_VECTOR at decode and at the coordinator', async () => {
    const { round, outgoing } = await roundAt(2);
    const y = round.clients.get(p1)?.maskInput(outgoing.get(p1) as InboxMessage) as MaskedInputMessage;
    const encoded = encodeMessage(y);
    const cut = await refusal(() =>
      decodeMessage('masked-input', encoded.meta, [encoded.blobs[0]?.subarray(0, 8) as Uint8Array], config),
    );
    expect(cut.code).toBe('SECAGG_BAD_VECTOR');
    const error = await refusal(() => round.server.receive(p1, { ...y, vector: y.vector.subarray(0, 2) }));
    expect([error.code, error.detail.party]).toEqual(['SECAGG_BAD_VECTOR', p1]);
  });

  it('malformed messages are JOB_BAD_MESSAGE: unknown kind, stray meta field, blob count, key length, stranger id', async () => {
    const { round } = await roundAt(0);
    const ad = encodeMessage(round.clients.get(p0)?.advertise() as AdvertiseMessage);
    const cases: [string, unknown, Uint8Array[]][] = [
      ['shout', ad.meta, ad.blobs],
      ['advertise', { ...ad.meta, extra: 1 }, ad.blobs],
      ['advertise', ad.meta, ad.blobs.slice(0, 3)],
      ['advertise', ad.meta, [ad.blobs[0]?.subarray(0, 31) as Uint8Array, ...ad.blobs.slice(1)]],
      ['advertise', ad.meta, [...ad.blobs.slice(0, 3), new Uint8Array(63)]],
      ['survivors', { session: config.session, phase: 'consistency', survivors: [p0, 'party-99'] }, []],
      ['survivors', { session: config.session, phase: 'consistency', survivors: [p0, p0] }, []],
      ['survivors', 'not an object', []],
    ];
    for (const [kind, meta, blobs] of cases)
      expect((await refusal(() => decodeMessage(kind, meta, blobs, config))).code).toBe('JOB_BAD_MESSAGE');
  });

  it('unmasking shares other than those asked for are JOB_BAD_MESSAGE', async () => {
    const { round, outgoing } = await roundAt(4);
    const answer = round.clients.get(p1)?.unmask(outgoing.get(p1) as UnmaskRequestMessage) as UnmaskMessage;
    const extra = {
      ...answer,
      shares: [
        ...answer.shares.filter((s) => s.party !== p2),
        { party: p2, secret: 's' as const, share: new Uint8Array(33) },
      ],
    };
    const error = await refusal(() => round.server.receive(p1, extra));
    expect([error.code, error.detail.party]).toEqual(['JOB_BAD_MESSAGE', p1]);
  });
});

describe('a hostile coordinator, refused by the parties', () => {
  it('malformed share bytes in an inbox are SECAGG_BAD_SHARE naming the sender', async () => {
    const toClient = (party: string, m: ServerMessage): ServerMessage =>
      party === p0 && m.kind === 'inbox'
        ? { ...m, shares: m.shares.map((s) => (s.from === p2 ? { ...s, ciphertext: flip(s.ciphertext, 40) } : s)) }
        : m;
    const error = await refusal(() => runRound({ config, inputs, ids, tamper: { toClient } }));
    expect([error.code, error.detail.party]).toEqual(['SECAGG_BAD_SHARE', p2]);
  });

  it('a bundle sealed for another party is SECAGG_BAD_SHARE, even relabelled as for this one', async () => {
    const { round, outgoing } = await roundAt(1);
    const sent = new Map<string, SharesMessage>();
    for (const p of parties)
      sent.set(p, (await round.clients.get(p)?.shareKeys(outgoing.get(p) as RosterMessage)) as SharesMessage);
    for (const [p, m] of sent) round.server.receive(p, m);
    const inboxes = round.server.closePhase();
    const inbox = inboxes.get(p3) as InboxMessage;
    // party-01's bundle for party-02 is put in party-03's inbox as party-01's.
    const forTwo = sent.get(p1)?.shares.find((s) => s.to === p2)?.ciphertext as Uint8Array;
    const moved = { ...inbox, shares: inbox.shares.map((s) => (s.from === p1 ? { from: p1, ciphertext: forTwo } : s)) };
    const error = await refusal(() => round.clients.get(p3)?.maskInput(moved));
    expect([error.code, error.detail.party]).toEqual(['SECAGG_BAD_SHARE', p1]);
    // The refusal ends that client: the honest inbox is refused the same way now.
    expect((await refusal(() => round.clients.get(p3)?.maskInput(inbox))).code).toBe('SECAGG_BAD_SHARE');
  });

  it('a roster whose keys the party did not sign is SECAGG_BAD_ATTESTATION; one shorter than t is TOO_FEW', async () => {
    const swapKey = (party: string, m: ServerMessage): ServerMessage =>
      party === p0 && m.kind === 'roster'
        ? { ...m, advertisements: m.advertisements.map((a) => (a.party === p2 ? { ...a, cPk: flip(a.cPk, 0) } : a)) }
        : m;
    const error = await refusal(() => runRound({ config, inputs, ids, tamper: { toClient: swapKey } }));
    expect([error.code, error.detail.party]).toEqual(['SECAGG_BAD_ATTESTATION', p2]);
    const { round, outgoing } = await roundAt(1);
    const roster = outgoing.get(p0) as RosterMessage;
    const short = { ...roster, advertisements: roster.advertisements.filter((a) => a.party === p0 || a.party === p1) };
    const few = await refusal(() => round.clients.get(p0)?.shareKeys(short));
    expect(few.code).toBe('SECAGG_TOO_FEW_PARTIES');
    expect(few.detail.dropped).toEqual([
      { party: p2, phase: 'advertise' },
      { party: p3, phase: 'advertise' },
    ]);
  });

  it('a coordinator that tells two parties different U3 is caught at unmask: SECAGG_EQUIVOCATION', async () => {
    const { round, outgoing } = await roundAt(3);
    // party-03 is told party-00 dropped; the others are told everyone survived.
    const told = new Map(
      parties.map((p) => {
        const m = outgoing.get(p) as SurvivorsMessage;
        return [p, p === p3 ? { ...m, survivors: [p1, p2, p3] } : m];
      }),
    );
    const signed = new Map(
      parties.map((p) => [
        p,
        round.clients.get(p)?.signSurvivors(told.get(p) as SurvivorsMessage) as ConsistencyMessage,
      ]),
    );
    // An honest coordinator would refuse party-03's signature: it is not over the U3 that coordinator sent.
    for (const p of [p0, p1, p2]) round.server.receive(p, signed.get(p) as ConsistencyMessage);
    expect((await refusal(() => round.server.receive(p3, signed.get(p3) as ConsistencyMessage))).code).toBe(
      'SECAGG_BAD_ATTESTATION',
    );
    // A lying one forwards every signature; party-01 checks each against the U3 it signed and refuses to unmask.
    const request: UnmaskRequestMessage = {
      kind: 'unmask-request',
      session: config.session,
      phase: 'unmask',
      signatures: parties.map((party) => ({ party, signature: (signed.get(party) as ConsistencyMessage).signature })),
      asks: parties.map((party) => ({ party, secret: 'b' as const })),
    };
    const error = await refusal(() => round.clients.get(p1)?.unmask(request));
    expect([error.code, error.detail.party]).toEqual(['SECAGG_EQUIVOCATION', p3]);
  });

  it('a request for both shares of one party, or for the wrong one, is refused with SECAGG_EQUIVOCATION', async () => {
    const { round, outgoing } = await roundAt(4, { dropAt: new Map([[p3, 2]]) });
    const request = outgoing.get(p0) as UnmaskRequestMessage;
    expect(request.asks).toEqual(
      expect.arrayContaining([
        { party: p1, secret: 'b' },
        { party: p3, secret: 's' },
      ]),
    );
    const both = { ...request, asks: [...request.asks, { party: p1, secret: 's' as const }] };
    const error = await refusal(() => round.clients.get(p0)?.unmask(both));
    expect([error.code, error.detail.party, error.detail.reason]).toEqual([
      'SECAGG_EQUIVOCATION',
      p1,
      'both of its shares are asked for',
    ]);
    const seedOfDropped = {
      ...request,
      asks: request.asks.map((a) => (a.party === p3 ? { ...a, secret: 'b' as const } : a)),
    };
    const other = await refusal(() => round.clients.get(p1)?.unmask(seedOfDropped));
    expect([other.code, other.detail.party]).toEqual(['SECAGG_EQUIVOCATION', p3]);
    // A refusal is final: the honest request is refused too, and no share left the client.
    expect((await refusal(() => round.clients.get(p0)?.unmask(request))).code).toBe('SECAGG_EQUIVOCATION');
  });

  it('a corrupted b-share or s-share makes finish SECAGG_BAD_SHARE naming its owner, and no sum comes out', async () => {
    for (const [owner, dropAt] of [
      [p2, new Map<string, number>()],
      [p3, new Map([[p3, 2]])],
    ] as const) {
      const toServer = (party: string, m: ClientMessage): ClientMessage =>
        party === p1 && m.kind === 'unmask'
          ? { ...m, shares: m.shares.map((s) => (s.party === owner ? { ...s, share: flip(s.share, 7) } : s)) }
          : m;
      const setup: RoundSetup = { config, inputs, ids, dropAt, tamper: { toServer } };
      const round = startRound(setup);
      const error = await refusal(() => runRound(setup, round));
      expect([error.code, error.detail.party]).toEqual(['SECAGG_BAD_SHARE', owner]);
      expect((await refusal(() => round.server.finish())).code).toBe('SECAGG_BAD_SHARE');
      expect((await refusal(() => round.server.closePhase())).code).toBe('SECAGG_BAD_SHARE');
    }
  });
});

describe('the order of phases', () => {
  it('a client refuses a second call of a phase and a call out of order with SECAGG_WRONG_ROUND', async () => {
    const client = createSecAggClient({
      config,
      self: p0,
      input: inputs.get(p0) as Uint32Array,
      attestation: attestationOf(p0, ids),
      random: seededRandom('order'),
    });
    const inbox: InboxMessage = {
      kind: 'inbox',
      session: config.session,
      phase: 'masked-input',
      shared: parties,
      shares: [],
    };
    expect((await refusal(() => client.maskInput(inbox))).code).toBe('SECAGG_WRONG_ROUND');
    client.advertise();
    expect((await refusal(() => client.advertise())).code).toBe('SECAGG_WRONG_ROUND');
    expect((await refusal(() => client.maskInput(inbox))).code).toBe('SECAGG_WRONG_ROUND');
  });

  it('the coordinator refuses finish before the unmask phase closes, and a phase past the last', async () => {
    const { round } = await roundAt(2);
    expect((await refusal(() => round.server.finish())).code).toBe('SECAGG_WRONG_ROUND');
    const done = await roundAt(5);
    expect(done.round.server.phase).toBe('finished');
    expect((await refusal(() => done.round.server.closePhase())).code).toBe('SECAGG_WRONG_ROUND');
    // A retried message of a closed phase is a duplicate, not a refusal.
    const ad = done.round.received[0]?.[0] as AdvertiseMessage;
    expect(done.round.server.receive(p0, ad)).toEqual({ isDuplicate: true });
    expect((await refusal(() => done.round.server.receive(p0, { ...ad, commitB: flip(ad.commitB, 0) }))).code).toBe(
      'SECAGG_WRONG_ROUND',
    );
    expect((await done.round.server.finish()).contributors).toEqual(parties);
  });
});
