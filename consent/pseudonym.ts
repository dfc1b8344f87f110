// Subject pseudonyms: keyed HMAC-SHA256 (RFC 2104) of the raw identifier, base64url (RFC 4648 §5) without padding,
// so the raw id is never stored and nobody without the subject key can link a pseudonym back to a person.
import { createHmac } from 'node:crypto';
import { abytes } from '../core/bytes.ts';
import { GatewayError } from '../core/errors.ts';
import { Pseudonym } from './record.ts';

// Domain separation: a pseudonym can never collide with another HMAC use of the same key.
const DOMAIN = 'sealgate/subject/v1\0';

/** 'sp_' + base64url(HMAC-SHA256(subjectKey, DOMAIN + rawId)): 43 characters after the prefix. */
export function pseudonymize(subjectKey: Uint8Array, rawId: string): string {
  // The key is the gateway's own (the key store holds it): a wrong one is a programmer error, not a bad request.
  abytes(subjectKey, 32, 'subjectKey');
  // The raw id is personal data: the message names the rule, never the value.
  if (typeof rawId !== 'string' || rawId.length < 1 || rawId.length > 256) {
    throw new GatewayError('BAD_INPUT', 'subject id must be 1 to 256 characters');
  }
  return (
    'sp_' +
    createHmac('sha256', subjectKey)
      .update(DOMAIN + rawId, 'utf8')
      .digest('base64url')
  );
}

export function isPseudonym(value: unknown): value is string {
  return Pseudonym.safeParse(value).success;
}
