// Outgoing side of the signed peer protocol (docs/peer-protocol.md): signs every attempt afresh,
// sends it with fetch under one deadline, retries only transient failures, verifies the signed
// answer, propagates W3C traceparent and writes every cross-party message to the audit log.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { AuditInput } from '../../consent/audit.ts';
import type { Clock } from '../../core/clock.ts';
import { createSigner } from '../../consent/signer.ts';
import { GatewayError, isGatewayError, type ErrorCode } from '../../core/errors.ts';
import type { KeyObject } from 'node:crypto';
import type { PeerRegistry } from './peer-registry.ts';
import {
  PEER_PROTOCOL,
  contentSha256,
  newNonce,
  readPeerHeaders,
  signRequest,
  verifyResponse,
} from './peer-signature.ts';
import { TRACEPARENT_HEADER, continueTrace, formatTraceparent } from '../../core/trace-context.ts';

/** What the caller says about a message for the audit log (DESIGN.md §4 Audit). */
export type PeerMessageMeta = {
  jobId?: string;
  step?: string;
  isEncrypted?: boolean;
  isBlinded?: boolean;
};

export type PeerRequestOptions = PeerMessageMeta & {
  /** The whole call, retries and backoff included. Default 10 s. */
  deadlineMs?: number;
  /** The caller's trace; the call becomes a new span in it. Absent or malformed: a new trace. */
  traceparent?: string;
  /** Extra attempts after the first, for transient failures only. Default 3. */
  retries?: number;
};

export type PeerResponse = {
  status: number;
  /** Parsed JSON when the peer answered application/json, else the raw bytes. */
  body: unknown;
  bytes: number;
  traceId: string;
  attempts: number;
};

/** One call to a peer. `path` is the request target (path and query). */
export type PeerRequest = {
  peerId: string;
  method: string;
  path: string;
  /** Undefined for none, a Buffer/Uint8Array as application/octet-stream, anything else as JSON. */
  body?: unknown;
  options?: PeerRequestOptions;
};

export type PeerClient = {
  /**
   * Sends one signed request to an active peer.
   * Throws NOT_FOUND (unknown peer), CONFLICT (disabled peer), BAD_INPUT, PEER_TIMEOUT (deadline),
   * PEER_UNAVAILABLE (transient failures outlasted the retries), PEER_REJECTED (the peer refused),
   * PEER_BAD_RESPONSE (the answer does not verify or parse).
   */
  request(call: PeerRequest): Promise<PeerResponse>;
};

/** A failed outgoing call: to whom, and the catalogue code the caller gets. */
export type PeerCallFailure = { peer: string; code: ErrorCode };

/** What the client needs of the party identity: who it is and the Ed25519 key that signs its requests. */
export type PeerSigningIdentity = { partyId: string; ed25519: { privateKey: KeyObject } };

export type PeerClientOptions = {
  identity: PeerSigningIdentity;
  peers: Pick<PeerRegistry, 'get'>;
  clock: Clock;
  log: Logger;
  audit: (input: AuditInput) => Promise<unknown>;
  /**
   * Called once for each call that went out and failed, with the code it throws (the shell counts them for operators).
   * A call refused before anything is sent (unknown or disabled peer, bad input, an audit that fails) is not one.
   */
  onFailure?: (failure: PeerCallFailure) => void;
  fetch?: typeof fetch;
  /** First backoff step; each retry doubles it (full jitter), capped at 2 s. Default 100 ms. */
  retryBaseMs?: number;
  maxResponseBytes?: number;
};

const DEFAULT_DEADLINE_MS = 10_000;
const MAX_DEADLINE_MS = 600_000;
const DEFAULT_RETRIES = 3;
const MAX_BACKOFF_MS = 2_000;
const TRANSIENT_STATUS = new Set([502, 503, 504]);
const JSON_TYPE = /^application\/([a-z.+-]*\+)?json\s*(;|$)/i;

type Attempt = { kind: 'transient'; status: number | null } | { kind: 'done'; response: PeerResponse };

