// The offline receipt verifier (DESIGN.md §1.4: "a third party holding only the record, its proof and a
// chain RPC URL can verify it"): Ed25519 (RFC 8032) over RFC 8785 JSON, the Merkle path of docs/merkle.md,
// and the anchor, registry entry and inclusion view of ConsentAnchor / GatewayRegistry read through a
// ChainReader. It trusts nothing the gateway says that the chain or the signatures do not confirm.
import { GatewayError } from '../core/errors.ts';
import { AuditEntry } from './audit.ts';
import { canonicalHash } from './canonical.ts';
import { systemTimers, withDeadline, type Timers } from '../core/deadline.ts';
import { verifyEvent } from './event.ts';
import type { Bytes32Hex, OnChainAnchor, OnChainAnchorTx } from './ledger-port.ts';
import { verifyMerkleProof } from './merkle.ts';
import { Receipt, receiptSigningBytes } from './receipt.ts';
import { keyIdOf, verifySignature } from './signer.ts';

/** One key the registry lists for a gateway, valid for anchors in blocks fromBlock..untilBlock (null: current). */
export type RegisteredKey = {
  /** Raw 32-byte key, hex without 0x. */
  publicKey: string;
  keyId: string;
  fromBlock: number;
  untilBlock: number | null;
  /** Set by the registry owner without the previous key's signature (the lost-key path). */
  isRecovery: boolean;
};
export type RegisteredAccount = { account: string; fromBlock: number; untilBlock: number | null };

/** GatewayRegistry as a verifier needs it: status, revocation block and the whole key and account history. */
export type RegisteredGateway = {
  status: 'Active' | 'Revoked';
  revokedAtBlock: number | null;
  keys: RegisteredKey[];
  accounts: RegisteredAccount[];
};

/** A block header: what the chain itself says, not what a contract stored. */
export type BlockHeader = { number: number; timestamp: number; hash: string };

/** Read-only chain access. Methods may throw (LEDGER_UNAVAILABLE); the verifier turns that into a failed check. */
export type ChainReader = {
  getAnchor(root: Bytes32Hex): Promise<OnChainAnchor | null>;
  /** The root's Anchored event: its transaction, previous root and status root (the last two are not stored). */
  findAnchorTx(root: Bytes32Hex): Promise<OnChainAnchorTx | null>;
  getGateway(gatewayId: string): Promise<RegisteredGateway | null>;
  /** ConsentAnchor.verifyInclusion(root, recordHash, proof). */
  verifyInclusion(root: Bytes32Hex, recordHash: Bytes32Hex, proof: readonly Bytes32Hex[]): Promise<boolean>;
  getBlock(blockNumber: number): Promise<BlockHeader | null>;
  /** ConsentAnchor.lastRootOf: the gateway's newest anchored root. */
  lastRootOf(gatewayId: string): Promise<Bytes32Hex>;
};

/**
 * How far a record's own time may run ahead of its anchoring block's time. The gateway's clock and the chain's
 * validators' clocks are independent; five minutes covers ordinary drift and block-time rounding, and a record
 * dated later than that was not written before it was anchored (docs/receipts.md, "Time").
 */
export const MAX_CLOCK_SKEW_SECONDS = 300;

/** Every check, in the order it runs. 'not-anchored' appears (and fails) only for a pending receipt. */
export const CHECK_NAMES = [
  'receipt-format',
  'receipt-signature',
  'record-hash',
  'not-anchored',
  'merkle-path',
  'on-chain-root',
  'block-time',
  'record-time',
  'anchoring-account',
  'anchoring-key',
  'revocation',
  'on-chain-inclusion',
] as const;
export type CheckName = (typeof CHECK_NAMES)[number];
export type Check = { name: CheckName; ok: boolean; detail: string };
export type Verification = { ok: boolean; checks: Check[]; failure: Check | null };

export type VerifyOptions = { timers?: Timers; /** Deadline of each chain call. */ timeoutMs?: number };

