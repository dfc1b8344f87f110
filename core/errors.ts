// The one error catalogue: every failure the gateway reports has a stable code, an HTTP status and
// becomes an RFC 9457 problem document. A code without a status does not compile.

export const STATUS = {
  BAD_INPUT: 400,
  UNAUTHENTICATED: 401,
  BAD_SIGNATURE: 401,
  PEER_UNKNOWN: 401,
  PEER_STALE: 401,
  PEER_REPLAY: 401,
  PEER_BODY_MISMATCH: 401,
  FORBIDDEN: 403,
  CONSENT_DENIED: 403,
  COLUMN_DENIED: 403,
  CONNECTOR_PATH_REFUSED: 403,
  LEDGER_UNAUTHORIZED: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  ANCHOR_DUPLICATE: 409,
  ANCHOR_CHAIN_BROKEN: 409,
  IDEMPOTENCY_MISMATCH: 409,
  PEER_KEY_MISMATCH: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  POLICY_INVALID: 422,
  CONNECTOR_SCHEMA_MISMATCH: 422,
  CONNECTOR_DATA_INVALID: 422,
  RATE_LIMITED: 429,
  INTERNAL: 500,
  INTEGRITY_VIOLATION: 500,
  PEER_REJECTED: 502,
  PEER_UNAVAILABLE: 502,
  PEER_BAD_RESPONSE: 502,
  STORE_UNAVAILABLE: 503,
  KEYSTORE_LOCKED: 503,
  LEDGER_UNAVAILABLE: 503,
  PEER_OVERLOADED: 503,
  PEER_TIMEOUT: 504,
  PSI_BAD_MESSAGE: 400,
  PSI_VERSION_UNSUPPORTED: 400,
  PSI_WRONG_JOB: 409,
  PSI_WRONG_PARTY: 409,
  PSI_UNEXPECTED_STEP: 409,
  PSI_SET_TOO_LARGE: 413,
  PSI_COUNT_MISMATCH: 422,
  PSI_SMALL_ORDER_POINT: 422,
  PSI_DUPLICATE_POINT: 422,
  PSI_DUPLICATE_INPUT: 422,
} as const satisfies Record<string, number>;

export type ErrorCode = keyof typeof STATUS;

/** Short human titles for problem documents; `satisfies` keeps this table complete. */
export const TITLE = {
  BAD_INPUT: 'Request is malformed',
  UNAUTHENTICATED: 'Authentication required',
  BAD_SIGNATURE: 'Signature does not verify',
  PEER_UNKNOWN: 'Peer gateway is not registered or is disabled',
  PEER_STALE: 'Peer request timestamp is outside the accepted window',
  PEER_REPLAY: 'Peer request was already received',
  PEER_BODY_MISMATCH: 'Peer request body does not match its signed hash',
  FORBIDDEN: 'Role not allowed',
  CONSENT_DENIED: 'Consent does not cover this use',
  COLUMN_DENIED: 'Purpose does not allow these columns',
  CONNECTOR_PATH_REFUSED: 'Source path is outside the allowed import roots',
  LEDGER_UNAUTHORIZED: 'Account may not write to the ledger',
  NOT_FOUND: 'Not found',
  CONFLICT: 'Conflicts with current state',
  ANCHOR_DUPLICATE: 'Root is already anchored',
  ANCHOR_CHAIN_BROKEN: 'Previous root does not match the gateway\'s last anchor',
  IDEMPOTENCY_MISMATCH: 'Idempotency key reused with a different request',
  PEER_KEY_MISMATCH: 'Peer key differs from the ledger registry',
  PAYLOAD_TOO_LARGE: 'Payload too large',
  UNSUPPORTED_MEDIA_TYPE: 'Unsupported media type',
  POLICY_INVALID: 'Policy set is invalid',
  CONNECTOR_SCHEMA_MISMATCH: 'Source does not match the view declaration',
  CONNECTOR_DATA_INVALID: 'Source has an invalid row',
  RATE_LIMITED: 'Too many requests',
  INTERNAL: 'Internal error',
  INTEGRITY_VIOLATION: 'Stored record fails its integrity check',
  PEER_REJECTED: 'Peer gateway refused the request',
  PEER_UNAVAILABLE: 'Peer gateway is unavailable',
  PEER_BAD_RESPONSE: 'Peer gateway sent an invalid response',
  STORE_UNAVAILABLE: 'Store unavailable',
  KEYSTORE_LOCKED: 'Key store cannot be unlocked',
  LEDGER_UNAVAILABLE: 'Ledger unavailable',
  PEER_OVERLOADED: 'Too many peer requests in the replay window',
  PEER_TIMEOUT: 'Peer did not answer in time',
  PSI_BAD_MESSAGE: 'PSI message is malformed',
  PSI_VERSION_UNSUPPORTED: 'PSI protocol version is not supported',
  PSI_WRONG_JOB: 'PSI message belongs to another job',
  PSI_WRONG_PARTY: 'PSI message is from or for another party',
  PSI_UNEXPECTED_STEP: 'PSI message is not expected at this step',
  PSI_SET_TOO_LARGE: 'PSI set is larger than allowed',
  PSI_COUNT_MISMATCH: 'PSI message counts are inconsistent',
  PSI_SMALL_ORDER_POINT: 'PSI point has small order',
  PSI_DUPLICATE_POINT: 'PSI set repeats a point',
  PSI_DUPLICATE_INPUT: 'PSI input repeats an identifier',
} as const satisfies Record<ErrorCode, string>;

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
    return STATUS[this.code];
  }
}

export const isGatewayError = (e: unknown): e is GatewayError => e instanceof GatewayError;
