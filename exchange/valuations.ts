// Valuations as a service (docs/valuation.md, "Storing and anchoring"): valuate, store the input and report, and
// anchor the report's hash in the data-package registry, so a buyer or a lender can check that a report is the one
// that was issued. The arithmetic is valuation/'s; this module adds the hashes, the disk and the chain.
//
// Hashes are SHA-256 over RFC 8785 JSON (consent/canonical.ts), as for consent records. On chain the package is keyed
// by its id's bytes as a bytes32 (as gateways are), its listing hash stays the listed revision's (the hash of the
// package definition before any), and each valuation is one revision carrying its report hash and consent basis root.
import { randomUUID } from 'node:crypto';
import { canonicalHash } from '../consent/canonical.ts';
import type { Clock } from '../core/clock.ts';
import { GatewayError } from '../core/errors.ts';
import { gatewayIdToBytes32 } from '../contracts/ledger-values.ts';
import { parseValuationInput, valuateInput } from '../valuation/valuate.ts';
import type { ValuationInput } from '../valuation/valuation-input.ts';
import type { ValuationReport } from '../valuation/valuation-report.ts';
import type { StoredValuation, ValuationAnchor, ValuationStore, ValuationSummary } from './valuation-store.ts';
import { citationProblem, LIFT_CERTIFICATE_CONTEXT, LiftCertificateBody } from './lift-certificate.ts';
import { StatementProof, statementHash, verifyStatementProof } from '../consent/anchored-statement.ts';
import type { ChainReader } from '../consent/receipt-verifier.ts';
import { anchorPackageRevision, hex0x, type PackageLedger } from './package-anchor.ts';

export type { PackageLedger } from './package-anchor.ts';

export type ValuationCreated = ValuationSummary & {
  report: ValuationReport;
  /** Why the report's hash is not on chain yet (the error code), or null when it is. */
  anchorError: string | null;
};

export type ValuationCheck = {
  valuationId: string;
  /** The stored report still hashes to its recorded hash. */
  isIntact: boolean;
  /** The package registry's current revision carries this report's hash. */
  isCurrentOnChain: boolean | null;
  onChainRevision: number | null;
  detail: string;
};

export type Valuations = {
  /** Valuates, stores (on disk before it answers) and anchors. BAD_INPUT for a malformed input. */
  create(input: unknown, actor: string): Promise<ValuationCreated>;
  /** NOT_FOUND for an unknown id. */
  get(valuationId: string): Promise<StoredValuation>;
  list(packageId: string, limit: number): Promise<ValuationSummary[]>;
  /** Recomputes the stored report's hash and compares it with the package registry's current revision. */
  check(valuationId: string): Promise<ValuationCheck>;
};

export type ValuationsOptions = {
  store: ValuationStore;
  clock: Clock;
  ledger: () => PackageLedger | null;
  /** An issued lift certificate of this gateway with its statement hash, or null (none, running or failed). */
  certificate: (certificateId: string) => Promise<{ body: LiftCertificateBody; statementHash: string } | null>;
  /** The chain another gateway's certificate proof is verified against; null with the ledger off (then it fails). */
  chainReader: () => ChainReader | null;
  /** Writes the audit entry of a created valuation. */
  audit: (entry: { actor: string; valuationId: string; packageId: string; reportHash: string }) => Promise<void>;
};