const fromHex = (h: string): Buffer => Buffer.from(h.replace(/^0x/, ''), 'hex');
const sameAddress = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();
/** A failed chain read as one line: the error code and reason, never an RPC URL. */
export const describeChainError = (error: unknown): string =>
  error instanceof GatewayError
    ? `chain read failed: ${error.code}${typeof error.detail['reason'] === 'string' ? ` (${error.detail['reason']})` : ''}`
    : 'chain read failed';

function checkRecord(receipt: Receipt): Check {
  const fail = (detail: string): Check => ({ name: 'record-hash', ok: false, detail });
  const { record } = receipt;
  if (record.event !== undefined && record.eventKey !== undefined) {
    const { event } = record;
    const publicKey = fromHex(record.eventKey);
    if (keyIdOf(publicKey) !== event.keyId)
      return fail("the event's keyId does not name the event key the receipt gives");
    if (event.seq !== record.seq) return fail(`the event has seq ${event.seq}, the receipt says ${record.seq}`);
    if (event.hash !== record.hash) return fail('the event carries another hash than the receipt names');
    const reason = verifyEvent(event, publicKey);
    if (reason === 'hash-mismatch')
      return fail('the canonical (RFC 8785) hash of the event differs from its recorded hash: the event was changed');
    if (reason === 'bad-signature') return fail("the event's own Ed25519 signature does not verify under its key");
    return {
      name: 'record-hash',
      ok: true,
      detail: `event ${event.eventId} (${event.type}) hashes to ${record.hash} and is signed by key ${event.keyId}`,
    };
  }
  const parsed = AuditEntry.safeParse(record.entry);
  if (!parsed.success) return fail('the audit entry is malformed');
  const { hash, ...body } = parsed.data;
  if (parsed.data.seq !== record.seq)
    return fail(`the audit entry has seq ${parsed.data.seq}, the receipt says ${record.seq}`);
  if (hash !== record.hash) return fail('the audit entry carries another hash than the receipt names');
  if (canonicalHash(body) !== hash)
    return fail(
      'the canonical (RFC 8785) hash of the audit entry differs from its recorded hash: the entry was changed',
    );
  return { name: 'record-hash', ok: true, detail: `audit entry ${parsed.data.entryId} hashes to ${record.hash}` };
}

/**
 * Runs every check it can and reports each; `failure` is the first that failed. Never throws: a chain
 * that cannot be read fails the chain checks with the reason.
 */
