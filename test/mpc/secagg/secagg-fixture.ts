// Fixtures for the secure-aggregation core's tests: seeded randomness, one real Ed25519 identity per party behind the
// gateway's own attestation (mpc/peers/attestation.ts, never an always-true stub), and an in-process round driver
// that carries every message through the codec (encode → JSON meta → decode), as the job glue does, with parties
// dropping at a chosen phase.
import { createHash, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { createSigner } from '../../../consent/signer.ts';
import { createAttestation, type Attestation } from '../../../mpc/peers/attestation.ts';
import { quantize, type Quantization } from '../../../mpc/secagg/quantize.ts';
import type { RingVector } from '../../../mpc/secagg/ring.ts';
import { createSecAggClient, type SecAggClient } from '../../../mpc/secagg/secagg-client.ts';
import type { SecAggConfig } from '../../../mpc/secagg/secagg-config.ts';
import {
  decodeMessage,
  encodeMessage,
  type ClientMessage,
  type SecAggMessage,
  type ServerMessage,
} from '../../../mpc/secagg/secagg-messages.ts';
import { createSecAggServer, type SecAggResult, type SecAggServer } from '../../../mpc/secagg/secagg-server.ts';

/** Deterministic bytes: SHA-256(label ‖ counter) blocks. */
export function seededRandom(label: string): (bytes: number) => Uint8Array {
  let counter = 0;
  return (bytes) => {
    const out = new Uint8Array(bytes);
    for (let at = 0; at < bytes; at += 32) {
      const block = createHash('sha256').update(`${label}/${counter++}`).digest();
      out.set(block.subarray(0, Math.min(32, bytes - at)), at);
    }
    return out;
  };
}

/** Deterministic numbers in [0, 1). */
export function seededUniform(label: string): () => number {
  const random = seededRandom(label);
  return () => {
    const b = random(8);
    return (new DataView(b.buffer).getUint32(0) * 2 ** 21 + (new DataView(b.buffer).getUint32(4) >>> 11)) / 2 ** 53;
  };
}

const ED25519_PKCS8 = Buffer.from('302e020100300506032b657004220420', 'hex');

export type Identities = Map<string, { privateKey: KeyObject; publicKey: Uint8Array }>;

/** One Ed25519 key pair per party, derived from `label`. */
export function identities(parties: readonly string[], label = 'secagg-test'): Identities {
  return new Map(
    parties.map((party) => {
      const seed = createHash('sha256').update(`${label}/ed25519/${party}`).digest();
      const privateKey = createPrivateKey({ key: Buffer.concat([ED25519_PKCS8, seed]), format: 'der', type: 'pkcs8' });
      const jwk = createPublicKey(privateKey).export({ format: 'jwk' });
      return [party, { privateKey, publicKey: new Uint8Array(Buffer.from(jwk.x as string, 'base64url')) }];
    }),
  );
}

/** `self`'s attestation: signs with its key, verifies by the keys of every party (its registry, itself included). */
export function attestationOf(self: string, ids: Identities): Attestation {
  const own = ids.get(self);
  if (own === undefined) throw new Error(`no identity for ${self}`);
  return createAttestation(createSigner(own.privateKey), { activeKey: (peer) => ids.get(peer)?.publicKey ?? null });
}

/** A message as it crosses the wire: encoded, meta through JSON, decoded against `config`. */
export function overTheWire<M extends SecAggMessage>(message: M, config: SecAggConfig): M {
  const encoded = encodeMessage(message);
  const meta: unknown = JSON.parse(JSON.stringify(encoded.meta));
  return decodeMessage(
    encoded.kind,
    meta,
    encoded.blobs.map((b) => Uint8Array.from(b)),
    config,
  ) as M;
}

/** The client's move in phase `index` (0 = advertise … 4 = unmask) given the server's last message to it. */
export async function clientMove(
  client: SecAggClient,
  index: number,
  fromServer: ServerMessage | undefined,
): Promise<ClientMessage> {
  if (index === 0) return client.advertise();
  if (fromServer === undefined) throw new Error('the server sent this party nothing');
  switch (fromServer.kind) {
    case 'roster':
      return client.shareKeys(fromServer);
    case 'inbox':
      return client.maskInput(fromServer);
    case 'survivors':
      return client.signSurvivors(fromServer);
    case 'unmask-request':
      return client.unmask(fromServer);
  }
}

export type RoundSetup = {
  config: SecAggConfig;
  inputs: ReadonlyMap<string, RingVector>;
  /** Party → the phase index (0-4) whose message it never sends; parties not named stay to the end. */
  dropAt?: ReadonlyMap<string, number>;
  label?: string;
  ids?: Identities;
  /** Edits a client's message before the server sees it (hostile parties), or the server's before a client does. */
  tamper?: {
    toServer?: (party: string, message: ClientMessage) => ClientMessage;
    toClient?: (party: string, message: ServerMessage) => ServerMessage;
  };
};

export type Round = { server: SecAggServer; clients: Map<string, SecAggClient>; received: ClientMessage[][] };

export function startRound(setup: RoundSetup): Round {
  const ids = setup.ids ?? identities(setup.config.parties, setup.label);
  const server = createSecAggServer({ config: setup.config, attestation: attestationOf('server-ids', serverIds(ids)) });
  const clients = new Map(
    setup.config.parties.map((party) => [
      party,
      createSecAggClient({
        config: setup.config,
        self: party,
        input: setup.inputs.get(party) as RingVector,
        attestation: attestationOf(party, ids),
        random: seededRandom(`${setup.label ?? 'round'}/${party}`),
      }),
    ]),
  );
  return { server, clients, received: [[], [], [], [], []] };
}

/** The coordinator verifies with every party's key; it signs nothing, so its own key is a throwaway. */
function serverIds(ids: Identities): Identities {
  const all = new Map(ids);
  for (const [party, id] of identities(['server-ids'], 'secagg-server')) all.set(party, id);
  return all;
}

/** The server's messages that open the round: nothing yet, for every party. */
export const opening = (config: SecAggConfig): Map<string, ServerMessage | undefined> =>
  new Map(config.parties.map((p) => [p, undefined]));

/**
 * Phase `index` (0-4): each party still sent something makes its move over the wire, unless it drops here; the
 * server closes the phase. Resolves to what the server sends next; rejects with the first refusal.
 */
export async function runPhase(
  setup: RoundSetup,
  round: Round,
  index: number,
  outgoing: ReadonlyMap<string, ServerMessage | undefined>,
): Promise<Map<string, ServerMessage>> {
  for (const [party, fromServer] of outgoing) {
    if (setup.dropAt?.get(party) === index) continue;
    const tampered = fromServer === undefined ? undefined : (setup.tamper?.toClient?.(party, fromServer) ?? fromServer);
    const received = tampered === undefined ? undefined : overTheWire(tampered, setup.config);
    let message = await clientMove(round.clients.get(party) as SecAggClient, index, received);
    message = setup.tamper?.toServer?.(party, message) ?? message;
    const decoded = overTheWire(message, setup.config);
    round.received[index]?.push(decoded);
    round.server.receive(party, decoded);
  }
  return round.server.closePhase();
}

/** Runs all five phases (messages over the wire) and `finish`; rejects with the first refusal. */
export async function runRound(setup: RoundSetup, round: Round = startRound(setup)): Promise<SecAggResult> {
  let outgoing: ReadonlyMap<string, ServerMessage | undefined> = opening(setup.config);
  for (let index = 0; index < 5; index++) outgoing = await runPhase(setup, round, index, outgoing);
  return round.server.finish();
}

/** Quantized inputs, one per party, from seeded uniforms in [−spread, spread]. */
export function randomInputs(options: {
  parties: readonly string[];
  dimension: number;
  q: Quantization;
  spread: number;
  label: string;
}): { values: Map<string, Float64Array>; inputs: Map<string, RingVector> } {
  const uniform = seededUniform(options.label);
  const values = new Map(
    options.parties.map((p) => [
      p,
      Float64Array.from({ length: options.dimension }, () => (2 * uniform() - 1) * options.spread),
    ]),
  );
  return { values, inputs: new Map([...values].map(([p, v]) => [p, quantize(v, options.q)])) };
}

export const partyNames = (n: number): string[] =>
  Array.from({ length: n }, (_, i) => `party-${String(i).padStart(2, '0')}`);