export function createPeerClient(options: PeerClientOptions): PeerClient {
  const { identity, peers, clock, audit } = options;
  const fetchImpl = options.fetch ?? fetch;
  const retryBaseMs = options.retryBaseMs ?? 100;
  const maxResponseBytes = options.maxResponseBytes ?? 64 * 1024 * 1024;
  const self = identity.partyId;
  const signer = createSigner(identity.ed25519.privateKey);
  const log = options.log.child({ component: 'peer-client' });

  return {
    async request({ peerId, method, path, body, options: requestOptions = {} }) {
      const peer = peers.get(peerId);
      if (peer === undefined) throw new GatewayError('NOT_FOUND', 'no such peer');
      if (peer.status !== 'active') throw new GatewayError('CONFLICT', 'peer is disabled', { peer: peerId });
      const deadlineMs = requestOptions.deadlineMs ?? DEFAULT_DEADLINE_MS;
      const retries = requestOptions.retries ?? DEFAULT_RETRIES;
      if (!Number.isSafeInteger(deadlineMs) || deadlineMs < 1 || deadlineMs > MAX_DEADLINE_MS) {
        throw new GatewayError('BAD_INPUT', `deadlineMs must be an integer 1..${MAX_DEADLINE_MS}`);
      }
      if (!Number.isSafeInteger(retries) || retries < 0 || retries > 20)
        throw new GatewayError('BAD_INPUT', 'retries must be an integer 0..20');
      if (!/^[A-Z]{1,10}$/.test(method))
        throw new GatewayError('BAD_INPUT', 'method must be an upper-case HTTP method');
      const url = targetUrl(peer.baseUrl, path);
      const payload = encodeBody(method, body);
      const hash = contentSha256(payload.bytes);
      const trace = continueTrace(requestOptions.traceparent);
      const traceparent = formatTraceparent(trace);
      const callLog = log.child({ peer: peerId, traceId: trace.traceId });
      const meta = auditMeta(requestOptions);
      const auditPath = path.split('?')[0] ?? path;

      // Before any byte leaves: a message that cannot be audited is not sent (fail closed).
      await audit({
        kind: 'message',
        actor: self,
        action: 'peer-send',
        outcome: 'ok',
        refs: meta.refs,
        detail: {
          peer: peerId,
          direction: 'out',
          method,
          path: auditPath,
          bytes: payload.bytes.length,
          ...meta.detail,
          protocol: PEER_PROTOCOL,
          traceId: trace.traceId,
        },
      });

      const signal = AbortSignal.timeout(deadlineMs);
      const deadlineAt = performance.now() + deadlineMs;
      let attempts = 0;
      let lastStatus: number | null = null;

      const attempt = async (): Promise<Attempt> => {
        const nonce = newNonce();
        const headers: Record<string, string> = {
          ...signRequest(signer, {
            method,
            pathWithQuery: path,
            sender: self,
            recipient: peerId,
            timestampMs: clock.now().getTime(),
            nonce,
            contentSha256: hash,
          }),
          [TRACEPARENT_HEADER]: traceparent,
          accept: 'application/json, application/octet-stream',
        };
        if (payload.contentType !== null) headers['content-type'] = payload.contentType;
        let response: Response;
        try {
          response = await fetchImpl(url, {
            method,
            headers,
            signal,
            redirect: 'manual',
            ...(payload.contentType === null ? {} : { body: payload.bytes }),
          });
        } catch (error) {
          if (signal.aborted) throw error;
          // Refused, reset, unreachable: nothing was answered, so trying again is safe.
          callLog.info({ attempt: attempts, cause: causeCode(error) }, 'peer request failed to connect');
          return { kind: 'transient', status: null };
        }
        if (TRANSIENT_STATUS.has(response.status)) {
          await response.body?.cancel().catch(() => undefined);
          callLog.info({ attempt: attempts, status: response.status }, 'peer answered with a transient error');
          return { kind: 'transient', status: response.status };
        }
        const bytes = await readLimited(response, maxResponseBytes, peerId);
        const verified = verifyAnswer(response, bytes, nonce);
        if (response.status < 200 || response.status > 299) {
          const peerCode = verified === null ? problemCode(response, bytes) : null;
          throw new GatewayError('PEER_REJECTED', `peer answered ${response.status}`, {
            peer: peerId,
            status: response.status,
            isSigned: verified === null,
            ...(peerCode === null ? {} : { peerCode }),
          });
        }
        if (verified !== null)
          throw new GatewayError('PEER_BAD_RESPONSE', `peer answer does not verify: ${verified}`, {
            peer: peerId,
            reason: verified,
          });
        return {
          kind: 'done',
          response: {
            status: response.status,
            body: decodeBody(response, bytes, peerId),
            bytes: bytes.length,
            traceId: trace.traceId,
            attempts,
          },
        };
      };

      /** null when the answer is signed by the peer, for this request, over these bytes; else why not. */
      const verifyAnswer = (response: Response, bytes: Buffer, nonce: string): string | null => {
        const read = readPeerHeaders(Object.fromEntries(response.headers));
        if (!read.ok) return 'unsigned';
        const { value } = read;
        const key = peers.get(peerId);
        if (value.peer !== peerId || key === undefined) return 'wrong-sender';
        if (value.nonce !== nonce) return 'wrong-request';
        if (contentSha256(bytes) !== value.contentSha256) return 'body-hash-mismatch';
        const isValid = verifyResponse(
          Buffer.from(key.ed25519PublicKey, 'hex'),
          {
            status: response.status,
            requestNonce: nonce,
            sender: peerId,
            recipient: self,
            timestampMs: value.timestampMs,
            contentSha256: value.contentSha256,
          },
          value.signature,
        );
        // No freshness window here: the answer is bound to this attempt's fresh random nonce, which
        // already proves it was made after the request; its timestamp is informational.
        return isValid ? null : 'bad-signature';
      };

      let answer: PeerResponse | null = null;
      let failure: GatewayError | null = null;
      try {
        for (;;) {
          attempts += 1;
          const result = await attempt();
          if (result.kind === 'done') {
            answer = result.response;
            break;
          }
          lastStatus = result.status;
          if (attempts > retries) {
            throw new GatewayError('PEER_UNAVAILABLE', `peer unavailable after ${attempts} attempts`, {
              peer: peerId,
              attempts,
              lastStatus,
            });
          }
          const backoff = Math.random() * Math.min(MAX_BACKOFF_MS, retryBaseMs * 2 ** (attempts - 1));
          await sleep(Math.min(backoff, Math.max(0, deadlineAt - performance.now())), undefined, { signal });
        }
      } catch (error) {
        failure =
          signal.aborted && !isGatewayError(error)
            ? new GatewayError(
                'PEER_TIMEOUT',
                `peer did not answer within ${deadlineMs} ms`,
                { peer: peerId, deadlineMs, attempts, lastStatus },
                { cause: error },
              )
            : isGatewayError(error)
              ? error
              : new GatewayError('INTERNAL', 'peer request failed', { peer: peerId }, { cause: error });
      }

      await audit({
        kind: 'message',
        actor: self,
        action: 'peer-reply',
        outcome: answer === null ? 'error' : 'ok',
        refs: meta.refs,
        detail: {
          peer: peerId,
          direction: 'in',
          method,
          path: auditPath,
          attempts,
          protocol: PEER_PROTOCOL,
          traceId: trace.traceId,
          ...(answer === null ? { code: failure?.code ?? 'INTERNAL' } : { status: answer.status, bytes: answer.bytes }),
        },
      });
      if (answer === null) {
        const error = failure ?? new GatewayError('INTERNAL', 'peer request failed', { peer: peerId });
        callLog.warn({ code: error.code, attempts, lastStatus }, 'peer request failed');
        try {
          options.onFailure?.({ peer: peerId, code: error.code });
        } catch (listenerError) {
          // Counting a failure must not replace it: the caller gets the peer's error, not the listener's.
          callLog.warn({ err: listenerError }, 'onFailure threw');
        }
        throw error;
      }
      return answer;
    },
  };
}

