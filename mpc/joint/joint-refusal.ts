// A peer refused one of a joint protocol's messages with `code`: both ends of the bad message fail with that code,
// the peer as the party that caught it and this gateway, the sender, as the one blamed (as PSI does, psi-protocol.ts).
import { GatewayError, isErrorCode } from '../../core/errors.ts';

const SHARED_CODES: ReadonlySet<string> = new Set([
  'JOB_BAD_MESSAGE',
  'JOB_ALIGNMENT_UNAVAILABLE',
  'HE_BAD_CIPHERTEXT',
  'HE_BAD_KEY',
]);

export function jointPeerRefusal(code: string, peer: string, self: string, cause: unknown): GatewayError | null {
  if (!SHARED_CODES.has(code) || !isErrorCode(code)) return null;
  return new GatewayError(
    code,
    `party ${peer} rejected a message from ${self}`,
    { party: peer, peer: self },
    { cause },
  );
}
