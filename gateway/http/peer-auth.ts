// Incoming side of the signed peer protocol (docs/peer-protocol.md): a scope whose routes are
// authenticated by the caller's Ed25519 signature. Headers, signature, freshness and nonce are checked
// before the body is read; the body hash over the raw bytes before it is parsed; answers are signed.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AuditInput } from '../../consent/audit.ts';
import type { Clock } from '../../core/clock.ts';
import { createSigner } from '../../consent/signer.ts';
import type { PeerGuard } from './auth.ts';
import { GatewayError, type ErrorCode } from '../../core/errors.ts';
import type { Identity } from '../identity/identity.ts';
import type { NonceCache, ReplayVerdict } from '../../mpc/peers/nonce-cache.ts';
import {
  EMPTY_SHA256,
  PEER_HEADERS,
  PEER_PROTOCOL,
  PeerId,
  contentSha256,
  isNonce,
  readPeerHeaders,
  signResponse,
  verifyRequest,
} from '../../mpc/peers/peer-signature.ts';
import type { PeerRegistry } from '../../mpc/peers/peer-registry.ts';
import { bindTrace } from './trace.ts';

/** What the guard established about the caller of a peer route. */
export type VerifiedPeer = {
  id: string;
  nonce: string;
  timestampMs: number;
  contentSha256: string;
  /** Set once the received bytes (or their absence) matched `contentSha256`. */
  isBodyVerified: boolean;
  bytesIn: number;
  isAudited: boolean;
  /** What the exchange concerns (a job id), set by the route once it has read the body: the audit entry's refs. */
  refs: string[];
};

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the peer guard on routes of a peer scope; null everywhere else. */
    peer: VerifiedPeer | null;
  }
}

export type PeerAuthOptions = {
  identity: Identity;
  peers: Pick<PeerRegistry, 'activeKey'>;
  nonces: NonceCache;
  clock: Clock;
  /** The hash-chained audit log: every rejection and every accepted exchange is written there. */
  audit: (input: AuditInput) => Promise<unknown>;
};

export type PeerAuth = {
  /** What the auth hook calls for `config.peer` routes (installed on them by `install`). */
  guard: PeerGuard;
  /**
   * Turns an encapsulated fastify scope into a peer scope: every route in it must declare
   * `config: { peer: true }`, bodies (JSON or octet-stream) are hashed raw before parsing, and every
   * answer is signed. Register peer routes only inside such a scope.
   */
  install(scope: FastifyInstance): void;
};

type Reason =
  | 'missing-peer'
  | 'malformed-headers'
  | 'unknown-peer'
  | 'bad-signature'
  | Exclude<ReplayVerdict, 'fresh'>
  | 'body-hash-mismatch'
  | 'body-missing'
  | 'bad-json'
  | 'encoded-path';

const VERDICT_CODES: Record<Exclude<ReplayVerdict, 'fresh'>, ErrorCode> = {
  'stale': 'PEER_STALE',
  'before-start': 'PEER_STALE',
  'replay': 'PEER_REPLAY',
  'full': 'PEER_OVERLOADED',
};

const MESSAGES: Record<Reason, string> = {
  'missing-peer': 'x-sealgate-peer is missing or malformed',
  'malformed-headers': 'peer signature headers are missing or malformed',
  'unknown-peer': 'peer is not registered or is disabled',
  'bad-signature': 'peer signature does not verify',
  'stale': 'peer request timestamp is outside the accepted window',
  'before-start': 'peer request was signed before this gateway started',
  'replay': 'peer request nonce was already used',
  'full': 'too many peer requests in the replay window; retry later',
  'body-hash-mismatch': 'request body does not match x-sealgate-content-sha256',
  'body-missing': 'request has no body but x-sealgate-content-sha256 is not the empty hash',
  'bad-json': 'request body is not valid JSON',
  'encoded-path':
    'peer request paths are sent unencoded: a percent-encoded path would be signed as one route and served as another',
};

const JSON_TYPE = /^application\/json\s*(;|$)/i;
const MAX_AUDIT_PATH = 256;

const pathOf = (request: FastifyRequest): string => (request.url.split('?')[0] ?? '/').slice(0, MAX_AUDIT_PATH);

