// Checks a status proof (consent/status-proof.ts) the way the receipt verifier checks a receipt: the gateway's
// signature, the last event's own hash and signature, its path to the status root, the anchor that commits to that
// root, and who held which key when. Then it says what the proof shows: "in force as of block N" or "withdrawn at
// event E", and whether the batch is still the gateway's latest or an older one (docs/receipts.md, "Status proofs").
import { verifyEvent } from './event.ts';
import type { OnChainAnchor } from './ledger-port.ts';
import {
  checkBlockTime,
  checkIdentity,
  chainCall,
  describeChainError,
  type ChainReader,
  type VerifyOptions,
} from './receipt-verifier.ts';
import { keyIdOf, verifySignature } from './signer.ts';
import { StatusProofDocument, statusProofSigningBytes } from './status-proof.ts';
import { statusValueHash, verifyStatusInclusion } from './status-tree.ts';

export const STATUS_CHECK_NAMES = [
  'proof-format',
  'proof-signature',
  'last-event',
  'status-path',
  'on-chain-root',
  'block-time',
  'anchoring-account',
  'anchoring-key',
  'revocation',
  'freshness',
] as const;
export type StatusCheckName = (typeof STATUS_CHECK_NAMES)[number];
export type StatusCheck = { name: StatusCheckName; ok: boolean; detail: string };

/** What a record's last event means for it. */
export type RecordStatus = 'in-force' | 'withdrawn' | 'revoked' | 'superseded' | 'expired';

export type StatusVerdict = {
  recordId: string;
  status: RecordStatus;
  /** The last event: the grant (or renewal) still in force, or the event that ended it. */
  event: { seq: number; eventId: string; type: string; at: string };
  asOfBlock: number;
  asOfTime: string;
  /** True when the proof's batch is the gateway's newest anchored batch when checked. */
  isLatest: boolean;
  /** The gateway's newest root when the proof's is older; null when it is the newest or it could not be read. */
  latestRoot: string | null;
  /** One line: "in force as of block N", "withdrawn at event E (seq S)", plus "(older batch …)" when it is. */
  summary: string;
};

export type StatusVerification = {
  ok: boolean;
  checks: StatusCheck[];
  failure: StatusCheck | null;
  /** Present when every check passed. */
  verdict: StatusVerdict | null;
};

const fromHex = (h: string): Buffer => Buffer.from(h.replace(/^0x/, ''), 'hex');

/** An expiry the last event carries: a grant's record.expiresAt or a renewal's new expiresAt. */
function expiryOf(payload: unknown): string | null {
  if (typeof payload !== 'object' || payload === null) return null;
  const value = (payload as { expiresAt?: unknown }).expiresAt;
  return typeof value === 'string' ? value : null;
}

function statusOf(type: string, payload: unknown, blockTime: number): RecordStatus {
  switch (type) {
    case 'withdraw':
      return 'withdrawn';
    case 'revoke':
    case 'revoke-delegation':
      return 'revoked';
    case 'supersede':
      return 'superseded';
    case 'expire':
      return 'expired';
    default: {
      // grant, renew, delegate: in force unless the expiry it names had passed by the anchoring block.
      const expiresAt = expiryOf(payload);
      return expiresAt !== null && Date.parse(expiresAt) <= blockTime * 1000 ? 'expired' : 'in-force';
    }
  }
}

