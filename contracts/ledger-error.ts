// Maps ethers v6 / JSON-RPC failures and the ledger contracts' custom errors (Solidity ≥0.8.4
// `error` selectors) onto the gateway error catalogue, without leaking RPC URLs or keys.
import { Interface, isError } from 'ethers';
import type { ErrorCode } from '../core/errors.ts';
import { GatewayError } from '../core/errors.ts';
import { LEDGER_CONTRACT_NAMES, loadCompiledContract } from './artifacts.ts';

/** Every custom error declared by the ledger contracts, and the code it becomes. */
const REVERT_CODES: Record<string, ErrorCode> = {
  DuplicateRoot: 'ANCHOR_DUPLICATE',
  BrokenChain: 'ANCHOR_CHAIN_BROKEN',
  NotActiveGateway: 'LEDGER_UNAUTHORIZED',
  NotOwner: 'LEDGER_UNAUTHORIZED',
  NotGatewayOrOwner: 'LEDGER_UNAUTHORIZED',
  NotPackageOwner: 'LEDGER_UNAUTHORIZED',
  AccessDenied: 'LEDGER_UNAUTHORIZED',
  GatewayExists: 'CONFLICT',
  GatewayNotActive: 'CONFLICT',
  AccountInUse: 'CONFLICT',
  KeyInUse: 'CONFLICT',
  KeyMismatch: 'CONFLICT',
  BadRotationSignature: 'LEDGER_UNAUTHORIZED',
  PackageExists: 'CONFLICT',
  AlreadyAttested: 'CONFLICT',
  AlreadyRevoked: 'CONFLICT',
  UnknownGateway: 'NOT_FOUND',
  UnknownPackage: 'NOT_FOUND',
  NotFound: 'NOT_FOUND',
  ZeroRegistry: 'BAD_INPUT',
  ZeroId: 'BAD_INPUT',
  ZeroKey: 'BAD_INPUT',
  ZeroAccount: 'BAD_INPUT',
  ZeroRoot: 'BAD_INPUT',
  EmptyBatch: 'BAD_INPUT',
  ZeroHash: 'BAD_INPUT',
  ZeroPackageId: 'BAD_INPUT',
  InvalidExpirationTime: 'BAD_INPUT',
  Irrevocable: 'BAD_INPUT',
};

// Transport and node-side failures: retrying later may succeed, so they are "unavailable", not bugs.
const UNAVAILABLE_ETHERS_CODES = new Set([
  'NETWORK_ERROR',
  'SERVER_ERROR',
  'TIMEOUT',
  'BAD_DATA',
  'UNKNOWN_ERROR',
  'INSUFFICIENT_FUNDS',
  'NONCE_EXPIRED',
  'REPLACEMENT_UNDERPRICED',
  'TRANSACTION_REPLACED',
  'CANCELLED',
  'UNCONFIGURED_NAME',
]);
const UNAVAILABLE_SYSTEM_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EPIPE',
  'EAI_AGAIN',
]);

let errorInterface: Interface | undefined;
/** One Interface holding every contract's errors, so any revert payload can be decoded. */
function ledgerErrors(): Interface {
  errorInterface ??= new Interface(
    LEDGER_CONTRACT_NAMES.flatMap((name) => loadCompiledContract(name).abi.filter((f) => f['type'] === 'error')),
  );
  return errorInterface;
}

/**
 * Hex payloads that may hold revert data. ethers puts it on CALL_EXCEPTION.data when it recognises
 * the revert, but a node that reverts inside eth_sendTransaction (JSON-RPC error code 3) reaches us
 * as UNKNOWN_ERROR with the payload nested in `error.data` or `info.error.data`.
 */
function revertPayloads(error: unknown, depth = 0, out: string[] = []): string[] {
  if (depth > 4 || typeof error !== 'object' || error === null) return out;
  const e = error as Record<string, unknown>;
  const data = e['data'];
  if (typeof data === 'string' && /^0x[0-9a-fA-F]{8}/.test(data)) out.push(data);
  for (const key of ['error', 'info', 'cause']) revertPayloads(e[key], depth + 1, out);
  return out;
}

/** The custom-error name inside a revert, if it is one of ours. */
export function revertNameOf(error: unknown): string | undefined {
  if (
    isError(error, 'CALL_EXCEPTION') &&
    error.revert?.name !== undefined &&
    Object.hasOwn(REVERT_CODES, error.revert.name)
  ) {
    return error.revert.name;
  }
  for (const payload of revertPayloads(error)) {
    try {
      const name = ledgerErrors().parseError(payload)?.name;
      if (name !== undefined && Object.hasOwn(REVERT_CODES, name)) return name;
    } catch {
      // not one of our error selectors
    }
  }
  return undefined;
}

function systemCodeOf(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && UNAVAILABLE_SYSTEM_CODES.has(code)) return code;
  }
  return undefined;
}

/**
 * Turns any failure of a ledger `operation` into a GatewayError. Detail carries the operation and a
 * short reason only; the original error (which may hold the RPC URL) travels as `cause` for logs.
 */
export function toLedgerError(error: unknown, operation: string): GatewayError {
  if (error instanceof GatewayError) return error;
  const revert = revertNameOf(error);
  if (revert !== undefined) {
    const code = REVERT_CODES[revert] ?? 'INTERNAL';
    return new GatewayError(
      code,
      `ledger refused ${operation}: ${revert}`,
      { operation, reason: revert },
      { cause: error },
    );
  }
  if (isError(error, 'CALL_EXCEPTION')) {
    // Reverted without one of our errors (out of gas, wrong address, foreign contract).
    return new GatewayError(
      'INTERNAL',
      `ledger call ${operation} reverted`,
      { operation, reason: 'reverted' },
      { cause: error },
    );
  }
  const ethersCode = (error as { code?: unknown } | null)?.code;
  if (typeof ethersCode === 'string' && UNAVAILABLE_ETHERS_CODES.has(ethersCode)) {
    return new GatewayError(
      'LEDGER_UNAVAILABLE',
      `ledger unavailable during ${operation}`,
      { operation, reason: ethersCode.toLowerCase() },
      { cause: error },
    );
  }
  const system = systemCodeOf(error);
  if (system !== undefined) {
    return new GatewayError(
      'LEDGER_UNAVAILABLE',
      `ledger unavailable during ${operation}`,
      { operation, reason: system.toLowerCase() },
      { cause: error },
    );
  }
  return new GatewayError('INTERNAL', `ledger operation ${operation} failed`, { operation }, { cause: error });
}