export function createPeerAuth(options: PeerAuthOptions): PeerAuth {
  const { identity, peers, nonces, clock, audit } = options;
  const self = identity.partyId;
  const signer = createSigner(identity.ed25519.privateKey);

  /** Audits and logs the refusal with the trace id, then throws the catalogue error. */
  const reject = async (
    request: FastifyRequest,
    code: ErrorCode,
    reason: Reason,
    claimed: string | null,
  ): Promise<never> => {
    const traceId = request.trace?.traceId ?? null;
    request.peer = null;
    request.log.warn({ peer: claimed, reason, code }, 'peer request rejected');
    try {
      await audit({
        kind: 'message',
        actor: claimed ?? 'unidentified-peer',
        action: 'peer-reject',
        outcome: 'rejected',
        refs: [],
        detail: {
          peer: claimed,
          reason,
          code,
          method: request.method,
          path: pathOf(request),
          traceId,
          protocol: PEER_PROTOCOL,
        },
      });
    } catch (error) {
      // The refusal stands either way; a failing audit log is an operator emergency, not a reason to admit.
      request.log.error({ err: error, reason }, 'could not audit a rejected peer request');
    }
    throw new GatewayError(code, MESSAGES[reason], { reason });
  };

  const guard: PeerGuard = async (request, reply) => {
    bindTrace(request, reply);
    request.peer = null;
    const headers = readPeerHeaders(request.headers);
    if (!headers.ok) {
      return reject(
        request,
        headers.reason === 'missing-peer' ? 'PEER_UNKNOWN' : 'BAD_SIGNATURE',
        headers.reason,
        headers.peer,
      );
    }
    const { peer, timestampMs, nonce, signature } = headers.value;
    // Fastify routes by the decoded path while the signature covers the raw one: a peer path has no percent escapes.
    if (pathOf(request).includes('%')) return reject(request, 'BAD_INPUT', 'encoded-path', peer);
    const key = peers.activeKey(peer);
    if (key === null) return reject(request, 'PEER_UNKNOWN', 'unknown-peer', peer);
    // Signature before freshness and nonce: nobody without the key can fill the cache or probe the clock.
    const isValid = verifyRequest(
      key,
      {
        method: request.method,
        pathWithQuery: request.url,
        sender: peer,
        recipient: self,
        timestampMs,
        nonce,
        contentSha256: headers.value.contentSha256,
      },
      signature,
    );
    if (!isValid) return reject(request, 'BAD_SIGNATURE', 'bad-signature', peer);
    const verdict = nonces.admit(peer, nonce, timestampMs);
    if (verdict !== 'fresh') return reject(request, VERDICT_CODES[verdict], verdict, peer);
    request.peer = {
      id: peer,
      nonce,
      timestampMs,
      contentSha256: headers.value.contentSha256,
      isBodyVerified: false,
      bytesIn: 0,
      isAudited: false,
      refs: [],
    };
  };

  const parseVerified = async (request: FastifyRequest, body: Buffer): Promise<unknown> => {
    const peer = request.peer;
    if (peer === null) throw new GatewayError('FORBIDDEN', 'route declares no access policy');
    if (contentSha256(body) !== peer.contentSha256)
      return reject(request, 'PEER_BODY_MISMATCH', 'body-hash-mismatch', peer.id);
    peer.isBodyVerified = true;
    peer.bytesIn = body.length;
    if (!JSON_TYPE.test(request.headers['content-type'] ?? '')) return body;
    try {
      return JSON.parse(body.toString('utf8'));
    } catch {
      throw new GatewayError('BAD_INPUT', MESSAGES['bad-json']);
    }
  };

  const requireVerifiedBody = async (request: FastifyRequest): Promise<void> => {
    const peer = request.peer;
    if (peer === null) throw new GatewayError('FORBIDDEN', 'route declares no access policy');
    if (peer.isBodyVerified) return;
    // No body was parsed (GET, or no content): only the hash of nothing was signed for.
    if (peer.contentSha256 !== EMPTY_SHA256) await reject(request, 'PEER_BODY_MISMATCH', 'body-missing', peer.id);
    peer.isBodyVerified = true;
  };

  /** Signs the answer and, before any byte of it leaves, audits the exchange (fail closed). */
  const signAnswer = async (request: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown> => {
    if (payload !== null && payload !== undefined && typeof payload !== 'string' && !Buffer.isBuffer(payload)) {
      throw new GatewayError('INTERNAL', 'peer routes answer with JSON or bytes, never a stream');
    }
    const bytes =
      payload === null || payload === undefined
        ? Buffer.alloc(0)
        : Buffer.isBuffer(payload)
          ? payload
          : Buffer.from(payload, 'utf8');
    const peer = request.peer;
    if (peer !== null && !peer.isAudited) {
      peer.isAudited = true;
      await audit({
        kind: 'message',
        actor: peer.id,
        action: 'peer-exchange',
        outcome: reply.statusCode < 400 ? 'ok' : 'error',
        refs: peer.refs,
        detail: {
          peer: peer.id,
          direction: 'in',
          method: request.method,
          path: pathOf(request),
          status: reply.statusCode,
          bytesIn: peer.bytesIn,
          bytesOut: bytes.length,
          traceId: request.trace?.traceId ?? null,
          protocol: PEER_PROTOCOL,
        },
      });
    }
    // A refusal is signed too when the request named a well-formed caller and nonce, so the caller
    // can tell this gateway's refusal from a forged one.
    const claimed = request.headers[PEER_HEADERS.peer];
    const recipient = peer?.id ?? (typeof claimed === 'string' && PeerId.safeParse(claimed).success ? claimed : null);
    const nonce = peer?.nonce ?? request.headers[PEER_HEADERS.nonce];
    if (recipient !== null && isNonce(nonce)) {
      reply.headers(
        signResponse(signer, {
          status: reply.statusCode,
          requestNonce: nonce,
          sender: self,
          recipient,
          timestampMs: clock.now().getTime(),
          contentSha256: contentSha256(bytes),
        }),
      );
    }
    return payload;
  };

  return {
    guard,
    install(scope) {
      scope.decorateRequest('peer', null);
      scope.addHook('onRoute', (route) => {
        if (route.config?.peer !== true) {
          throw new Error(
            `route ${String(route.method)} ${route.url} is in a peer scope but does not declare config.peer`,
          );
        }
        route.config = { ...route.config, peerGuard: guard };
      });
      scope.removeAllContentTypeParsers();
      scope.addContentTypeParser(
        ['application/json', 'application/octet-stream'],
        { parseAs: 'buffer' },
        (request: FastifyRequest, body: Buffer | string) =>
          parseVerified(request, Buffer.isBuffer(body) ? body : Buffer.from(body)),
      );
      scope.addHook('preValidation', requireVerifiedBody);
      scope.addHook('onSend', signAnswer);
    },
  };
}