export async function verifyReceipt(
  input: unknown,
  reader: ChainReader | null,
  options: VerifyOptions = {},
): Promise<Verification> {
  const checks: Check[] = [];
  const done = (): Verification => {
    const failure = checks.find((c) => !c.ok) ?? null;
    return { ok: failure === null, checks, failure };
  };
  const parsed = Receipt.safeParse(input);
  if (!parsed.success) {
    const paths = [...new Set(parsed.error.issues.map((i) => (i.path.length > 0 ? i.path.join('.') : '(root)')))].slice(
      0,
      8,
    );
    checks.push({ name: 'receipt-format', ok: false, detail: `not a receipt: bad ${paths.join(', ')}` });
    return done();
  }
  const receipt = parsed.data;
  checks.push({
    name: 'receipt-format',
    ok: true,
    detail: `version ${receipt.version}, ${receipt.status}, ${receipt.record.chain} #${receipt.record.seq}`,
  });

  const publicKey = fromHex(receipt.gateway.publicKey);
  const isKeyIdRight = keyIdOf(publicKey) === receipt.gateway.keyId;
  const isSigned = verifySignature(publicKey, receiptSigningBytes(receipt), fromHex(receipt.signature));
  checks.push(
    isKeyIdRight && isSigned
      ? {
          name: 'receipt-signature',
          ok: true,
          detail: `signed by ${receipt.gateway.partyId} (key ${receipt.gateway.keyId})`,
        }
      : {
          name: 'receipt-signature',
          ok: false,
          detail: isKeyIdRight
            ? 'the Ed25519 signature over the receipt does not verify'
            : 'keyId does not match the public key',
        },
  );
  checks.push(checkRecord(receipt));

  const { anchor } = receipt;
  if (anchor === undefined) {
    checks.push({
      name: 'not-anchored',
      ok: false,
      detail:
        'the receipt is pending: its batch was not anchored when it was issued; ask the gateway for the anchored receipt',
    });
    return done();
  }
  const recordHash = `0x${receipt.record.hash}`;
  const isOnPath = verifyMerkleProof(fromHex(anchor.root), fromHex(recordHash), anchor.proof.map(fromHex));
  checks.push({
    name: 'merkle-path',
    ok: isOnPath,
    detail: isOnPath
      ? `the ${anchor.proof.length}-step proof links the record to root ${anchor.root}`
      : 'the proof does not link the record hash to the root',
  });

  const chainNames = CHECK_NAMES.filter((n) => CHECK_NAMES.indexOf(n) > CHECK_NAMES.indexOf('merkle-path'));
  if (reader === null) {
    for (const name of chainNames) checks.push({ name, ok: false, detail: 'no chain to check against' });
    return done();
  }
  const read = chainCall(options);
  const recordTime = receipt.record.event?.at ?? receipt.record.entry?.at ?? '';

  let onChain: OnChainAnchor | null = null;
  let isUnread = false;
  try {
    onChain = await read.call('getAnchor', () => reader.getAnchor(anchor.root));
    if (onChain === null) {
      checks.push({
        name: 'on-chain-root',
        ok: false,
        detail: `root ${anchor.root} is not anchored in contract ${anchor.contract} on chain ${anchor.chainId}`,
      });
    } else {
      const found = onChain;
      const tx = await read.call('findAnchorTx', () => reader.findAnchorTx(anchor.root));
      const problem =
        tx === null
          ? 'the root is stored but its Anchored event was not found'
          : tx.txHash !== anchor.txHash.toLowerCase()
            ? `the root was anchored in transaction ${tx.txHash}, not ${anchor.txHash}`
            : found.keyId !== anchor.keyId
              ? `the anchor names key ${found.keyId}, the receipt says ${anchor.keyId}`
              : tx.stateRoot !== anchor.stateRoot
                ? `the anchor commits to status root ${tx.stateRoot}, the receipt says ${anchor.stateRoot}`
                : null;
      checks.push(
        problem === null
          ? {
              name: 'on-chain-root',
              ok: true,
              detail: `anchored by ${found.gatewayId} at block ${found.blockNumber} in ${tx!.txHash} (batch of ${found.count}, key ${found.keyId})`,
            }
          : { name: 'on-chain-root', ok: false, detail: problem },
      );
    }
  } catch (error) {
    isUnread = true;
    checks.push({ name: 'on-chain-root', ok: false, detail: describeChainError(error) });
  }
  if (onChain === null) {
    const detail = isUnread ? 'not checked: the anchor could not be read' : 'no anchor on chain to check';
    for (const name of ANCHOR_CHECKS) checks.push({ name, ok: false, detail });
  } else {
    const anchored = onChain;
    checks.push(
      await checkBlockTime(read, reader, anchored, { blockNumber: anchor.blockNumber, blockTime: anchor.blockTime }),
    );
    checks.push(checkRecordTime(recordTime, anchored));
    checks.push(...(await checkIdentity(read, reader, anchored, receipt)));
  }

  try {
    const isIncluded = await read.call('verifyInclusion', () =>
      reader.verifyInclusion(anchor.root, recordHash, anchor.proof),
    );
    checks.push({
      name: 'on-chain-inclusion',
      ok: isIncluded,
      detail: isIncluded ? 'ConsentAnchor.verifyInclusion agrees' : 'ConsentAnchor.verifyInclusion rejects the proof',
    });
  } catch (error) {
    checks.push({ name: 'on-chain-inclusion', ok: false, detail: describeChainError(error) });
  }
  return done();
}