export function createValuations(options: ValuationsOptions): Valuations {
  const { store, clock } = options;

  const anchor = async (input: ValuationInput, reportHash: string): Promise<ValuationAnchor> =>
    anchorPackageRevision(options.ledger(), {
      packageId: input.package.packageId,
      // A listed revision's hash stays; an unlisted package is identified by its definition's hash.
      listingHash: { keep: true, initially: hex0x(canonicalHash(input.package)) },
      valuationReportHash: hex0x(reportHash),
      consentBasisRoot: input.package.consentBasis.root,
    });

  /**
   * The certificate a segment cites: one this gateway issued, or one whose proof verifies against the chain (signed by
   * its issuer's registered key, its hash in an anchored audit entry of the issuer), or why it is neither.
   */
  const citedCertificate = async (source: {
    certificateId: string;
    proof?: unknown;
  }): Promise<{ body: LiftCertificateBody; statementHash: string } | string> => {
    const issued = await options.certificate(source.certificateId);
    if (issued !== null) return issued;
    if (source.proof === undefined)
      return 'this gateway has not issued it: cite it with its proof (GET /v1/lift-certificates/{id}/proof at its issuer)';
    const verified = await verifyStatementProof(source.proof, options.chainReader());
    if (!verified.ok)
      return `its proof does not verify (${verified.failure?.name ?? 'unknown'}: ${verified.failure?.detail ?? ''})`;
    const { statement } = StatementProof.parse(source.proof);
    const body = LiftCertificateBody.safeParse(statement.body);
    if (statement.context !== LIFT_CERTIFICATE_CONTEXT || !body.success)
      return 'its proof is not of a lift certificate';
    if (body.data.certificateId !== source.certificateId)
      return `its proof is of certificate ${body.data.certificateId}`;
    return { body: body.data, statementHash: statementHash(statement.context, statement.body) };
  };

  /** A segment that cites a lift certificate must cite one that verifies, by its hash, and agree with it. */
  const checkCitations = async (input: ValuationInput): Promise<void> => {
    for (const segment of input.segments) {
      const { source } = segment.errors;
      if (source.kind !== 'lift-certificate') continue;
      const refuse = (why: string) =>
        new GatewayError('BAD_INPUT', `segment ${segment.id} cites lift certificate ${source.certificateId}: ${why}`, {
          segment: segment.id,
          certificateId: source.certificateId,
        });
      const cited = await citedCertificate(source);
      if (typeof cited === 'string') throw refuse(cited);
      if (cited.statementHash !== source.certificateHash) throw refuse(`its hash is ${cited.statementHash}`);
      const problem = citationProblem(segment, input.package, cited.body);
      if (problem !== null) throw refuse(problem);
    }
  };

  const get = async (valuationId: string): Promise<StoredValuation> => {
    const found = await store.get(valuationId);
    if (found === null) throw new GatewayError('NOT_FOUND', 'no such valuation', { valuationId });
    return found;
  };

  return {
    async create(raw, actor) {
      const input = parseValuationInput(raw);
      await checkCitations(input);
      const report = valuateInput(input);
      const row = {
        valuationId: randomUUID(),
        packageId: input.package.packageId,
        createdAt: clock.now().toISOString(),
        createdBy: actor,
        input,
        report,
        inputHash: canonicalHash(input),
        reportHash: canonicalHash(report),
      };
      await store.insert(row);
      await options.audit({
        actor,
        valuationId: row.valuationId,
        packageId: row.packageId,
        reportHash: row.reportHash,
      });
      let anchored: ValuationAnchor | null = null;
      let anchorError: string | null = null;
      try {
        anchored = await anchor(input, row.reportHash);
        await store.setAnchor(row.valuationId, anchored);
      } catch (error) {
        // Stored either way: the valuation stands; its anchor is what is missing, and the answer says why.
        if (!(error instanceof GatewayError)) throw error;
        anchorError = error.code;
      }
      const { input: _input, report: _report, ...summary } = row;
      return { ...summary, anchor: anchored, report, anchorError };
    },
    get,
    list: (packageId, limit) => store.listByPackage(packageId, limit),
    async check(valuationId) {
      const stored = await get(valuationId);
      // The report as stored now, hashed again: what a changed byte would change.
      const reportHash = canonicalHash(stored.report);
      const isIntact = reportHash === stored.reportHash;
      const ledger = options.ledger();
      if (ledger === null)
        return {
          valuationId,
          isIntact,
          isCurrentOnChain: null,
          onChainRevision: null,
          detail: 'the ledger is off: nothing to compare with',
        };
      const onChain = await ledger.client.getPackage(gatewayIdToBytes32(stored.packageId));
      const isCurrentOnChain = onChain !== null && onChain.valuationReportHash === hex0x(reportHash);
      return {
        valuationId,
        isIntact,
        isCurrentOnChain,
        onChainRevision: onChain?.revision ?? null,
        detail:
          onChain === null
            ? 'the package is not in the registry'
            : isCurrentOnChain
              ? `revision ${onChain.revision} of package ${stored.packageId} carries this report's hash`
              : `revision ${onChain.revision} carries another report's hash (a later valuation, or a changed report)`,
      };
    },
  };
}