/** The absolute URL for `path` on the peer's origin; refuses paths a URL parser would rewrite or re-host. */
function targetUrl(baseUrl: string, path: string): string {
  if (typeof path !== 'string' || !/^\/(?!\/)[\x21-\x7e]{0,2047}$/.test(path)) {
    throw new GatewayError('BAD_INPUT', 'path must start with a single "/" and hold only visible ASCII');
  }
  const url = new URL(path, baseUrl);
  // The signature covers `path` as written; the receiver sees what the URL parser sends.
  if (url.origin !== new URL(baseUrl).origin || `${url.pathname}${url.search}` !== path) {
    throw new GatewayError(
      'BAD_INPUT',
      'path must already be in normal form (no dot segments, no fragment, percent-encoded)',
    );
  }
  return url.href;
}

function encodeBody(method: string, body: unknown): { bytes: Buffer; contentType: string | null } {
  if (body === undefined) return { bytes: Buffer.alloc(0), contentType: null };
  if (method === 'GET' || method === 'HEAD') throw new GatewayError('BAD_INPUT', `${method} requests carry no body`);
  if (body instanceof Uint8Array) return { bytes: Buffer.from(body), contentType: 'application/octet-stream' };
  const text = JSON.stringify(body);
  if (text === undefined) throw new GatewayError('BAD_INPUT', 'body cannot be sent as JSON');
  return { bytes: Buffer.from(text, 'utf8'), contentType: 'application/json' };
}

