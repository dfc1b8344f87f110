// One secure-aggregation round as a job runs it (docs/secagg.md, "As a job"): the coordinator drives the server of the
// pure core (secagg-server.ts) and its own client, and carries each phase's messages between the hosts' clients; a
// host drives its client. Every phase has a deadline: the coordinator waits for each host's message of a phase until
// `phaseMs` has passed, then closes the phase with whoever answered, and the round goes on without the rest while at
// least `threshold` parties remain (the core decides, and names who dropped in which phase when too few do).
import { GatewayError, isGatewayError } from '../../core/errors.ts';
import type { Attestation } from '../peers/attestation.ts';
import type { RingVector } from './ring.ts';
import type { CoordinatorChannel, HostChannel } from './secagg-channel.ts';
import { createSecAggClient } from './secagg-client.ts';
import type { SecAggConfig, SecAggPhase } from './secagg-config.ts';
import { decodeMessage, encodeMessage } from './secagg-messages.ts';
import { createSecAggServer } from './secagg-server.ts';

/** What a client sends in each phase, in order, and what the server answers with before the next. */
export const CLIENT_KINDS = ['advertise', 'shares', 'masked-input', 'consistency', 'unmask'] as const;
export const SERVER_KINDS = ['roster', 'inbox', 'survivors', 'unmask-request'] as const;

export type RoundDeparture = { party: string; phase: SecAggPhase | 'start'; code: string };

export type RoundResult = {
  sum: RingVector;
  /** The parties whose vectors are in the sum (the coordinator among them), sorted. */
  contributors: string[];
  /** Who the round went on without, the phase they dropped in and why. */
  dropped: RoundDeparture[];
  /** Milliseconds each phase took at the coordinator. */
  phaseMs: Record<string, number>;
};

export type CoordinatorRound = {
  channel: CoordinatorChannel;
  config: SecAggConfig;
  self: string;
  attestation: Attestation;
  /** The coordinator's own vector: it is a party of the round like any other. */
  own: RingVector;
  phaseMs: number;
  round: number;
  signal: AbortSignal;
};

/** A message of the core, as the pure codec types it. */
type CoreMessage = Parameters<typeof encodeMessage>[0];

export async function aggregateAsCoordinator(options: CoordinatorRound): Promise<RoundResult> {
  const { channel, config, self, attestation, own, phaseMs, round, signal } = options;
  const server = createSecAggServer({ config, attestation });
  const client = createSecAggClient({ config, self, input: own, attestation });
  const hosts = config.parties.filter((p) => p !== self);
  const timings: Record<string, number> = {};
  const reasons = new Map<string, string>();
  let toSelf: CoreMessage | null = null;

  for (const [phase, kind] of CLIENT_KINDS.entries()) {
    const started = Date.now();
    const by = started + phaseMs;
    const ownMessage = await clientStep(client, phase, toSelf);
    server.receive(self, ownMessage);
    await Promise.all(
      server.waitingFor().map(async (host) => {
        const framed = await channel.take(host, kind, round, by);
        if (framed === null) return;
        try {
          server.receive(host, decodeMessage(kind, framed.meta, framed.blobs, config));
        } catch (error) {
          // A refused message leaves its sender out of the round; the rest go on (docs/secagg.md).
          if (!isGatewayError(error)) throw error;
          reasons.set(host, error.code);
          channel.drop(host, error.code);
        }
      }),
    );
    signal.throwIfAborted();
    const outgoing = server.closePhase();
    timings[kind] = Date.now() - started;
    if (phase === CLIENT_KINDS.length - 1) break;
    toSelf = outgoing.get(self) ?? null;
    // A host the phase closed without is out of the round: it is not waited for again.
    for (const host of hosts) if (!outgoing.has(host)) channel.drop(host, reasons.get(host) ?? 'PEER_TIMEOUT');
    const sendBy = Date.now() + phaseMs;
    await Promise.all(
      [...outgoing].map(async ([party, message]) => {
        if (party === self) return;
        const encoded = encodeMessage(message);
        await channel.send(party, { ...encoded, seq: round }, sendBy);
      }),
    );
  }
  const result = await server.finish();
  for (const d of channel.departures) if (!reasons.has(d.party)) reasons.set(d.party, d.code);
  const dropped = result.dropped.map((d) => ({ ...d, code: reasons.get(d.party) ?? 'PEER_TIMEOUT' }));
  // Those who left in the last phase too: the channel then lists everyone the rounds went on without.
  for (const d of dropped) channel.drop(d.party, d.code);
  return { sum: result.sum, contributors: result.contributors, dropped, phaseMs: timings };
}

/** The client's move in `phase`, given what the server sent it after the phase before. */
async function clientStep(
  client: ReturnType<typeof createSecAggClient>,
  phase: number,
  fromServer: CoreMessage | null,
): Promise<CoreMessage> {
  if (phase === 0) return client.advertise();
  if (fromServer === null)
    throw new GatewayError('INTERNAL', 'the secure-aggregation server left its own client out of the round');
  // The codec's union is narrowed by the client's own checks: each step refuses a message of the wrong phase.
  const message = fromServer as never;
  if (phase === 1) return client.shareKeys(message);
  if (phase === 2) return client.maskInput(message);
  if (phase === 3) return client.signSurvivors(message);
  return client.unmask(message);
}

export type HostRound = {
  channel: HostChannel;
  config: SecAggConfig;
  self: string;
  attestation: Attestation;
  input: RingVector;
  phaseMs: number;
  round: number;
};

/**
 * A host's part in one round: its client answers each of the coordinator's messages. The coordinator closes a phase
 * at most `phaseMs` after the host's message, so a wait of twice that is over only when the round went on without
 * this host or the coordinator stopped (PEER_TIMEOUT naming the coordinator).
 */
export async function contributeAsHost(options: HostRound): Promise<{ bytesOut: number }> {
  const { channel, config, self, attestation, input, phaseMs, round } = options;
  const client = createSecAggClient({ config, self, input, attestation });
  let bytesOut = 0;
  let fromServer: CoreMessage | null = null;
  for (const phase of CLIENT_KINDS.keys()) {
    const message = await clientStep(client, phase, fromServer);
    bytesOut += await channel.send({ ...encodeMessage(message), seq: round }, Date.now() + phaseMs);
    const next = SERVER_KINDS[phase];
    if (next === undefined) break;
    const framed = await channel.take(next, round, Date.now() + 2 * phaseMs);
    fromServer = decodeMessage(next, framed.meta, framed.blobs, config);
  }
  return { bytesOut };
}
