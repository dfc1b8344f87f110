// The signed envelope of the gateway-to-gateway protocol (docs/peer-protocol.md): Ed25519 (RFC 8032)
// over a line-based canonical string that binds method, path, sender, recipient, time, nonce and the
// SHA-256 of the exact body bytes. Pure: no I/O, no clock, no fastify.
import { randomBytes } from 'node:crypto';
import type { z } from 'zod';
import { sha256Hex } from '../../consent/canonical.ts';
import { SHA256_HEX } from '../../consent/record.ts';
import { verifySignature, type Signer } from '../../consent/signer.ts';
import { GatewayError } from '../../core/errors.ts';
import { PartyId } from '../../core/party-id.ts';

export const PEER_PROTOCOL = 'sealgate-peer-v1';
const RESPONSE_DOMAIN = 'sealgate-peer-v1-response';

export const PEER_HEADERS = {
  peer: 'x-sealgate-peer',
  timestamp: 'x-sealgate-timestamp',
  nonce: 'x-sealgate-nonce',
  contentSha256: 'x-sealgate-content-sha256',
  signature: 'x-sealgate-signature',
} as const;

/** A party id, the same shape as SEALGATE_PARTY_ID: it cannot hold a newline, so it cannot forge a line. */
/** A partner's party id: the one rule every party id follows (core/party-id.ts). */
export const PeerId = PartyId;
export type PeerId = z.infer<typeof PeerId>;

/** SHA-256 of zero bytes: the content hash of a request or response without a body. */
export const EMPTY_SHA256 = sha256Hex(new Uint8Array(0));

const METHOD = /^[A-Z]{1,10}$/;
// Visible ASCII only: no space, CR or LF can split a field, and the path is what the receiver's
// HTTP parser hands over byte for byte. '//' would make a URL parser read a host.
const PATH = /^\/(?!\/)[\x21-\x7e]{0,2047}$/;
const TIMESTAMP = /^(0|[1-9][0-9]{0,15})$/;
const NONCE = /^[A-Za-z0-9_-]{22}$/;
const SIGNATURE = /^[A-Za-z0-9_-]{86}$/;
const NONCE_BYTES = 16;

export type SignedRequest = {
  method: string;
  /** The request target exactly as sent on the wire: path plus query string. */
  pathWithQuery: string;
  sender: string;
  recipient: string;
  timestampMs: number;
  nonce: string;
  contentSha256: string;
};

export type SignedResponse = {
  status: number;
  /** The nonce of the request this answers: a response cannot be replayed onto another request. */
  requestNonce: string;
  /** The responding party. */
  sender: string;
  /** The party that sent the request. */
  recipient: string;
  timestampMs: number;
  contentSha256: string;
};

/** The five header values of one signed message, as read from the wire. */
export type PeerHeaderValues = {
  peer: string;
  timestampMs: number;
  nonce: string;
  contentSha256: string;
  signature: string;
};

export type HeaderReadResult =
  | { ok: true; value: PeerHeaderValues }
  | { ok: false; reason: 'missing-peer' | 'malformed-headers'; peer: string | null };

function check(isValid: boolean, name: string): void {
  if (!isValid) throw new GatewayError('BAD_INPUT', `peer message field ${name} is malformed`, { field: name });
}

const isTimestamp = (ms: number) => Number.isSafeInteger(ms) && ms >= 0;

/** The exact bytes a request signature covers. Throws BAD_INPUT naming the first malformed field. */
export function requestSigningInput(r: SignedRequest): Uint8Array {
  check(METHOD.test(r.method), 'method');
  check(PATH.test(r.pathWithQuery), 'pathWithQuery');
  check(PeerId.safeParse(r.sender).success, 'sender');
  check(PeerId.safeParse(r.recipient).success, 'recipient');
  check(isTimestamp(r.timestampMs), 'timestampMs');
  check(NONCE.test(r.nonce), 'nonce');
  check(SHA256_HEX.test(r.contentSha256), 'contentSha256');
  const text = [
    PEER_PROTOCOL,
    r.method,
    r.pathWithQuery,
    r.sender,
    r.recipient,
    String(r.timestampMs),
    r.nonce,
    r.contentSha256,
  ].join('\n');
  return Buffer.from(text, 'utf8');
}

