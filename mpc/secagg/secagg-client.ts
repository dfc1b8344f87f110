// One party of a secure-aggregation round (Bonawitz et al., CCS 2017, Fig. 4, the user's side; SecAgg+ neighbours
// from Bell et al., CCS 2020). Pure: it turns the coordinator's messages into its own and keeps the round's secrets;
// carrying messages, deadlines and retries belong to the job glue.
//
//   advertise()          keys c and s, commitment to b, signed               (round 0)
//   shareKeys(roster)    Shamir shares of s_sk and b, sealed to each holder (round 1)
//   maskInput(inbox)     y = x + PRG(b) + Σ_{v>u} PRG(s_uv) − Σ_{v<u} PRG(s_uv) over neighbours in U2 (round 2)
//   signSurvivors(U3)    a signature over U3                                 (round 3, the consistency check)
//   unmask(request)      b-shares of U3, s-shares of U2∖U3, never both      (round 4)
//
// What it refuses, and why: a roster entry its owner did not sign (a coordinator substituting keys to read shares),
// fewer than t parties in any set (a sum over too few parties reveals too much), a survivor set whose graph is not
// connected (the coordinator would learn the sums of the parts), a signature over another U3 than the one this party
// signed (the coordinator told parties different things), and a request for both shares of one party (with both,
// the coordinator could unmask that party's input alone). A refusal ends the client: every later call throws it
// again. A call out of order or a second call of a phase throws SECAGG_WRONG_ROUND and changes nothing.
import { randomBytes } from 'node:crypto';
import { GatewayError } from '../../core/errors.ts';
import type { Attestation } from '../peers/attestation.ts';
import { keyPairFrom, openShare, pairKey, sealShare, type KeyPair } from './key-agreement.ts';
import { expandMask } from './mask-prg.ts';
import { neighbourGraph, type NeighbourGraph } from './neighbours.ts';
import { addInPlace, lanesPerElement, subInPlace, type RingVector } from './ring.ts';
import {
  checkSecAggConfig,
  tooFewParties,
  type Dropped,
  type SecAggConfig,
  type SecAggPhase,
} from './secagg-config.ts';
import {
  ADVERTISE_CONTEXT,
  advertisementStatement,
  SURVIVORS_CONTEXT,
  survivorsStatement,
  type Advertisement,
  type AdvertiseMessage,
  type ConsistencyMessage,
  type InboxMessage,
  type MaskedInputMessage,
  type RosterMessage,
  type SecAggMessage,
  type SharesMessage,
  type SurvivorsMessage,
  type UnmaskMessage,
  type UnmaskRequestMessage,
} from './secagg-messages.ts';
import { commitSeed, SHARE_BYTES, splitSecret } from './seed-shares.ts';

export type SecAggClient = {
  advertise(): AdvertiseMessage;
  shareKeys(roster: RosterMessage): Promise<SharesMessage>;
  maskInput(inbox: InboxMessage): MaskedInputMessage;
  signSurvivors(survivors: SurvivorsMessage): ConsistencyMessage;
  unmask(request: UnmaskRequestMessage): UnmaskMessage;
};

export type SecAggClientOptions = {
  config: SecAggConfig;
  self: string;
  /** x_u, already quantized (quantize.ts): `dimension × ring/32` lanes. */
  input: RingVector;
  attestation: Attestation;
  /** Source of every random byte but the Shamir polynomials' (seed-shares.ts); default crypto.randomBytes. */
  random?: (bytes: number) => Uint8Array;
};

type HeldShares = { s: Uint8Array; b: Uint8Array };
const STEPS = ['new', 'advertised', 'shared', 'masked', 'signed', 'done'] as const;
type Step = (typeof STEPS)[number];

const wrongRound = (message: string, detail: Record<string, unknown> = {}) =>
  new GatewayError('SECAGG_WRONG_ROUND', message, detail);
const badMessage = (reason: string, detail: Record<string, unknown> = {}) =>
  new GatewayError('JOB_BAD_MESSAGE', `secure-aggregation message refused: ${reason}`, { reason, ...detail });

