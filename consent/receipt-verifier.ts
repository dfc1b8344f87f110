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
import { Receipt, receiptDigest } from './receipt.ts';
import { keyIdOf, verifySignature } from './signer.ts';

/** GatewayRegistry.get as a verifier needs it; the key is raw hex without 0x. */
export type RegisteredGateway = { ed25519PublicKey: string; evmAccount: string; status: 'Active' | 'Revoked' };

/** Read-only chain access. Methods may throw (LEDGER_UNAVAILABLE); the verifier turns that into a failed check. */
export type ChainReader = {
  getAnchor(root: Bytes32Hex): Promise<OnChainAnchor | null>;
  /** Optional: lets the verifier confirm the receipt's transaction hash through the Anchored event. */
  findAnchorTx?(root: Bytes32Hex): Promise<OnChainAnchorTx | null>;
  getGateway(gatewayId: string): Promise<RegisteredGateway | null>;
  /** ConsentAnchor.verifyInclusion(root, recordHash, proof). */
  verifyInclusion(root: Bytes32Hex, recordHash: Bytes32Hex, proof: readonly Bytes32Hex[]): Promise<boolean>;
};

/** Every check, in the order it runs. 'not-anchored' appears (and fails) only for a pending receipt. */
export const CHECK_NAMES = [
  'receipt-format',
  'receipt-signature',
  'record-hash',
  'not-anchored',
  'merkle-path',
  'on-chain-root',
  'anchoring-account',
  'block-time',
  'on-chain-inclusion',
] as const;
export type CheckName = (typeof CHECK_NAMES)[number];
export type Check = { name: CheckName; ok: boolean; detail: string };
export type Verification = { ok: boolean; checks: Check[]; failure: Check | null };

export type VerifyOptions = { timers?: Timers; /** Deadline of each chain call. */ timeoutMs?: number };

const fromHex = (h: string): Buffer => Buffer.from(h.replace(/^0x/, ''), 'hex');
const sameAddress = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();
const describe = (error: unknown): string =>
  error instanceof GatewayError
    ? `chain read failed: ${error.code}${typeof error.detail['reason'] === 'string' ? ` (${error.detail['reason']})` : ''}`
    : 'chain read failed';

