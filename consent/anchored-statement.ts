// Signed statements a gateway issues about its own work, such as a lift certificate (docs/valuation.md, "Lift
// certificates"), made checkable by an outsider (docs/receipts.md, "Statements"). A statement is a JSON body signed
// with the gateway's Ed25519 key under its own context; its hash goes into an audit entry (`detail.statementHash`),
// and the audit entry is anchored like every other. The proof an outsider checks is the statement and that entry's
// receipt: the signature shows who said it, the receipt shows the gateway recorded it then, on chain, unchanged.
import { z } from 'zod';
import { canonicalHash } from './canonical.ts';
import { withContext } from './key-ring.ts';
import { Receipt } from './receipt.ts';
import { verifyReceipt, type Check, type ChainReader, type VerifyOptions } from './receipt-verifier.ts';
import { keyIdOf, verifySignature, type Signer } from './signer.ts';

const Hex = (bytes: number) => z.string().regex(new RegExp(`^[0-9a-f]{${bytes * 2}}$`));

/** A context names what a statement is and its version: `sealgate/<kind>/v<n>`. */
export const StatementContext = z.string().regex(/^sealgate\/[a-z][a-z0-9-]{0,47}\/v[1-9][0-9]{0,3}$/);

export const AnchoredStatement = z.strictObject({
  context: StatementContext,
  /** Free-form JSON, except that it names its issuer: the gateway's party id, which its receipt must carry. */
  body: z.object({ issuer: z.string().min(1).max(64) }).catchall(z.unknown()),
  /** keyIdOf(publicKey): the gateway key that signed. */
  keyId: Hex(8),
  publicKey: Hex(32),
  signature: Hex(64),
});
export type AnchoredStatement = z.infer<typeof AnchoredStatement>;

/** What an outsider checks: the statement and the receipt of the audit entry that recorded its hash. */
export const StatementProof = z.strictObject({ statement: AnchoredStatement, receipt: z.unknown() });
export type StatementProof = z.infer<typeof StatementProof>;

/** SHA-256 (hex) of RFC 8785 `{ context, body }`: what the signature covers and the audit entry records. */
export type StatementBody = AnchoredStatement['body'];
export const statementHash = (context: string, body: StatementBody): string => canonicalHash({ context, body });

const signingBytes = (context: string, hash: string): Buffer => withContext(context, Buffer.from(hash, 'hex'));

export function signStatement(
  context: string,
  body: StatementBody,
  signer: Pick<Signer, 'keyId' | 'publicKey' | 'sign'>,
): AnchoredStatement {
  const parsedContext = StatementContext.parse(context);
  const signature = signer.sign(signingBytes(parsedContext, statementHash(parsedContext, body)));
  return {
    context: parsedContext,
    body,
    keyId: signer.keyId,
    publicKey: Buffer.from(signer.publicKey).toString('hex'),
    signature: Buffer.from(signature).toString('hex'),
  };
}

export const STATEMENT_CHECK_NAMES = ['statement-format', 'statement-signature', 'statement-recorded'] as const;
export type StatementCheck = { name: (typeof STATEMENT_CHECK_NAMES)[number]; ok: boolean; detail: string };
export type StatementVerification = {
  ok: boolean;
  /** The statement's own checks, then every check of its receipt (receipt-verifier.ts). */
  checks: (StatementCheck | Check)[];
  failure: StatementCheck | Check | null;
};

/**
 * Checks, in order: the proof's shape; the signature under the statement's context with the key it names; that the
 * receipt's audit entry records this statement's hash and was anchored with the same key; then the receipt itself
 * against the chain (every receipt check). The first failure ends the statement checks; the receipt is checked only
 * when they pass.
 */
export async function verifyStatementProof(
  input: unknown,
  reader: ChainReader | null,
  options: VerifyOptions = {},
): Promise<StatementVerification> {
  const checks: (StatementCheck | Check)[] = [];
  const done = (): StatementVerification => {
    const failure = checks.find((c) => !c.ok) ?? null;
    return { ok: failure === null, checks, failure };
  };
  const parsed = StatementProof.safeParse(input);
  if (!parsed.success) {
    const paths = [...new Set(parsed.error.issues.map((i) => i.path.join('.') || '(root)'))].slice(0, 8);
    checks.push({ name: 'statement-format', ok: false, detail: `not a statement proof: bad ${paths.join(', ')}` });
    return done();
  }
  const { statement } = parsed.data;
  const receipt = Receipt.safeParse(parsed.data.receipt);
  if (!receipt.success || receipt.data.record.entry === undefined) {
    checks.push({ name: 'statement-format', ok: false, detail: 'the receipt is not a receipt of an audit entry' });
    return done();
  }
  checks.push({ name: 'statement-format', ok: true, detail: `a ${statement.context} statement with its receipt` });

  const publicKey = Buffer.from(statement.publicKey, 'hex');
  const hash = statementHash(statement.context, statement.body);
  const isSigned =
    keyIdOf(publicKey) === statement.keyId &&
    verifySignature(publicKey, signingBytes(statement.context, hash), Buffer.from(statement.signature, 'hex'));
  checks.push({
    name: 'statement-signature',
    ok: isSigned,
    detail: isSigned
      ? `signed by key ${statement.keyId}; the statement hashes to ${hash}`
      : 'the signature does not verify with the key the statement names (a changed byte, or another key)',
  });
  if (!isSigned) return done();

  const { entry } = receipt.data.record;
  const recorded = entry.detail['statementHash'];
  const anchorKey = receipt.data.anchor?.keyId ?? receipt.data.gateway.keyId;
  const issuer = receipt.data.gateway.partyId;
  const recordedOk = recorded === hash && anchorKey === statement.keyId && statement.body.issuer === issuer;
  checks.push({
    name: 'statement-recorded',
    ok: recordedOk,
    detail:
      recorded !== hash
        ? `audit entry ${entry.seq} records another statement hash (${String(recorded)})`
        : anchorKey !== statement.keyId
          ? `the statement is signed by key ${statement.keyId}, its audit entry was anchored under key ${anchorKey}`
          : statement.body.issuer !== issuer
            ? `the statement names issuer ${statement.body.issuer}, its receipt is ${issuer}'s`
            : `audit entry ${entry.seq} (${entry.action}) records this statement's hash`,
  });
  if (!recordedOk) return done();

  const verified = await verifyReceipt(receipt.data, reader, options);
  checks.push(...verified.checks);
  return done();
}