/** The exact bytes a response signature covers. Throws BAD_INPUT naming the first malformed field. */
export function responseSigningInput(r: SignedResponse): Uint8Array {
  check(Number.isInteger(r.status) && r.status >= 100 && r.status <= 599, 'status');
  check(NONCE.test(r.requestNonce), 'requestNonce');
  check(PeerId.safeParse(r.sender).success, 'sender');
  check(PeerId.safeParse(r.recipient).success, 'recipient');
  check(isTimestamp(r.timestampMs), 'timestampMs');
  check(SHA256_HEX.test(r.contentSha256), 'contentSha256');
  const text = [
    RESPONSE_DOMAIN,
    String(r.status),
    r.requestNonce,
    r.sender,
    r.recipient,
    String(r.timestampMs),
    r.contentSha256,
  ].join('\n');
  return Buffer.from(text, 'utf8');
}

/** The five headers to send with a request. */
export function signRequest(signer: Pick<Signer, 'sign'>, r: SignedRequest): Record<string, string> {
  const { sender, timestampMs, nonce, contentSha256 } = r;
  return headersOf({ sender, timestampMs, nonce, contentSha256, signature: signer.sign(requestSigningInput(r)) });
}

/** The headers to send with a response (the nonce header repeats the request's). */
export function signResponse(signer: Pick<Signer, 'sign'>, r: SignedResponse): Record<string, string> {
  const { sender, timestampMs, requestNonce: nonce, contentSha256 } = r;
  return headersOf({ sender, timestampMs, nonce, contentSha256, signature: signer.sign(responseSigningInput(r)) });
}

function headersOf({
  sender,
  timestampMs,
  nonce,
  contentSha256,
  signature,
}: {
  sender: string;
  timestampMs: number;
  nonce: string;
  contentSha256: string;
  signature: Uint8Array;
}): Record<string, string> {
  return {
    [PEER_HEADERS.peer]: sender,
    [PEER_HEADERS.timestamp]: String(timestampMs),
    [PEER_HEADERS.nonce]: nonce,
    [PEER_HEADERS.contentSha256]: contentSha256,
    [PEER_HEADERS.signature]: Buffer.from(signature).toString('base64url'),
  };
}

/** True only when `signature` (base64url) verifies; malformed fields verify as false, never throw. */
export function verifyRequest(publicKeyRaw: Uint8Array, r: SignedRequest, signature: string): boolean {
  return verifyOver(publicKeyRaw, () => requestSigningInput(r), signature);
}

export function verifyResponse(publicKeyRaw: Uint8Array, r: SignedResponse, signature: string): boolean {
  return verifyOver(publicKeyRaw, () => responseSigningInput(r), signature);
}

function verifyOver(publicKeyRaw: Uint8Array, input: () => Uint8Array, signature: string): boolean {
  if (typeof signature !== 'string' || !SIGNATURE.test(signature)) return false;
  let message: Uint8Array;
  try {
    message = input();
  } catch {
    return false;
  }
  return verifySignature(publicKeyRaw, message, new Uint8Array(Buffer.from(signature, 'base64url')));
}

type Headers = Record<string, string | string[] | undefined>;

/** The signed-message headers, each exactly once and well formed; a repeated header is malformed. */
export function readPeerHeaders(headers: Headers): HeaderReadResult {
  const one = (name: string): string | undefined => {
    const value = headers[name];
    return typeof value === 'string' ? value : undefined;
  };
  const peer = one(PEER_HEADERS.peer);
  if (peer === undefined || !PeerId.safeParse(peer).success) return { ok: false, reason: 'missing-peer', peer: null };
  const timestamp = one(PEER_HEADERS.timestamp);
  const nonce = one(PEER_HEADERS.nonce);
  const contentSha256 = one(PEER_HEADERS.contentSha256);
  const signature = one(PEER_HEADERS.signature);
  if (
    timestamp === undefined ||
    !TIMESTAMP.test(timestamp) ||
    !isTimestamp(Number(timestamp)) ||
    nonce === undefined ||
    !NONCE.test(nonce) ||
    contentSha256 === undefined ||
    !SHA256_HEX.test(contentSha256) ||
    signature === undefined ||
    !SIGNATURE.test(signature)
  ) {
    return { ok: false, reason: 'malformed-headers', peer };
  }
  return { ok: true, value: { peer, timestampMs: Number(timestamp), nonce, contentSha256, signature } };
}

/** 128 random bits, base64url without padding (22 characters). */
export function newNonce(): string {
  return randomBytes(NONCE_BYTES).toString('base64url');
}

export function isNonce(value: unknown): value is string {
  return typeof value === 'string' && NONCE.test(value);
}

export const contentSha256 = (bytes: Uint8Array): string => sha256Hex(bytes);