/** Runs every check; never throws. A chain that cannot be read fails the chain checks with the reason. */
export async function verifyStatusProof(
  input: unknown,
  reader: ChainReader | null,
  options: VerifyOptions = {},
): Promise<StatusVerification> {
  const checks: StatusCheck[] = [];
  let verdict: StatusVerdict | null = null;
  const done = (): StatusVerification => {
    const failure = checks.find((c) => !c.ok) ?? null;
    return { ok: failure === null, checks, failure, verdict: failure === null ? verdict : null };
  };
  const parsed = StatusProofDocument.safeParse(input);
  if (!parsed.success) {
    const paths = [...new Set(parsed.error.issues.map((i) => (i.path.length > 0 ? i.path.join('.') : '(root)')))];
    checks.push({ name: 'proof-format', ok: false, detail: `not a status proof: bad ${paths.slice(0, 8).join(', ')}` });
    return done();
  }
  const doc = parsed.data;
  checks.push({ name: 'proof-format', ok: true, detail: `version ${doc.version}, record ${doc.recordId}` });

  const publicKey = fromHex(doc.gateway.publicKey);
  const isSigned =
    keyIdOf(publicKey) === doc.gateway.keyId &&
    verifySignature(publicKey, statusProofSigningBytes(doc), fromHex(doc.signature));
  checks.push({
    name: 'proof-signature',
    ok: isSigned,
    detail: isSigned
      ? `signed by ${doc.gateway.partyId} (key ${doc.gateway.keyId})`
      : 'the Ed25519 signature over the status proof does not verify, or keyId does not match the key',
  });

  const { event, value } = doc;
  const eventKey = fromHex(doc.eventKey);
  const eventProblem =
    value.recordId !== doc.recordId
      ? 'the leaf is for another record'
      : event.recordId !== doc.recordId || event.seq !== value.lastEventSeq || event.type !== value.lastEventType
        ? 'the event is not the one the leaf names'
        : event.hash !== value.lastEventHash || event.kind !== value.kind
          ? 'the event carries another hash or kind than the leaf'
          : keyIdOf(eventKey) !== event.keyId
            ? "the event's keyId does not name the event key the proof gives"
            : verifyEvent(event, eventKey) !== null
              ? "the event's hash or its Ed25519 signature does not verify"
              : null;
  checks.push(
    eventProblem === null
      ? { name: 'last-event', ok: true, detail: `event ${event.eventId} (${event.type}, seq ${event.seq}) is intact` }
      : { name: 'last-event', ok: false, detail: eventProblem },
  );

  const isOnPath = verifyStatusInclusion(fromHex(doc.anchor.stateRoot), value, doc.proof);
  checks.push({
    name: 'status-path',
    ok: isOnPath,
    detail: isOnPath
      ? `the ${doc.proof.siblings.length}-step path links leaf ${statusValueHash(value).slice(0, 16)}… to status root ${doc.anchor.stateRoot}`
      : 'the path does not link the leaf to the status root',
  });

  const chainNames = ['on-chain-root', 'block-time', 'anchoring-account', 'anchoring-key', 'revocation', 'freshness'];
  if (reader === null) {
    for (const name of chainNames)
      checks.push({ name: name as StatusCheckName, ok: false, detail: 'no chain to check against' });
    return done();
  }
  const read = chainCall(options);
  let anchored: OnChainAnchor | null = null;
  let why = 'no anchor on chain to check';
  try {
    anchored = await read.call('getAnchor', () => reader.getAnchor(doc.anchor.root));
    const tx = anchored === null ? null : await read.call('findAnchorTx', () => reader.findAnchorTx(doc.anchor.root));
    const problem =
      anchored === null
        ? `root ${doc.anchor.root} is not anchored in contract ${doc.anchor.contract} on chain ${doc.anchor.chainId}`
        : tx === null
          ? 'the root is stored but its Anchored event was not found'
          : tx.txHash !== doc.anchor.txHash.toLowerCase()
            ? `the root was anchored in transaction ${tx.txHash}, not ${doc.anchor.txHash}`
            : tx.stateRoot !== doc.anchor.stateRoot
              ? `the anchor commits to status root ${tx.stateRoot}, the proof says ${doc.anchor.stateRoot}`
              : anchored.keyId !== doc.anchor.keyId
                ? `the anchor names key ${anchored.keyId}, the proof says ${doc.anchor.keyId}`
                : null;
    checks.push(
      problem === null
        ? {
            name: 'on-chain-root',
            ok: true,
            detail: `batch ${doc.anchor.root} and its status root are anchored at block ${anchored!.blockNumber}`,
          }
        : { name: 'on-chain-root', ok: false, detail: problem },
    );
    if (problem !== null) anchored = null;
  } catch (error) {
    why = 'not checked: the anchor could not be read';
    checks.push({ name: 'on-chain-root', ok: false, detail: describeChainError(error) });
  }
  if (anchored === null) {
    for (const name of chainNames.slice(1)) checks.push({ name: name as StatusCheckName, ok: false, detail: why });
    return done();
  }
  // The shared checks carry names both verifiers list.
  checks.push((await checkBlockTime(read, reader, anchored, doc.anchor)) as StatusCheck);
  const identity = await checkIdentity(read, reader, anchored, {
    gateway: doc.gateway,
    record: { eventKey: doc.eventKey },
  });
  checks.push(...(identity as StatusCheck[]));

  let latestRoot: string | null = null;
  try {
    const newest = await read.call('lastRootOf', () => reader.lastRootOf(doc.gateway.partyId));
    latestRoot = newest === doc.anchor.root ? null : newest;
    checks.push({
      name: 'freshness',
      ok: true,
      detail:
        latestRoot === null
          ? `batch ${doc.anchor.batchNo} is ${doc.gateway.partyId}'s latest anchored batch`
          : `an older batch: ${doc.gateway.partyId} has anchored since (latest root ${newest}); ask for a new proof`,
    });
  } catch (error) {
    checks.push({ name: 'freshness', ok: false, detail: describeChainError(error) });
  }

  const status = statusOf(event.type, event.payload, anchored.blockTime);
  const asOf = `block ${anchored.blockNumber}`;
  const older = latestRoot === null ? '' : ` (an older batch: the gateway has anchored since, at root ${latestRoot})`;
  verdict = {
    recordId: doc.recordId,
    status,
    event: { seq: event.seq, eventId: event.eventId, type: event.type, at: event.at },
    asOfBlock: anchored.blockNumber,
    asOfTime: new Date(anchored.blockTime * 1000).toISOString(),
    isLatest: latestRoot === null,
    latestRoot,
    summary:
      (status === 'in-force'
        ? `in force as of ${asOf}`
        : `${status} at event ${event.eventId} (seq ${event.seq}, ${event.type} at ${event.at}), as of ${asOf}`) +
      older,
  };
  return done();
}
