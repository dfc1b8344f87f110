// Creates one party of an ECDH-PSI session (DESIGN.md §6; what each mode reveals is in docs/psi.md): a
// transport-independent state machine that takes identifiers and peer messages and returns the messages to send.
import { GatewayError } from '../../core/errors.ts';
import { createInitiator } from './psi-initiator.ts';
import { DEFAULT_BUCKET_RECORDS, MAX_BUCKET_RECORDS } from './psi-message.ts';
import { createResponder } from './psi-responder.ts';
import { DEFAULT_MAX_ROWS, type PsiParty, type PsiPartyOptions, type PsiResolvedOptions } from './psi-session.ts';
import { cryptoRandom } from './shuffle.ts';

export type { PsiMode, PsiOutputTo, PsiParty, PsiPartyOptions, PsiResult, PsiRole } from './psi-session.ts';

/** Throws BAD_INPUT for options no job should carry; everything else fails later as a PsiProtocolError. */
export function createPsiParty(options: PsiPartyOptions): PsiParty {
  const resolved: PsiResolvedOptions = {
    outputTo: 'initiator',
    random: cryptoRandom,
    bucketRecords: DEFAULT_BUCKET_RECORDS,
    maxRows: DEFAULT_MAX_ROWS,
    ...options,
  };
  const { role, mode, peers, self, bucketRecords, maxRows } = resolved;
  const bad = (message: string) => new GatewayError('BAD_INPUT', message);
  if (typeof resolved.jobId !== 'string' || resolved.jobId.length === 0 || resolved.jobId.length > 256)
    throw bad('PSI jobId must be 1 to 256 characters');
  if (role !== 'initiator' && role !== 'responder') throw bad('PSI role must be initiator or responder');
  if (mode !== 'intersection' && mode !== 'cardinality') throw bad('PSI mode must be intersection or cardinality');
  if (resolved.outputTo !== 'initiator' && resolved.outputTo !== 'all')
    throw bad('PSI outputTo must be initiator or all');
  if (peers.length === 0 || new Set([...peers, self]).size !== peers.length + 1)
    throw bad('PSI peers must be distinct and exclude self');
  if (role === 'responder' && peers.length !== 1) throw bad('a PSI responder has exactly one peer, the initiator');
  // Pairwise alignment would show the initiator every pairwise intersection, so it cannot keep a count-only promise.
  if (mode === 'cardinality' && peers.length > 1) throw bad('PSI cardinality mode supports two parties only');
  if (!Number.isInteger(bucketRecords) || bucketRecords < 1 || bucketRecords > MAX_BUCKET_RECORDS)
    throw bad(`PSI bucketRecords must be 1 to ${MAX_BUCKET_RECORDS}`);
  if (!Number.isInteger(maxRows) || maxRows < 1 || maxRows > 0xffffffff)
    throw bad('PSI maxRows must be a positive 32-bit integer');
  return role === 'initiator' ? createInitiator(resolved) : createResponder(resolved);
}