/** The checks that need the anchor read from the chain. */
const ANCHOR_CHECKS = ['block-time', 'record-time', 'anchoring-account', 'anchoring-key', 'revocation'] as const;

export type ChainCall = { call<T>(operation: string, work: () => Promise<T>): Promise<T> };

/** Every chain read under its own deadline. */
export function chainCall(options: VerifyOptions): ChainCall {
  const timers = options.timers ?? systemTimers;
  return {
    call: (operation, work) =>
      withDeadline(work(), {
        timers,
        ms: options.timeoutMs ?? 30_000,
        operation: `chain.${operation}`,
        code: 'LEDGER_UNAVAILABLE',
      }),
  };
}

/**
 * The stored block time must be the block header's, and the receipt's block the stored one: a contract's copy
 * alone could have been rewritten (a chain whose state, not whose headers, was edited).
 */
export async function checkBlockTime(
  read: ChainCall,
  reader: ChainReader,
  anchored: OnChainAnchor,
  claimed: { blockNumber: number; blockTime: number },
): Promise<Check> {
  const fail = (detail: string): Check => ({ name: 'block-time', ok: false, detail });
  if (anchored.blockNumber !== claimed.blockNumber || anchored.blockTime !== claimed.blockTime)
    return fail(
      `the chain dates the anchor block ${anchored.blockNumber} at ${anchored.blockTime}, the receipt says block ${claimed.blockNumber} at ${claimed.blockTime}`,
    );
  try {
    const header = await read.call('getBlock', () => reader.getBlock(anchored.blockNumber));
    if (header === null) return fail(`block ${anchored.blockNumber} is not on the chain`);
    if (header.timestamp !== anchored.blockTime)
      return fail(
        `the contract stored time ${anchored.blockTime} for block ${anchored.blockNumber}, but its header says ${header.timestamp}`,
      );
    return {
      name: 'block-time',
      ok: true,
      detail: `block ${anchored.blockNumber} at ${new Date(anchored.blockTime * 1000).toISOString()}, as its header says`,
    };
  } catch (error) {
    return fail(describeChainError(error));
  }
}

/** A record cannot have been written after the block that anchors it (beyond the clock skew). */
export function checkRecordTime(recordTime: string, anchored: OnChainAnchor): Check {
  const at = Date.parse(recordTime);
  if (!Number.isFinite(at)) return { name: 'record-time', ok: false, detail: 'the record carries no time' };
  const aheadSeconds = Math.ceil(at / 1000 - anchored.blockTime);
  return aheadSeconds > MAX_CLOCK_SKEW_SECONDS
    ? {
        name: 'record-time',
        ok: false,
        detail: `the record is dated ${recordTime}, ${aheadSeconds} s after its anchoring block (at most ${MAX_CLOCK_SKEW_SECONDS} s of clock skew is allowed)`,
      }
    : { name: 'record-time', ok: true, detail: `the record (${recordTime}) precedes its anchoring block` };
}

const isInPeriod = (p: { fromBlock: number; untilBlock: number | null }, block: number): boolean =>
  p.fromBlock <= block && (p.untilBlock === null || block <= p.untilBlock);

/** The signing keys a statement about an anchor needs: who signed the statement, and (for an event) the event. */
export type Signers = { partyId: string; statementKey: string; eventKey: string | null; evmAccount: string };

/**
 * Attribution by the registry's history at the anchoring block: the account that anchored served the gateway then;
 * the anchor's key was the gateway's key then; the event was signed with it; the statement (receipt or status
 * proof) is signed by that key or a later one of the same gateway, never by a key retired before the anchor; and the
 * gateway was not revoked at or before that block.
 */