export function createSecAggClient(options: SecAggClientOptions): SecAggClient {
  const config = checkSecAggConfig(options.config);
  const { self, attestation } = options;
  const { session, threshold } = config;
  if (!config.parties.includes(self))
    throw new GatewayError('BAD_INPUT', `${self} is not a party of this secure-aggregation round`, { party: self });
  if (options.input.length !== config.dimension * lanesPerElement(config.ring))
    throw new GatewayError(
      'SECAGG_BAD_VECTOR',
      `the input has ${options.input.length} lanes, not dimension × ring/32`,
      {
        lanes: options.input.length,
        dimension: config.dimension,
      },
    );
  const random = options.random ?? ((bytes: number) => new Uint8Array(randomBytes(bytes)));
  const input = Uint32Array.from(options.input);

  let step: Step = 'new';
  let isBusy = false;
  let failure: unknown = null;
  // Round state, filled in as the phases pass.
  let cKeys: KeyPair | null = null;
  let sKeys: KeyPair | null = null;
  let seed: Uint8Array | null = null;
  let own: AdvertiseMessage | null = null;
  let roster = new Map<string, Advertisement>();
  let graph: NeighbourGraph | null = null;
  const held = new Map<string, HeldShares>();
  let shared: readonly string[] = [];
  let survivors: readonly string[] = [];
  let signers: readonly string[] = [];
  let ownSurvivorsSignature: Uint8Array | null = null;

  /** Runs phase `body` if the client stands at `from`; a thrown error ends the client. */
  const phase = <T>(from: Step, name: string, body: () => T): T => {
    if (failure !== null) throw failure;
    if (isBusy || step !== from)
      throw wrongRound(`${name} is not expected now: the client is at ${isBusy ? 'a phase in progress' : step}`, {
        call: name,
        step,
      });
    isBusy = true;
    const next = STEPS[STEPS.indexOf(from) + 1] as Step;
    const settle = <V>(value: V): V => {
      isBusy = false;
      step = next;
      return value;
    };
    const fail = (error: unknown): never => {
      isBusy = false;
      failure = error;
      throw error;
    };
    try {
      const result = body();
      return (result instanceof Promise ? result.then(settle, fail) : settle(result)) as T;
    } catch (error) {
      return fail(error);
    }
  };

  const checkHeader = (message: SecAggMessage, kind: SecAggMessage['kind'], expected: SecAggPhase) => {
    if (message.kind !== kind) throw badMessage(`expected a ${kind} message, got ${String(message.kind)}`);
    if (message.session !== session || message.phase !== expected)
      throw wrongRound(`a ${kind} message of another session or phase is not for this round`, {
        kind,
        phase: String(message.phase).slice(0, 32),
      });
  };
  const checkSubset = (ids: readonly string[], of: ReadonlySet<string> | readonly string[], what: string) => {
    const within = new Set(of);
    if (new Set(ids).size !== ids.length) throw badMessage(`${what} lists a party twice`);
    const stranger = ids.find((id) => !within.has(id));
    if (stranger !== undefined) throw badMessage(`${what} names ${stranger}, who is not in the set before it`);
  };
  const dropped = (): Dropped[] => {
    const phases: [readonly string[], readonly string[], SecAggPhase][] = [
      [config.parties, [...roster.keys()], 'advertise'],
      [[...roster.keys()], shared, 'share'],
      [shared, survivors, 'masked-input'],
      [survivors, signers, 'consistency'],
    ];
    return phases.flatMap(([before, after, p]) =>
      after.length === 0 ? [] : before.filter((x) => !after.includes(x)).map((party) => ({ party, phase: p })),
    );
  };
  const requireCount = (count: number, reason?: string) => {
    if (count < threshold)
      throw tooFewParties({
        remaining: count,
        threshold,
        dropped: dropped(),
        ...(reason === undefined ? {} : { reason }),
      });
  };

  return {
    advertise: () =>
      phase('new', 'advertise', () => {
        cKeys = keyPairFrom(random(32));
        sKeys = keyPairFrom(random(32));
        seed = Uint8Array.from(random(32));
        const ad = {
          party: self,
          cPk: cKeys.publicKey,
          sPk: sKeys.publicKey,
          commitB: commitSeed({ session, party: self, seed }),
        };
        const signature = attestation.sign(ADVERTISE_CONTEXT, advertisementStatement(session, ad));
        own = {
          kind: 'advertise',
          session,
          phase: 'advertise',
          cPk: ad.cPk,
          sPk: ad.sPk,
          commitB: ad.commitB,
          signature,
        };
        return own;
      }),

    // Async (Shamir's split is): a refusal to run at all rejects too, rather than throwing before the promise.
    shareKeys: (message) =>
      Promise.resolve().then(() =>
        phase('advertised', 'shareKeys', async () => {
          checkHeader(message, 'roster', 'share');
          const parties = message.advertisements.map((a) => a.party);
          checkSubset(parties, config.parties, 'the roster');
          const mine = message.advertisements.find((a) => a.party === self);
          if (mine === undefined) throw wrongRound(`${self} is not in the roster: it is no longer in the round`);
          const me = own as AdvertiseMessage;
          const isMine = (['cPk', 'sPk', 'commitB', 'signature'] as const).every((f) =>
            Buffer.from(mine[f]).equals(me[f]),
          );
          if (!isMine)
            throw new GatewayError('SECAGG_BAD_ATTESTATION', `the roster carries keys ${self} did not advertise`, {
              party: self,
            });
          roster = new Map(message.advertisements.map((a) => [a.party, a]));
          requireCount(roster.size);
          const seen = new Set<string>();
          for (const ad of message.advertisements) {
            if (ad.party !== self) {
              const statement = advertisementStatement(session, ad);
              if (!attestation.verify(ad.party, ADVERTISE_CONTEXT, statement, ad.signature))
                throw new GatewayError(
                  'SECAGG_BAD_ATTESTATION',
                  `the advertisement of ${ad.party} is not signed by the key registered for it (or it is not registered)`,
                  { party: ad.party },
                );
            }
            // A neighbour's key of small order is refused where it is used (pairKey); others this party never uses.
            for (const key of [ad.cPk, ad.sPk]) {
              const hex = Buffer.from(key).toString('hex');
              if (seen.has(hex)) throw badMessage('two advertised keys are equal', { party: ad.party });
              seen.add(hex);
            }
          }
          graph = neighbourGraph({ session, advertised: parties, neighbours: config.neighbours });
          const holders = graph.holdersOf(self);
          const [sShares, bShares] = await Promise.all([
            splitSecret((sKeys as KeyPair).privateKey, { holders, threshold }),
            splitSecret(seed as Uint8Array, { holders, threshold }),
          ]);
          const c = cKeys as KeyPair;
          const shares: SharesMessage['shares'] = [];
          for (const holder of holders) {
            const bundle = { s: sShares.get(holder) as Uint8Array, b: bShares.get(holder) as Uint8Array };
            // Its own shares never travel: the holder is this party.
            if (holder === self) {
              held.set(self, bundle);
              continue;
            }
            const peer = roster.get(holder) as Advertisement;
            const key = pairKey({
              privateKey: c.privateKey,
              peerPublic: peer.cPk,
              session,
              purpose: 'share-key',
              self,
              peer: holder,
            });
            const plain = new Uint8Array(2 * SHARE_BYTES);
            plain.set(bundle.s, 0);
            plain.set(bundle.b, SHARE_BYTES);
            shares.push({
              to: holder,
              ciphertext: sealShare(key, plain, { session, sender: self, receiver: holder, nonce: random(12) }),
            });
            plain.fill(0);
            key.fill(0);
          }
          return { kind: 'shares', session, phase: 'share', shares } satisfies SharesMessage;
        }),
      ),

    maskInput: (message) =>
      phase('shared', 'maskInput', () => {
        checkHeader(message, 'inbox', 'masked-input');
        checkSubset(message.shared, [...roster.keys()], 'U2');
        if (!message.shared.includes(self)) throw wrongRound(`${self} is not in U2: it is no longer in the round`);
        shared = [...message.shared].sort();
        requireCount(shared.length);
        const g = graph as NeighbourGraph;
        const alive = new Set(shared);
        const neighbours = g.neighboursOf(self).filter((v) => alive.has(v));
        // Its shares must be rebuildable, and its input must carry at least one pairwise mask.
        requireCount(neighbours.length + 1, `only ${neighbours.length + 1} holders of ${self}'s shares remain in U2`);
        const from = message.shares.map((s) => s.from);
        checkSubset(from, neighbours, 'the inbox');
        const missing = neighbours.find((v) => !from.includes(v));
        if (missing !== undefined) throw badMessage(`the inbox lacks the shares of ${missing}`, { party: missing });
        const c = cKeys as KeyPair;
        for (const { from: sender, ciphertext } of message.shares) {
          const key = pairKey({
            privateKey: c.privateKey,
            peerPublic: (roster.get(sender) as Advertisement).cPk,
            session,
            purpose: 'share-key',
            self,
            peer: sender,
          });
          const plain = openShare(key, ciphertext, { session, sender, receiver: self });
          key.fill(0);
          if (plain.length !== 2 * SHARE_BYTES)
            throw new GatewayError('SECAGG_BAD_SHARE', `the share bundle from ${sender} has the wrong length`, {
              party: sender,
              reason: 'bundle length',
            });
          held.set(sender, { s: plain.slice(0, SHARE_BYTES), b: plain.slice(SHARE_BYTES) });
        }
        // y = x + PRG(b) + Σ_{v > u} PRG(s_uv) − Σ_{v < u} PRG(s_uv): each pair's masks cancel in the sum.
        const { dimension, ring } = config;
        const y = input;
        addInPlace(y, expandMask(seed as Uint8Array, { session, purpose: 'self', dimension, ring }), ring);
        const s = sKeys as KeyPair;
        for (const v of neighbours) {
          const peerPublic = (roster.get(v) as Advertisement).sPk;
          const pairSeed = pairKey({
            privateKey: s.privateKey,
            peerPublic,
            session,
            purpose: 'mask-seed',
            self,
            peer: v,
          });
          const mask = expandMask(pairSeed, { session, purpose: 'pair', dimension, ring });
          pairSeed.fill(0);
          if (v > self) addInPlace(y, mask, ring);
          else subInPlace(y, mask, ring);
        }
        // The secrets are in the holders' shares now; this party has no further use for them.
        for (const secret of [seed, s.privateKey, c.privateKey]) secret?.fill(0);
        [seed, sKeys, cKeys] = [null, null, null];
        return { kind: 'masked-input', session, phase: 'masked-input', vector: y } satisfies MaskedInputMessage;
      }),

    signSurvivors: (message) =>
      phase('masked', 'signSurvivors', () => {
        checkHeader(message, 'survivors', 'consistency');
        checkSubset(message.survivors, shared, 'U3');
        if (!message.survivors.includes(self)) throw wrongRound(`${self} is not in U3: it is no longer in the round`);
        survivors = [...message.survivors].sort();
        requireCount(survivors.length);
        if (!(graph as NeighbourGraph).isConnectedWithin(survivors))
          throw tooFewParties({
            remaining: survivors.length,
            threshold,
            dropped: dropped(),
            reason: 'the survivors are no longer connected by pairwise masks, so parts of the sum would be revealed',
          });
        ownSurvivorsSignature = attestation.sign(SURVIVORS_CONTEXT, survivorsStatement(session, survivors));
        return { kind: 'consistency', session, phase: 'consistency', signature: ownSurvivorsSignature };
      }),

    unmask: (message) =>
      phase('signed', 'unmask', () => {
        checkHeader(message, 'unmask-request', 'unmask');
        const listed = message.signatures.map((s) => s.party);
        checkSubset(listed, survivors, 'U4');
        signers = listed;
        if (!signers.includes(self)) throw wrongRound(`${self} is not in U4: it is no longer in the round`);
        requireCount(signers.length);
        const statement = survivorsStatement(session, survivors);
        for (const { party, signature } of message.signatures) {
          const isSame =
            party === self
              ? Buffer.from(signature).equals(ownSurvivorsSignature as Uint8Array)
              : attestation.verify(party, SURVIVORS_CONTEXT, statement, signature);
          if (!isSame)
            throw new GatewayError(
              'SECAGG_EQUIVOCATION',
              `${party}'s consistency signature is not over the survivor set ${self} signed: the coordinator told ` +
                'parties different things',
              { party, reason: 'survivor sets differ' },
            );
        }
        const alive = new Set(survivors);
        const asked = new Map<string, 'b' | 's'>();
        for (const { party, secret } of message.asks) {
          const contradiction =
            asked.has(party) && asked.get(party) !== secret
              ? 'both of its shares are asked for'
              : secret === 'b' && !alive.has(party)
                ? 'its self-mask share is asked for, yet it is not in U3'
                : secret === 's' && alive.has(party)
                  ? 'its mask-key share is asked for, yet it is in U3'
                  : null;
          if (contradiction !== null)
            throw new GatewayError(
              'SECAGG_EQUIVOCATION',
              `refused to reveal a share of ${party}: ${contradiction}; revealing both would unmask its input`,
              { party, reason: contradiction },
            );
          if (!held.has(party))
            throw badMessage(`a share of ${party} is asked for, and this party holds none`, { party });
          asked.set(party, secret);
        }
        const shares = [...asked].map(([party, secret]) => {
          const bundle = held.get(party) as HeldShares;
          return { party, secret, share: Uint8Array.from(bundle[secret]) };
        });
        held.clear();
        return { kind: 'unmask', session, phase: 'unmask', shares } satisfies UnmaskMessage;
      }),
  };
}
