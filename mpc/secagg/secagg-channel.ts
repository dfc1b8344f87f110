// How secure-aggregation messages travel inside a job (docs/secagg.md, "As a job"): every message goes between the
// coordinator and one host, over the job's signed peer transport as framed messages; hosts never talk to each other,
// and what one host sends another (its seed shares) the coordinator carries sealed. At the coordinator each host has a
// mailbox of its own, so a host that sends a bad frame, falls silent or is dropped by the runtime loses only its own
// place in the round; a host has one mailbox, from the coordinator. Every wait has a deadline.
import { GatewayError, isGatewayError } from '../../core/errors.ts';
import { createMailbox, sendMessage, type FramedMessage, type Mailbox } from '../jobs/framed-messages.ts';
import type { StepContext } from '../jobs/protocol.ts';

export type ChannelLimits = {
  /** The largest message of the protocol, in payload bytes (a masked vector). */
  maxMessageBytes: number;
  /** The largest sequence number: the rounds of the job. */
  maxSeq: number;
  /** Kinds a host may send the coordinator, and kinds the coordinator may send a host. */
  fromHost: readonly string[];
  fromCoordinator: readonly string[];
};

type Context = Pick<StepContext, 'spec' | 'step' | 'signal' | 'send'>;

/** Why a host left the round, as the job's result names it. */
export type Departure = { party: string; code: string };

export type Outgoing = { kind: string; seq: number; meta: unknown; blobs: readonly Uint8Array[] };

export type CoordinatorChannel = {
  deliver(sender: string, frame: Uint8Array): Promise<{ isDuplicate: boolean }>;
  /**
   * The message `kind` #`seq` from `host`, or null once `host` has left the round or `by` (ms since the epoch) has
   * passed. Rejects only when the whole attempt ends.
   */
  take(host: string, kind: string, seq: number, by: number): Promise<FramedMessage | null>;
  /** Sends to `host`; a host that cannot be reached by `by` leaves the round. Returns the bytes sent, or 0. */
  send(host: string, message: Outgoing, by: number): Promise<number>;
  /** `host` leaves the round with `code` (its first reason is kept); its mailbox stops. */
  drop(host: string, code: string): void;
  isIn(host: string): boolean;
  readonly departures: readonly Departure[];
  readonly bytesIn: number;
  readonly bytesOut: number;
};

const rulesFor = (limits: ChannelLimits, kinds: readonly string[], from: (sender: string) => boolean) => ({
  accepts: (kind: string, sender: string) => from(sender) && kinds.includes(kind),
  maxMessageBytes: limits.maxMessageBytes,
  maxSeq: limits.maxSeq,
});

/** Resolves to null at `by`, or when `signal` aborts. */
function expiry(by: number, signal: AbortSignal): { promise: Promise<null>; clear(): void } {
  let timer: NodeJS.Timeout | undefined;
  let onAbort: () => void = () => undefined;
  const promise = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), Math.max(0, by - Date.now()));
    onAbort = () => resolve(null);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  return {
    promise,
    clear() {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    },
  };
}

export function createCoordinatorChannel(
  context: Context,
  hosts: readonly string[],
  limits: ChannelLimits,
): CoordinatorChannel {
  const mailboxes = new Map<string, { mailbox: Mailbox; left: AbortController }>();
  for (const host of hosts) {
    const left = new AbortController();
    const signal = AbortSignal.any([context.signal, left.signal]);
    const rules = rulesFor(limits, limits.fromHost, (sender) => sender === host);
    mailboxes.set(host, { mailbox: createMailbox({ ...context, signal }, rules), left });
  }
  const departures: Departure[] = [];
  let bytesOut = 0;

  const channel: CoordinatorChannel = {
    get departures() {
      return departures;
    },
    get bytesIn() {
      let total = 0;
      for (const { mailbox } of mailboxes.values()) total += mailbox.bytesIn;
      return total;
    },
    get bytesOut() {
      return bytesOut;
    },
    isIn: (host) => mailboxes.get(host)?.left.signal.aborted === false,
    drop(host, code) {
      const entry = mailboxes.get(host);
      if (entry === undefined || entry.left.signal.aborted) return;
      departures.push({ party: host, code });
      entry.left.abort(new GatewayError('CONFLICT', `party ${host} left the round`, { abort: 'failed' }));
    },
    async deliver(sender, frame) {
      const entry = mailboxes.get(sender);
      if (entry === undefined)
        throw new GatewayError('SECAGG_WRONG_ROUND', `party ${sender} is not a host of this round`, { peer: sender });
      if (entry.left.signal.aborted)
        throw new GatewayError('SECAGG_WRONG_ROUND', `party ${sender} has left this round`, { peer: sender });
      try {
        return await entry.mailbox.deliver(sender, frame);
      } catch (error) {
        // A bad frame costs its sender its place in the round, not the round itself.
        channel.drop(sender, isGatewayError(error) ? error.code : 'JOB_BAD_MESSAGE');
        throw error;
      }
    },
    async take(host, kind, seq, by) {
      const entry = mailboxes.get(host);
      if (entry === undefined || entry.left.signal.aborted) return null;
      context.signal.throwIfAborted();
      const timer = expiry(by, entry.left.signal);
      try {
        return await Promise.race([entry.mailbox.take(host, kind, seq).catch(() => null), timer.promise]);
      } finally {
        timer.clear();
        context.signal.throwIfAborted();
      }
    },
    async send(host, message, by) {
      if (!channel.isIn(host)) return 0;
      try {
        const sent = await sendMessage(context, host, message, { auditStep: `secagg.${message.kind}`, deadlineAt: by });
        bytesOut += sent;
        return sent;
      } catch (error) {
        context.signal.throwIfAborted();
        channel.drop(host, isGatewayError(error) ? error.code : 'PEER_UNAVAILABLE');
        return 0;
      }
    },
  };
  return channel;
}