function decodeBody(response: Response, bytes: Buffer, peer: string): unknown {
  if (!JSON_TYPE.test(response.headers.get('content-type') ?? '')) return bytes;
  if (bytes.length === 0) return null;
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch (cause) {
    throw new GatewayError(
      'PEER_BAD_RESPONSE',
      'peer answer is not valid JSON',
      { peer, reason: 'bad-json' },
      { cause },
    );
  }
}

/** The catalogue code of a signed problem document, if it carries one. */
function problemCode(response: Response, bytes: Buffer): string | null {
  if (!JSON_TYPE.test(response.headers.get('content-type') ?? '')) return null;
  try {
    const code = (JSON.parse(bytes.toString('utf8')) as { code?: unknown }).code;
    return typeof code === 'string' && /^[A-Z][A-Z0-9_]{0,63}$/.test(code) ? code : null;
  } catch {
    return null;
  }
}

async function readLimited(response: Response, limit: number, peer: string): Promise<Buffer> {
  const tooLarge = () =>
    new GatewayError('PEER_BAD_RESPONSE', `peer answer exceeds ${limit} bytes`, { peer, reason: 'too-large' });
  if (Number(response.headers.get('content-length') ?? 0) > limit) {
    await response.body?.cancel().catch(() => undefined);
    throw tooLarge();
  }
  if (response.body === null) return Buffer.alloc(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of response.body) {
    total += chunk.byteLength;
    if (total > limit) throw tooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

const META_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

function auditMeta(meta: PeerMessageMeta): { refs: string[]; detail: Record<string, unknown> } {
  if (meta.jobId !== undefined && !META_ID.test(meta.jobId))
    throw new GatewayError('BAD_INPUT', 'jobId must be 1-128 chars of A-Z, a-z, 0-9 and ._:-');
  if (meta.step !== undefined && !META_ID.test(meta.step))
    throw new GatewayError('BAD_INPUT', 'step must be 1-128 chars of A-Z, a-z, 0-9 and ._:-');
  return {
    refs: meta.jobId === undefined ? [] : [meta.jobId],
    detail: {
      ...(meta.jobId === undefined ? {} : { jobId: meta.jobId }),
      ...(meta.step === undefined ? {} : { step: meta.step }),
      isEncrypted: meta.isEncrypted ?? false,
      isBlinded: meta.isBlinded ?? false,
    },
  };
}

function causeCode(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown } } | null)?.cause;
  return typeof cause?.code === 'string' ? cause.code : 'network-error';
}