export async function checkIdentity(
  read: ChainCall,
  reader: ChainReader,
  anchored: OnChainAnchor,
  signed: {
    gateway: { partyId: string; publicKey: string; evmAccount: string };
    record?: { eventKey?: string | undefined };
  },
): Promise<Check[]> {
  const { partyId } = signed.gateway;
  const block = anchored.blockNumber;
  if (anchored.gatewayId !== partyId) {
    const detail = `the root was anchored by gateway ${anchored.gatewayId}, not ${partyId}`;
    return (['anchoring-account', 'anchoring-key', 'revocation'] as const).map((name) => ({ name, ok: false, detail }));
  }
  let entry: RegisteredGateway | null;
  try {
    entry = await read.call('getGateway', () => reader.getGateway(partyId));
  } catch (error) {
    const detail = describeChainError(error);
    return (['anchoring-account', 'anchoring-key', 'revocation'] as const).map((name) => ({ name, ok: false, detail }));
  }
  if (entry === null) {
    const detail = `gateway ${partyId} is not in the registry`;
    return (['anchoring-account', 'anchoring-key', 'revocation'] as const).map((name) => ({ name, ok: false, detail }));
  }

  const account = entry.accounts.find((a) => sameAddress(a.account, anchored.anchoredBy) && isInPeriod(a, block));
  const accountCheck: Check =
    account === undefined
      ? {
          name: 'anchoring-account',
          ok: false,
          detail: `${anchored.anchoredBy} was not ${partyId}'s account at block ${block}`,
        }
      : !sameAddress(signed.gateway.evmAccount, anchored.anchoredBy) &&
          !entry.accounts.some((a) => sameAddress(a.account, signed.gateway.evmAccount))
        ? {
            name: 'anchoring-account',
            ok: false,
            detail: `the statement names account ${signed.gateway.evmAccount}, which ${partyId} never had`,
          }
        : {
            name: 'anchoring-account',
            ok: true,
            detail: `${anchored.anchoredBy} was ${partyId}'s account at block ${block}`,
          };

  const anchorKeyIndex = entry.keys.findIndex((k) => k.keyId === anchored.keyId && isInPeriod(k, block));
  const anchorKey = entry.keys[anchorKeyIndex];
  const statementKeyIndex = entry.keys.findIndex((k) => k.publicKey.toLowerCase() === signed.gateway.publicKey);
  const eventKey = signed.record?.eventKey;
  const keyProblem =
    anchorKey === undefined
      ? `the anchor names key ${anchored.keyId}, which was not ${partyId}'s key at block ${block}`
      : eventKey !== undefined && eventKey !== anchorKey.publicKey.toLowerCase()
        ? `the event was signed with another key than the anchor names (${anchored.keyId})`
        : statementKeyIndex === -1
          ? `the statement is signed with a key ${partyId} never registered`
          : statementKeyIndex < anchorKeyIndex
            ? `the statement is signed with a key ${partyId} had retired before block ${block}`
            : null;
  const keyCheck: Check =
    keyProblem === null
      ? {
          name: 'anchoring-key',
          ok: true,
          detail: `key ${anchored.keyId} was ${partyId}'s key at block ${block} (valid from block ${anchorKey!.fromBlock}${anchorKey!.untilBlock === null ? '' : ` to ${anchorKey!.untilBlock}`}${anchorKey!.isRecovery ? ', set by the registry owner in a key recovery' : ''})`,
        }
      : { name: 'anchoring-key', ok: false, detail: keyProblem };

  const revokedAt = entry.revokedAtBlock;
  const revocationCheck: Check =
    revokedAt === null
      ? { name: 'revocation', ok: true, detail: `${partyId} is not revoked` }
      : block < revokedAt
        ? {
            name: 'revocation',
            ok: true,
            detail: `${partyId} was revoked at block ${revokedAt}; this anchor (block ${block}) precedes it and stays valid`,
          }
        : {
            name: 'revocation',
            ok: false,
            detail: `${partyId} was revoked at block ${revokedAt}; an anchor at block ${block} is not valid`,
          };
  return [accountCheck, keyCheck, revocationCheck];
}