export type HostChannel = {
  deliver(sender: string, frame: Uint8Array): Promise<{ isDuplicate: boolean }>;
  /** The coordinator's message `kind` #`seq`; PEER_TIMEOUT naming the coordinator once `by` has passed. */
  take(kind: string, seq: number, by: number): Promise<FramedMessage>;
  send(message: Outgoing, by: number): Promise<number>;
  readonly hasFailed: boolean;
  readonly bytesIn: number;
  readonly bytesOut: number;
};

export function createHostChannel(context: Context, coordinator: string, limits: ChannelLimits): HostChannel {
  const mailbox = createMailbox(
    context,
    rulesFor(limits, limits.fromCoordinator, (sender) => sender === coordinator),
  );
  let bytesOut = 0;
  return {
    deliver: (sender, frame) => mailbox.deliver(sender, frame),
    get hasFailed() {
      return mailbox.hasFailed;
    },
    get bytesIn() {
      return mailbox.bytesIn;
    },
    get bytesOut() {
      return bytesOut;
    },
    async take(kind, seq, by) {
      const timer = expiry(by, context.signal);
      try {
        const message = await Promise.race([mailbox.take(coordinator, kind, seq), timer.promise]);
        if (message !== null) return message;
        context.signal.throwIfAborted();
        throw new GatewayError(
          'PEER_TIMEOUT',
          `the coordinator ${coordinator} sent no ${kind} message in time: the round went on without this party, ` +
            'or the coordinator stopped',
          { peer: coordinator, kind },
        );
      } finally {
        timer.clear();
      }
    },
    async send(message, by) {
      const sent = await sendMessage(context, coordinator, message, {
        auditStep: `secagg.${message.kind}`,
        deadlineAt: by,
      });
      bytesOut += sent;
      return sent;
    },
  };
}

/** This party's side of a job's rounds, with the members of a protocol step that the runtime calls. */
export type RoundChannels = {
  /** The coordinator's per-host mailboxes, at the coordinator; null at a host. */
  coordinator: CoordinatorChannel | null;
  /** A host's mailbox from the coordinator; null at the coordinator. */
  host: HostChannel | null;
  deliver(sender: string, frame: Uint8Array): Promise<{ isDuplicate: boolean }>;
  readonly hasFailed: boolean;
  readonly bytesIn: number;
  readonly bytesOut: number;
  /** The runtime drops a host from the rounds (protocol.ts `hostDropped`). */
  hostDropped(party: string, code: string): void;
  /** The hosts the rounds went on without (protocol.ts `dropped`). */
  dropped(): readonly Departure[];
};

/** Opens this party's side: the job's guest coordinates, every other party is a host. */
export function openRoundChannels(
  context: Context & Pick<StepContext, 'self'>,
  coordinator: string,
  limits: ChannelLimits,
): RoundChannels {
  const hosts = context.spec.parties.map((p) => p.id).filter((id) => id !== coordinator);
  const atCoordinator = context.self === coordinator ? createCoordinatorChannel(context, hosts, limits) : null;
  const atHost = atCoordinator === null ? createHostChannel(context, coordinator, limits) : null;
  const either = (atCoordinator ?? atHost) as CoordinatorChannel | HostChannel;
  return {
    coordinator: atCoordinator,
    host: atHost,
    deliver: (sender, frame) => either.deliver(sender, frame),
    get hasFailed() {
      return atHost?.hasFailed ?? false;
    },
    get bytesIn() {
      return either.bytesIn;
    },
    get bytesOut() {
      return either.bytesOut;
    },
    hostDropped: (party, code) => atCoordinator?.drop(party, code),
    dropped: () => atCoordinator?.departures ?? [],
  };
}