function checkRecord(receipt: Receipt, publicKey: Buffer): Check {
  const fail = (detail: string): Check => ({ name: 'record-hash', ok: false, detail });
  const { record } = receipt;
  if (record.event !== undefined) {
    const { event } = record;
    if (event.seq !== record.seq) return fail(`the event has seq ${event.seq}, the receipt says ${record.seq}`);
    if (event.hash !== record.hash) return fail('the event carries another hash than the receipt names');
    const reason = verifyEvent(event, publicKey);
    if (reason === 'hash-mismatch')
      return fail('the canonical (RFC 8785) hash of the event differs from its recorded hash: the event was changed');
    if (reason === 'bad-signature')
      return fail("the event's own Ed25519 signature does not verify under the gateway key");
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
  const isSigned = verifySignature(publicKey, receiptDigest(receipt), fromHex(receipt.signature));
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
  checks.push(checkRecord(receipt, publicKey));

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

  if (reader === null) {
    for (const name of ['on-chain-root', 'anchoring-account', 'block-time', 'on-chain-inclusion'] as const)
      checks.push({ name, ok: false, detail: 'no chain to check against' });
    return done();
  }
  const timers = options.timers ?? systemTimers;
  const read = <T>(operation: string, work: () => Promise<T>): Promise<T> =>
    withDeadline(work(), {
      timers,
      ms: options.timeoutMs ?? 30_000,
      operation: `chain.${operation}`,
      code: 'LEDGER_UNAVAILABLE',
    });

  let onChain: OnChainAnchor | null = null;
  let isUnread = false;
  try {
    onChain = await read('getAnchor', () => reader.getAnchor(anchor.root));
    if (onChain === null) {
      checks.push({
        name: 'on-chain-root',
        ok: false,
        detail: `root ${anchor.root} is not anchored in contract ${anchor.contract} on chain ${anchor.chainId}`,
      });
    } else {
      const tx =
        reader.findAnchorTx === undefined ? null : await read('findAnchorTx', () => reader.findAnchorTx!(anchor.root));
      checks.push(
        tx !== null && tx.txHash !== anchor.txHash.toLowerCase()
          ? {
              name: 'on-chain-root',
              ok: false,
              detail: `the root was anchored in transaction ${tx.txHash}, not ${anchor.txHash}`,
            }
          : {
              name: 'on-chain-root',
              ok: true,
              detail: `anchored by ${onChain.gatewayId} at block ${onChain.blockNumber}${tx === null ? '' : ` in ${tx.txHash}`} (batch of ${onChain.count})`,
            },
      );
    }
  } catch (error) {
    isUnread = true;
    checks.push({ name: 'on-chain-root', ok: false, detail: describe(error) });
  }

  if (onChain === null) {
    checks.push({
      name: 'anchoring-account',
      ok: false,
      detail: isUnread ? 'not checked: the anchor could not be read' : 'no anchor on chain to attribute',
    });
    checks.push({
      name: 'block-time',
      ok: false,
      detail: isUnread ? 'not checked: the anchor could not be read' : 'no anchor on chain to date',
    });
  } else {
    const anchored = onChain;
    try {
      const entry =
        anchored.gatewayId === receipt.gateway.partyId
          ? await read('getGateway', () => reader.getGateway(receipt.gateway.partyId))
          : null;
      const problem =
        anchored.gatewayId !== receipt.gateway.partyId
          ? `the root was anchored by gateway ${anchored.gatewayId}, not ${receipt.gateway.partyId}`
          : entry === null
            ? `gateway ${receipt.gateway.partyId} is not in the registry`
            : !sameAddress(entry.evmAccount, anchored.anchoredBy)
              ? `the root was anchored by ${anchored.anchoredBy}, but the registry lists ${entry.evmAccount}`
              : !sameAddress(receipt.gateway.evmAccount, anchored.anchoredBy)
                ? `the receipt names account ${receipt.gateway.evmAccount}, but ${anchored.anchoredBy} anchored`
                : entry.ed25519PublicKey.toLowerCase() !== receipt.gateway.publicKey
                  ? 'the registry lists another Ed25519 key for the gateway than the receipt carries'
                  : null;
      checks.push(
        problem === null
          ? {
              name: 'anchoring-account',
              ok: true,
              detail: `${anchored.anchoredBy} is ${receipt.gateway.partyId}'s registered account and key${entry?.status === 'Revoked' ? ' (revoked since; earlier anchors stay attributable)' : ''}`,
            }
          : { name: 'anchoring-account', ok: false, detail: problem },
      );
    } catch (error) {
      checks.push({ name: 'anchoring-account', ok: false, detail: describe(error) });
    }
    const isSameBlock = anchored.blockTime === anchor.blockTime && anchored.blockNumber === anchor.blockNumber;
    checks.push({
      name: 'block-time',
      ok: isSameBlock,
      detail: isSameBlock
        ? `block ${anchored.blockNumber} at ${new Date(anchored.blockTime * 1000).toISOString()}`
        : `the chain dates the anchor block ${anchored.blockNumber} at ${anchored.blockTime}, the receipt says block ${anchor.blockNumber} at ${anchor.blockTime}`,
    });
  }

  try {
    const isIncluded = await read('verifyInclusion', () =>
      reader.verifyInclusion(anchor.root, recordHash, anchor.proof),
    );
    checks.push({
      name: 'on-chain-inclusion',
      ok: isIncluded,
      detail: isIncluded ? 'ConsentAnchor.verifyInclusion agrees' : 'ConsentAnchor.verifyInclusion rejects the proof',
    });
  } catch (error) {
    checks.push({ name: 'on-chain-inclusion', ok: false, detail: describe(error) });
  }
  return done();
}
