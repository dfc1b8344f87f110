// The coordinator of a secure-aggregation round (Bonawitz et al., CCS 2017, Fig. 4, the server's side; SecAgg+
// neighbours from Bell et al., CCS 2020). Pure: the job glue hands it each party's message (`receive`), decides when a
// phase has waited long enough (`closePhase`), and sends each party what `closePhase` returns; `finish` removes the
// masks. A party that sends nothing in a phase is dropped in that phase.
//
// What the coordinator learns: the sets U1 ⊇ U2 ⊇ U3 ⊇ U4 ⊇ U5 (who advertised, shared, sent a masked input,
// signed, answered), the masked vectors (each uniformly random on its own), and the sum over U3. The secrets it
// rebuilds are the self-mask seeds b of U3 (their inputs stay hidden by the pairwise masks among U3, which the graph's
// connectivity guarantees) and the mask keys s_sk of U2∖U3 (whose masked inputs it never accepted). Every rebuilt
// secret is checked against what its owner signed before any mask is removed; a failed check throws, and no sum is
// ever computed from unchecked secrets. docs/secagg.md has the full leakage table.
//
// A message refused by `receive` (another round, a bad signature, an equivocation) changes nothing: the round goes
// on without it, and its sender drops at the close unless it sends a valid one. A refusal of `closePhase` or `finish`
// ends the server: every later call throws it again.
import { GatewayError } from '../../core/errors.ts';
import type { Attestation } from '../peers/attestation.ts';
import { checkPublicKey, pairKey } from './key-agreement.ts';
import { expandMask } from './mask-prg.ts';
import { neighbourGraph, type NeighbourGraph } from './neighbours.ts';
import { addInPlace, lanesPerElement, subInPlace, zeroVector, type RingVector } from './ring.ts';
import {
  checkSecAggConfig,
  SECAGG_PHASES,
  tooFewParties,
  type Dropped,
  type SecAggConfig,
  type SecAggPhase,
} from './secagg-config.ts';
import {
  ADVERTISE_CONTEXT,
  advertisementStatement,
  BUNDLE_BYTES,
  CLIENT_KIND_OF_PHASE,
  isSameMessage,
  SURVIVORS_CONTEXT,
  survivorsStatement,
  type Advertisement,
  type AdvertiseMessage,
  type ClientMessage,
  type ConsistencyMessage,
  type MaskedInputMessage,
  type SecAggMessage,
  type SecretKind,
  type ServerMessage,
  type SharesMessage,
  type UnmaskMessage,
} from './secagg-messages.ts';
import { rebuildMaskKey, rebuildSeed, SHARE_BYTES } from './seed-shares.ts';

export type SecAggResult = {
  /** Σ_{u ∈ U3} x_u in the ring. */
  sum: RingVector;
  /** U3, sorted: the parties whose inputs the sum contains. */
  contributors: string[];
  dropped: Dropped[];
};

export type SecAggServer = {
  readonly phase: SecAggPhase | 'finished';
  /** `message` as decoded (decodeMessage); a coordinator's kind is refused with JOB_BAD_MESSAGE. */
  receive(from: string, message: SecAggMessage): { isDuplicate: boolean };
  /** The parties of the current phase that have not sent its message yet, sorted. */
  waitingFor(): string[];
  /** Ends the current phase with what arrived; what to send to each party still in the round. */
  closePhase(): Map<string, ServerMessage>;
  finish(): Promise<SecAggResult>;
};

const wrongRound = (message: string, detail: Record<string, unknown>) =>
  new GatewayError('SECAGG_WRONG_ROUND', message, detail);
const badMessage = (reason: string, detail: Record<string, unknown>) =>
  new GatewayError('JOB_BAD_MESSAGE', `secure-aggregation message refused: ${reason}`, { reason, ...detail });
const badShare = (party: string, reason: string) =>
  new GatewayError('SECAGG_BAD_SHARE', `the shares of ${party} are refused: ${reason}`, { party, reason });
const sameSet = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && [...a].sort().every((x, i) => x === [...b].sort()[i]);

