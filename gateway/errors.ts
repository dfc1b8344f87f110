// The one error catalogue: every failure the gateway reports has a stable code, an HTTP status and
// becomes an RFC 9457 problem document. A code without a status does not compile.

export const STATUS = {
  BAD_INPUT: 400,
  UNAUTHENTICATED: 401,
  BAD_SIGNATURE: 401,
  FORBIDDEN: 403,
  CONSENT_DENIED: 403,
  LEDGER_UNAUTHORIZED: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  ANCHOR_DUPLICATE: 409,
  ANCHOR_CHAIN_BROKEN: 409,
  IDEMPOTENCY_MISMATCH: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  POLICY_INVALID: 422,
  RATE_LIMITED: 429,
  INTERNAL: 500,
  INTEGRITY_VIOLATION: 500,
  STORE_UNAVAILABLE: 503,
  KEYSTORE_LOCKED: 503,
  LEDGER_UNAVAILABLE: 503,
  PEER_TIMEOUT: 504,
} as const satisfies Record<string, number>;

export type ErrorCode = keyof typeof STATUS;

/** Short human titles for problem documents; `satisfies` keeps this table complete. */
export const TITLE = {
  BAD_INPUT: 'Request is malformed',
  UNAUTHENTICATED: 'Authentication required',
  BAD_SIGNATURE: 'Signature does not verify',
  FORBIDDEN: 'Role not allowed',
  CONSENT_DENIED: 'Consent does not cover this use',
  LEDGER_UNAUTHORIZED: 'Account may not write to the ledger',
  NOT_FOUND: 'Not found',
  CONFLICT: 'Conflicts with current state',
  ANCHOR_DUPLICATE: 'Root is already anchored',
  ANCHOR_CHAIN_BROKEN: 'Previous root does not match the gateway\'s last anchor',
  IDEMPOTENCY_MISMATCH: 'Idempotency key reused with a different request',
  PAYLOAD_TOO_LARGE: 'Payload too large',
  UNSUPPORTED_MEDIA_TYPE: 'Unsupported media type',
  POLICY_INVALID: 'Policy set is invalid',
  RATE_LIMITED: 'Too many requests',
  INTERNAL: 'Internal error',
  INTEGRITY_VIOLATION: 'Stored record fails its integrity check',
  STORE_UNAVAILABLE: 'Store unavailable',
  KEYSTORE_LOCKED: 'Key store cannot be unlocked',
  LEDGER_UNAVAILABLE: 'Ledger unavailable',
  PEER_TIMEOUT: 'Peer did not answer in time',
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
