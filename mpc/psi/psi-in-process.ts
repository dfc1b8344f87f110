// Runs a PSI session with every party in this process, wiring each party's outgoing messages straight into the
// recipient's receive(): the reference transport for tests and the core benchmark. Each message is framed and
// parsed as on the wire (psi-message.ts) unless `isFramed` is false.
import { GatewayError } from '../../core/errors.ts';
import { decodePsiMessage, encodePsiMessage, type PsiMessage } from './psi-message.ts';
import type { PsiParty, PsiResult } from './psi-session.ts';

export type InProcessParticipant = { party: PsiParty; ids: AsyncIterable<string> | Iterable<string> };
export type InProcessOptions = { isFramed?: boolean; observe?: (message: PsiMessage) => void };

/** Starts every party, delivers all messages, and returns each party's result by party id. */
export async function runPsiInProcess(
  participants: readonly InProcessParticipant[],
  options: InProcessOptions = {},
): Promise<Map<string, PsiResult>> {
  const isFramed = options.isFramed ?? true;
  const byId = new Map(participants.map((p) => [p.party.self, p.party]));
  const deliver = async (messages: PsiMessage[]): Promise<void> => {
    const receipts: Promise<void>[] = [];
    // receive() checks a bucket's order synchronously, so calling it in array order keeps buckets in order while
    // their multiplications overlap on the pool. Each message is let go once handed over, as a transport would.
    for (let sent = messages.shift(); sent !== undefined; sent = messages.shift()) {
      options.observe?.(sent);
      const message = isFramed ? decodePsiMessage(encodePsiMessage(sent)) : sent;
      const recipient = byId.get(message.header.to);
      if (recipient === undefined)
        throw new GatewayError('INTERNAL', 'PSI message for a party that is not in this run', {
          to: message.header.to,
        });
      receipts.push(recipient.receive(message).then(deliver));
    }
    await Promise.all(receipts);
  };
  await Promise.all(participants.map(({ party, ids }) => party.start(ids).then(deliver)));
  const stalled = participants.filter((p) => !p.party.isDone).map((p) => p.party.self);
  if (stalled.length > 0)
    throw new GatewayError('INTERNAL', 'PSI run ended with parties still waiting', { parties: stalled });
  return new Map(participants.map((p) => [p.party.self, p.party.result()]));
}

/** The two-party case: the initiator's and the responder's results. */
export async function runTwoPartyPsiInProcess(
  initiator: InProcessParticipant,
  responder: InProcessParticipant,
  options: InProcessOptions = {},
): Promise<{ initiator: PsiResult; responder: PsiResult }> {
  const results = await runPsiInProcess([initiator, responder], options);
  return {
    initiator: results.get(initiator.party.self) as PsiResult,
    responder: results.get(responder.party.self) as PsiResult,
  };
}