export function createSecAggServer(options: { config: SecAggConfig; attestation: Attestation }): SecAggServer {
  const config = checkSecAggConfig(options.config);
  const { attestation } = options;
  const { session, threshold, dimension, ring } = config;

  let current = 0; // index into SECAGG_PHASES; SECAGG_PHASES.length once finished
  let failure: unknown = null;
  let result: Promise<SecAggResult> | null = null;
  const received = SECAGG_PHASES.map(() => new Map<string, ClientMessage>());
  const got = (index: number) => received[index] as Map<string, ClientMessage>;
  /** Who may send in each phase: all parties, then U1, U2, U3, U4. */
  const members: (readonly string[])[] = [config.parties];
  const dropped: Dropped[] = [];
  let graph: NeighbourGraph | null = null;
  const ads = new Map<string, Advertisement>();
  const asks = new Map<string, Map<string, SecretKind>>();

  const phaseName = () => (current < SECAGG_PHASES.length ? (SECAGG_PHASES[current] as SecAggPhase) : 'finished');
  const setOf = (index: number): readonly string[] => members[index] ?? [];
  const survivorsOf = (index: number) => [...got(index).keys()].sort();
  const failWith = (error: unknown): never => {
    failure = error;
    throw error;
  };

  /** The validation one phase's message needs beyond its shape; throws the refusal's code. */
  function check(from: string, message: ClientMessage): void {
    switch (message.kind) {
      case 'advertise': {
        for (const [field, bytes] of [
          ['cPk', 32],
          ['sPk', 32],
          ['commitB', 32],
          ['signature', 64],
        ] as const)
          if (message[field].length !== bytes) throw badMessage(`${field} is not ${bytes} bytes`, { party: from });
        const statement = advertisementStatement(session, { party: from, ...message });
        if (!attestation.verify(from, ADVERTISE_CONTEXT, statement, message.signature))
          throw new GatewayError(
            'SECAGG_BAD_ATTESTATION',
            `the advertisement of ${from} is not signed by the key registered for it (or it is not registered)`,
            { party: from },
          );
        checkPublicKey(message.cPk, from);
        checkPublicKey(message.sPk, from);
        const others = [...got(0).values()] as AdvertiseMessage[];
        const keys = [message.cPk, ...others.flatMap((a) => [a.cPk, a.sPk])].map((k) => Buffer.from(k));
        if (keys.some((k) => k.equals(message.sPk)) || keys.slice(1).some((k) => k.equals(message.cPk)))
          throw badMessage('an advertised key repeats another', { party: from });
        return;
      }
      case 'shares': {
        const expected = (graph as NeighbourGraph).holdersOf(from).filter((h) => h !== from);
        const to = message.shares.map((s) => s.to);
        if (!sameSet(to, expected) || new Set(to).size !== to.length)
          throw badShare(from, `shares must go to exactly its ${expected.length} other holders`);
        if (message.shares.some((s) => s.ciphertext.length !== BUNDLE_BYTES))
          throw badShare(from, `a share bundle is not ${BUNDLE_BYTES} bytes`);
        return;
      }
      case 'masked-input':
        if (message.vector.length !== dimension * lanesPerElement(ring))
          throw new GatewayError('SECAGG_BAD_VECTOR', `the masked vector of ${from} has the wrong length`, {
            party: from,
            lanes: message.vector.length,
            expected: dimension * lanesPerElement(ring),
          });
        return;
      case 'consistency': {
        const statement = survivorsStatement(session, setOf(3));
        if (!attestation.verify(from, SURVIVORS_CONTEXT, statement, message.signature))
          throw new GatewayError(
            'SECAGG_BAD_ATTESTATION',
            `the consistency signature of ${from} is not over the survivor set it was sent`,
            { party: from },
          );
        return;
      }
      case 'unmask': {
        const wanted = asks.get(from) ?? new Map<string, SecretKind>();
        const answered = new Map(message.shares.map((s) => [s.party, s.secret]));
        const isExact =
          answered.size === message.shares.length &&
          answered.size === wanted.size &&
          [...wanted].every(([party, secret]) => answered.get(party) === secret);
        if (!isExact) throw badMessage('the unmasking shares are not exactly the ones asked for', { party: from });
        const short = message.shares.find((s) => s.share.length !== SHARE_BYTES);
        if (short !== undefined) throw badShare(short.party, `a share from ${from} is not ${SHARE_BYTES} bytes`);
        return;
      }
    }
  }

  /** Fails the round unless `live` has t parties and every secret that may be needed has t holders among them. */
  function requireEnough(live: readonly string[], owners: readonly string[]): void {
    if (live.length < threshold) failWith(tooFewParties({ remaining: live.length, threshold, dropped }));
    if (graph === null) return;
    const alive = new Set(live);
    const short = owners.filter(
      (w) => (graph as NeighbourGraph).holdersOf(w).filter((h) => alive.has(h)).length < threshold,
    );
    if (short.length > 0)
      failWith(
        tooFewParties({
          remaining: live.length,
          threshold,
          dropped,
          reason: `the secrets of ${short.join(', ')} have fewer than ${threshold} holders left`,
        }),
      );
  }

  function close(): Map<string, ServerMessage> {
    const phase = SECAGG_PHASES[current] as SecAggPhase;
    const live = survivorsOf(current);
    for (const party of setOf(current)) if (!live.includes(party)) dropped.push({ party, phase });
    const out = new Map<string, ServerMessage>();
    switch (phase) {
      case 'advertise': {
        requireEnough(live, []);
        for (const party of live) {
          const { cPk, sPk, commitB, signature } = got(0).get(party) as AdvertiseMessage;
          ads.set(party, { party, cPk, sPk, commitB, signature });
        }
        graph = neighbourGraph({ session, advertised: live, neighbours: config.neighbours });
        const advertisements = live.map((party) => ads.get(party) as Advertisement);
        for (const party of live) out.set(party, { kind: 'roster', session, phase: 'share', advertisements });
        break;
      }
      case 'share': {
        requireEnough(live, live);
        const bundles = live.flatMap((from) =>
          (got(1).get(from) as SharesMessage).shares.map((s) => ({ from, to: s.to, ciphertext: s.ciphertext })),
        );
        for (const party of live) {
          const shares = bundles.filter((b) => b.to === party).map(({ from, ciphertext }) => ({ from, ciphertext }));
          out.set(party, { kind: 'inbox', session, phase: 'masked-input', shared: live, shares });
        }
        break;
      }
      case 'masked-input': {
        requireEnough(live, setOf(2));
        if (!(graph as NeighbourGraph).isConnectedWithin(live))
          failWith(
            tooFewParties({
              remaining: live.length,
              threshold,
              dropped,
              reason: 'the survivors are no longer connected by pairwise masks, so parts of the sum would be revealed',
            }),
          );
        for (const party of live) out.set(party, { kind: 'survivors', session, phase: 'consistency', survivors: live });
        break;
      }
      case 'consistency': {
        requireEnough(live, setOf(2));
        const alive = new Set(setOf(3));
        const shared = new Set(setOf(2));
        const signatures = live.map((party) => ({
          party,
          signature: (got(3).get(party) as ConsistencyMessage).signature,
        }));
        for (const party of live) {
          const wanted = new Map<string, SecretKind>();
          for (const w of (graph as NeighbourGraph).holdersOf(party))
            if (shared.has(w)) wanted.set(w, alive.has(w) ? 'b' : 's');
          asks.set(party, wanted);
          const list = [...wanted].map(([p, secret]) => ({ party: p, secret }));
          out.set(party, { kind: 'unmask-request', session, phase: 'unmask', signatures, asks: list });
        }
        break;
      }
      case 'unmask':
        requireEnough(live, setOf(2));
        break;
    }
    members.push(live);
    current++;
    return out;
  }

  async function unmaskSum(): Promise<SecAggResult> {
    const [shared, survivors, answered] = [setOf(2), setOf(3), survivorsOf(4)];
    const alive = new Set(survivors);
    const sharesOf = (owner: string) =>
      answered.flatMap((holder) =>
        (got(4).get(holder) as UnmaskMessage).shares.filter((s) => s.party === owner).map((s) => s.share),
      );
    // Every secret is rebuilt and checked before any of them touches the sum.
    const seeds = new Map<string, Uint8Array>();
    const keys = new Map<string, Uint8Array>();
    for (const owner of shared) {
      const ad = ads.get(owner) as Advertisement;
      const shares = sharesOf(owner);
      if (alive.has(owner))
        seeds.set(owner, await rebuildSeed({ shares, threshold, session, owner, commitment: ad.commitB }));
      else keys.set(owner, await rebuildMaskKey({ shares, threshold, owner, publicKey: ad.sPk }));
    }
    const sum = zeroVector(dimension, ring);
    for (const u of survivors) addInPlace(sum, (got(2).get(u) as MaskedInputMessage).vector, ring);
    for (const seed of seeds.values()) {
      subInPlace(sum, expandMask(seed, { session, purpose: 'self', dimension, ring }), ring);
      seed.fill(0);
    }
    // A party v of U2∖U3 sent no masked input, but each neighbour u in U3 added +PRG(s_uv) if v > u, −PRG(s_uv) if
    // v < u: take those terms back out.
    for (const [v, privateKey] of keys) {
      for (const u of (graph as NeighbourGraph).neighboursOf(v)) {
        if (!alive.has(u)) continue;
        const peerPublic = (ads.get(u) as Advertisement).sPk;
        const seed = pairKey({ privateKey, peerPublic, session, purpose: 'mask-seed', self: v, peer: u });
        const mask = expandMask(seed, { session, purpose: 'pair', dimension, ring });
        if (v > u) subInPlace(sum, mask, ring);
        else addInPlace(sum, mask, ring);
      }
      privateKey.fill(0);
    }
    return { sum, contributors: [...survivors], dropped: [...dropped] };
  }

  return {
    get phase() {
      return phaseName();
    },
    receive(from, message) {
      if (failure !== null) throw failure;
      if (!config.parties.includes(from)) throw wrongRound(`${from} is not a party of this round`, { party: from });
      if (message.session !== session)
        throw wrongRound(`a message of another session from ${from}`, { party: from, kind: message.kind });
      const index = SECAGG_PHASES.indexOf(message.phase);
      if (index < 0 || message.kind !== CLIENT_KIND_OF_PHASE[message.phase])
        throw badMessage('the kind does not match the phase', { party: from, kind: String(message.kind).slice(0, 32) });
      const earlier = received[index]?.get(from);
      if (index !== current) {
        // A retried message of a closed phase is harmless; anything else of another phase is refused.
        if (index < current && earlier !== undefined && isSameMessage(earlier, message)) return { isDuplicate: true };
        throw wrongRound(`${from} sent a ${message.phase} message while the round is at ${phaseName()}`, {
          party: from,
          phase: message.phase,
          current: phaseName(),
        });
      }
      if (!setOf(current).includes(from))
        throw wrongRound(`${from} is no longer in the round (it dropped in an earlier phase)`, { party: from });
      if (earlier !== undefined) {
        if (isSameMessage(earlier, message)) return { isDuplicate: true };
        throw new GatewayError('SECAGG_EQUIVOCATION', `${from} sent a second, different ${message.phase} message`, {
          party: from,
          phase: message.phase,
        });
      }
      check(from, message);
      got(current).set(from, message);
      return { isDuplicate: false };
    },
    waitingFor() {
      if (failure !== null || current >= SECAGG_PHASES.length) return [];
      return setOf(current).filter((party) => !got(current).has(party));
    },
    closePhase() {
      if (failure !== null) throw failure;
      if (current >= SECAGG_PHASES.length)
        throw wrongRound('the round has no phase left to close', { current: phaseName() });
      return close();
    },
    finish() {
      if (failure !== null) return Promise.reject(failure);
      if (current < SECAGG_PHASES.length)
        return Promise.reject(wrongRound(`the round cannot finish at ${phaseName()}`, { current: phaseName() }));
      result ??= unmaskSum().catch((error: unknown) => failWith(error));
      return result;
    },
  };
}
