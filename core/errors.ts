// The one error catalogue: every failure the gateway reports has a stable code, an HTTP status and a title, and
// becomes an RFC 9457 problem document. One entry per code, grouped by domain (fastify's lib/errors.js); a code
// without a status or a title does not compile.

export const CATALOGUE = {
  // Input and media
  BAD_INPUT: { status: 400, title: 'Request is malformed' },
  NOT_FOUND: { status: 404, title: 'Not found' },
  CONFLICT: { status: 409, title: 'Conflicts with current state' },
  PAYLOAD_TOO_LARGE: { status: 413, title: 'Payload too large' },
  HEADERS_TOO_LARGE: { status: 431, title: 'Request headers too large' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'Unsupported media type' },
  RATE_LIMITED: { status: 429, title: 'Too many requests' },
  IDEMPOTENCY_MISMATCH: { status: 409, title: 'Idempotency key reused with a different request' },
  // Authentication and access
  UNAUTHENTICATED: { status: 401, title: 'Authentication required' },
  BAD_SIGNATURE: { status: 401, title: 'Signature does not verify' },
  FORBIDDEN: { status: 403, title: 'Role not allowed' },
  // Consent and policy
  CONSENT_DENIED: { status: 403, title: 'Consent does not cover this use' },
  COLUMN_DENIED: { status: 403, title: 'Purpose does not allow these columns' },
  POLICY_INVALID: { status: 422, title: 'Policy set is invalid' },
  OUTPUT_REFUSED: { status: 403, title: 'This output may not leave the gateways' },
  ALGORITHM_NOT_ALLOWED: { status: 403, title: 'The listing or order does not allow this algorithm' },
  QUOTA_EXCEEDED: { status: 403, title: "The order's quota does not cover this delivery" },
  // Connectors
  CONNECTOR_PATH_REFUSED: { status: 403, title: 'Source path is outside the allowed import roots' },
  CONNECTOR_SCHEMA_MISMATCH: { status: 422, title: 'Source does not match the view declaration' },
  CONNECTOR_DATA_INVALID: { status: 422, title: 'Source has an invalid row' },
  // Ledger and anchoring
  LEDGER_UNAUTHORIZED: { status: 403, title: 'Account may not write to the ledger' },
  LEDGER_UNAVAILABLE: { status: 503, title: 'Ledger unavailable' },
  ANCHOR_DUPLICATE: { status: 409, title: 'Root is already anchored' },
  ANCHOR_CHAIN_BROKEN: { status: 409, title: "Previous root does not match the gateway's last anchor" },
  // Peers (mpc/peers): the signed gateway-to-gateway protocol
  PEER_UNKNOWN: { status: 401, title: 'Peer gateway is not registered or is disabled' },
  PEER_STALE: { status: 401, title: 'Peer request timestamp is outside the accepted window' },
  PEER_REPLAY: { status: 401, title: 'Peer request was already received' },
  PEER_BODY_MISMATCH: { status: 401, title: 'Peer request body does not match its signed hash' },
  PEER_KEY_MISMATCH: { status: 409, title: 'Peer key differs from the ledger registry' },
  PEER_REJECTED: { status: 502, title: 'Peer gateway refused the request' },
  PEER_UNAVAILABLE: { status: 502, title: 'Peer gateway is unavailable' },
  PEER_BAD_RESPONSE: { status: 502, title: 'Peer gateway sent an invalid response' },
  PEER_OVERLOADED: { status: 503, title: 'Too many peer requests in the replay window' },
  PEER_TIMEOUT: { status: 504, title: 'Peer did not answer in time' },
  // Jobs (mpc/jobs)
  JOB_INTERRUPTED: { status: 503, title: 'The attempt was cut short by a restart of this gateway' },
  // PSI (mpc/psi): every code one party may send another
  PSI_BAD_MESSAGE: { status: 400, title: 'PSI message is malformed' },
  PSI_VERSION_UNSUPPORTED: { status: 400, title: 'PSI protocol version is not supported' },
  PSI_WRONG_JOB: { status: 409, title: 'PSI message belongs to another job' },
  PSI_WRONG_PARTY: { status: 409, title: 'PSI message is from or for another party' },
  PSI_UNEXPECTED_STEP: { status: 409, title: 'PSI message is not expected at this step' },
  PSI_SET_TOO_LARGE: { status: 413, title: 'PSI set is larger than allowed' },
  PSI_COUNT_MISMATCH: { status: 422, title: 'PSI message counts are inconsistent' },
  PSI_SMALL_ORDER_POINT: { status: 422, title: 'PSI point has small order' },
  PSI_DUPLICATE_POINT: { status: 422, title: 'PSI set repeats a point' },
  PSI_DUPLICATE_INPUT: { status: 422, title: 'PSI input repeats an identifier' },
  JOB_BAD_MESSAGE: { status: 400, title: 'Protocol message is malformed' },
  JOB_ALIGNMENT_UNAVAILABLE: { status: 409, title: 'The aligned rows the job runs on are not available' },
  JOB_DROPPED_OUT: { status: 409, title: 'The job completed without this party, which dropped out of it' },
  PRIVACY_BUDGET_EXCEEDED: { status: 409, title: 'The privacy budget of this dataset and purpose would be exceeded' },
  // Homomorphic encryption (mpc/he)
  HE_BAD_CIPHERTEXT: { status: 422, title: 'Ciphertext is malformed or does not fit the job parameters' },
  HE_BAD_KEY: { status: 422, title: 'Public key is malformed or does not fit the job parameters' },
  HE_DEPTH_EXCEEDED: { status: 422, title: 'Computation needs more depth than the parameter preset offers' },
  // Secure aggregation (mpc/secagg)
  SECAGG_TOO_FEW_PARTIES: { status: 409, title: 'Too few parties remain for the secure-aggregation threshold' },
  SECAGG_WRONG_ROUND: { status: 409, title: 'Secure-aggregation message belongs to another round' },
  SECAGG_EQUIVOCATION: { status: 409, title: 'A party sent conflicting secure-aggregation messages' },
  SECAGG_BAD_ATTESTATION: { status: 422, title: 'Secure-aggregation statement is not signed by the party it names' },
  SECAGG_BAD_SHARE: { status: 422, title: 'Secure-aggregation share is malformed or does not reconstruct' },
  SECAGG_BAD_VECTOR: { status: 422, title: 'Masked vector has the wrong length or encoding' },
  // Server and storage
  INTERNAL: { status: 500, title: 'Internal error' },
  INTEGRITY_VIOLATION: { status: 500, title: 'Stored record fails its integrity check' },
  STORE_UNAVAILABLE: { status: 503, title: 'Store unavailable' },
  KEYSTORE_LOCKED: { status: 503, title: 'Key store cannot be unlocked' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ErrorCode = keyof typeof CATALOGUE;

/**
 * For codes that arrive as data (a peer's answer, a stored failure, a request): own keys of the catalogue only.
 * `'constructor' in CATALOGUE` is true, so a string from outside is never checked with `in`.
 */
export const isErrorCode = (value: unknown): value is ErrorCode =>
  typeof value === 'string' && Object.hasOwn(CATALOGUE, value);

/**
 * `value` when it is a catalogued code, else `fallback`: the one way a code that arrived as data becomes an ErrorCode.
 */
export const errorCodeOr = (value: unknown, fallback: ErrorCode): ErrorCode => (isErrorCode(value) ? value : fallback);

export class GatewayError extends Error {
  readonly code: ErrorCode;
  /** Safe, client-visible detail. Never put secrets, raw identifiers or stacks here. */
  readonly detail: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, detail: Record<string, unknown> = {}, options?: ErrorOptions) {
    super(message, options);
    this.name = 'GatewayError';
    this.code = code;
    this.detail = detail;
  }

  get status(): number {
    return CATALOGUE[this.code].status;
  }
}

export const isGatewayError = (e: unknown): e is GatewayError => e instanceof GatewayError;
