// Signed event ingest, in the style of Stripe webhook signatures: the header
//   x-sealgate-signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, t + "." + raw body)>
// (HMAC per RFC 2104 with SHA-256, FIPS 180-4). The timestamp bounds replay of a captured request;
// eventIds stop replay inside that window. Several v1 entries may be sent; one match suffices.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { GatewayError } from '../core/errors.ts';

export const SIGNATURE_HEADER = 'x-sealgate-signature';
export const DEFAULT_TOLERANCE_SECONDS = 300;

const MAX_HEADER_LENGTH = 1024;
const MAX_V1 = 8;

function hmacHex(secret: string, timestamp: string, body: Uint8Array): Buffer {
  const mac = createHmac('sha256', Buffer.from(secret, 'utf8'));
  mac.update(`${timestamp}.`, 'utf8');
  mac.update(body);
  return mac.digest();
}

/** The header value for `body` signed at `at` (what a collector sends; used by tests and the docs). */
export function signIngestBody(secret: string, body: Uint8Array | string, at: Date): string {
  const timestamp = String(Math.floor(at.getTime() / 1000));
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  return `t=${timestamp},v1=${hmacHex(secret, timestamp, bytes).toString('hex')}`;
}

const reject = (reason: string, message: string) => new GatewayError('BAD_SIGNATURE', message, { reason });

/**
 * Throws BAD_SIGNATURE (401) unless `header` carries a timestamp within `toleranceSeconds` of `now`
 * and a v1 HMAC of exactly `rawBody` under `secret`. The comparison is constant-time.
 */
export function verifyIngestSignature({
  secret,
  header,
  rawBody,
  now,
  toleranceSeconds = DEFAULT_TOLERANCE_SECONDS,
}: {
  secret: string;
  header: string | undefined;
  rawBody: Uint8Array;
  now: Date;
  toleranceSeconds?: number;
}): void {
  if (typeof header !== 'string' || header.length === 0) throw reject('missing', `missing ${SIGNATURE_HEADER} header`);
  if (header.length > MAX_HEADER_LENGTH) throw reject('malformed', `${SIGNATURE_HEADER} header is too long`);
  let timestamp: string | undefined;
  const candidates: Buffer[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (eq < 1) throw reject('malformed', `${SIGNATURE_HEADER} header is malformed`);
    if (key === 't') {
      if (timestamp !== undefined || !/^\d{1,12}$/.test(value))
        throw reject('malformed', `${SIGNATURE_HEADER} needs exactly one t=<unix seconds>`);
      timestamp = value;
    } else if (key === 'v1') {
      // A malformed v1 cannot match; it is skipped rather than compared.
      if (/^[0-9a-fA-F]{64}$/.test(value) && candidates.length < MAX_V1) candidates.push(Buffer.from(value, 'hex'));
    }
    // Other schemes (v0, future versions) are ignored, as in Stripe's scheme.
  }
  if (timestamp === undefined) throw reject('malformed', `${SIGNATURE_HEADER} has no t=<unix seconds>`);
  if (candidates.length === 0) throw reject('malformed', `${SIGNATURE_HEADER} has no v1 signature`);
  const skew = Math.abs(now.getTime() / 1000 - Number(timestamp));
  if (!(skew <= toleranceSeconds)) {
    throw reject('stale', `signature timestamp is more than ${toleranceSeconds} s from the gateway clock`);
  }
  const expected = hmacHex(secret, timestamp, rawBody);
  // Every candidate is compared (no early exit), each in constant time.
  let isMatch = false;
  for (const candidate of candidates) isMatch = timingSafeEqual(candidate, expected) || isMatch;
  if (!isMatch) throw reject('mismatch', 'signature does not match the body under the stream secret');
}
