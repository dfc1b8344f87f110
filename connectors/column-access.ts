// Column access by purpose (GDPR Art. 5(1)(b)-(c) purpose limitation and minimization): a job reads
// only declared columns its purpose's fieldAllowlist names, never an identifier (only the pseudonym),
// and each value at the precision the purpose fixes. All or nothing: one denied column denies the read.
import { precisionFor } from '../consent/precision.ts';
import { findPurpose, type PurposeCatalog } from '../consent/purpose.ts';
import { GatewayError } from '../core/errors.ts';
import { SUBJECT_COLUMN, type ConnectorView } from './view.ts';

export type DenialReason =
  'purpose-unknown' | 'undeclared' | 'identifier' | 'not-in-allowlist' | 'sensitive-not-listed';
export type ColumnDenial = { column: string; reason: DenialReason };

/** Allowed columns with the precision rule each is read at. */
export type ColumnGrant = { view: string; purpose: string; columns: { name: string; rule: string }[] };

/**
 * A purpose may name a column bare (`x0`, for every view) or qualified (`credit.x0`, this view only).
 * There is no wildcard, so a sensitive column is only ever readable when a purpose names it.
 */
const namesFor = (view: string, column: string) => [column, `${view}.${column}`];

/** Throws COLUMN_DENIED listing every denied column and why; returns the grant otherwise. */
export function authorizeColumns(
  view: ConnectorView,
  requested: readonly string[],
  purposeId: string,
  catalog: PurposeCatalog,
): ColumnGrant {
  const purpose = findPurpose(catalog, purposeId);
  if (purpose === undefined) {
    throw new GatewayError('COLUMN_DENIED', `purpose ${String(purposeId).slice(0, 64)} is not in the policy bundle`, {
      view: view.name,
      purpose: String(purposeId).slice(0, 64),
      denied: [{ column: '*', reason: 'purpose-unknown' }],
    });
  }
  const denied: ColumnDenial[] = [];
  const columns: ColumnGrant['columns'] = [];
  for (const requestedName of new Set(requested)) {
    // Names come from job specs; only a bounded prefix is ever echoed back.
    const name = String(requestedName).slice(0, 64);
    // The pseudonym is the row key of every read; asking for it adds nothing.
    if (name === SUBJECT_COLUMN) continue;
    const declared = view.columns.find((c) => c.name === name);
    const isListed = namesFor(view.name, name).some((n) => purpose.fieldAllowlist.includes(n));
    if (declared === undefined) denied.push({ column: name, reason: 'undeclared' });
    else if (declared.classification === 'identifier') denied.push({ column: name, reason: 'identifier' });
    else if (!isListed)
      denied.push({
        column: name,
        reason: declared.classification === 'sensitive' ? 'sensitive-not-listed' : 'not-in-allowlist',
      });
    else {
      const [bare, qualified] = namesFor(view.name, name) as [string, string];
      const rules = [bare, qualified].map((key) =>
        Object.hasOwn(purpose.precision, key) ? { [name]: purpose.precision[key] as string } : {},
      );
      // Both a bare and a qualified rule may apply; the coarser one wins (precisionFor joins them).
      columns.push({ name, rule: precisionFor(name, ...rules) });
    }
  }
  if (denied.length > 0) {
    throw new GatewayError(
      'COLUMN_DENIED',
      `purpose ${purposeId} may not read ${denied.map((d) => `${d.column} (${d.reason})`).join(', ')} of view ${view.name}`,
      { view: view.name, purpose: purposeId, denied },
    );
  }
  return { view: view.name, purpose: purposeId, columns };
}
