// Structured JSON logs (pino) with secrets and consent payloads redacted at the source, and
// request lines that carry the request id and the W3C Trace Context `traceparent`.
import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import type { GatewayConfig } from './config.ts';

export const REDACTED = '[REDACTED]';

// Credentials and keys, wherever they appear one level deep, plus every consent payload: a log
// line must never carry a raw subject identifier or what a subject agreed to.
const SENSITIVE_KEYS = [
  'authorization', 'cookie', 'token', 'accessToken', 'passphrase', 'password', 'secret', 'apiKey',
  'privateKey', 'privateKeyHex', 'evmPrivateKey', 'ed25519Seed', 'subjectKey',
  'body', 'subject', 'subjectId', 'subjectIds', 'rawId', 'rawIds', 'identifier', 'identifiers',
] as const;

export const REDACT_PATHS: readonly string[] = [
  'req.headers.authorization', 'req.headers.cookie', 'req.headers["proxy-authorization"]', 'req.headers["x-api-key"]',
  'res.headers["set-cookie"]', 'headers.authorization', 'headers.cookie',
  'req.body', 'request.body', 'err.detail.subjectId', 'err.detail.subject',
  ...SENSITIVE_KEYS.flatMap((key) => [key, `*.${key}`]),
];

const TRACEPARENT = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

type RequestLike = {
  method?: string;
  url?: string;
  ip?: string;
  headers?: Record<string, unknown>;
  routeOptions?: { url?: string };
};

/**
 * The request as logged: the route pattern rather than the raw URL, because paths and query
 * strings can carry identifiers; the traceparent only when well-formed, so it cannot forge lines.
 */
function serializeRequest(request: RequestLike): Record<string, unknown> {
  const traceparent = request.headers?.traceparent;
  const path = (request.url ?? '').split('?')[0] ?? '';
  return {
    method: request.method,
    route: request.routeOptions?.url ?? (path.length > 200 ? `${path.slice(0, 200)}…` : path),
    remoteAddress: request.ip,
    ...(typeof traceparent === 'string' && TRACEPARENT.test(traceparent) ? { traceparent } : {}),
  };
}

export function loggerOptions(config: Pick<GatewayConfig, 'logLevel' | 'partyId'>): LoggerOptions {
  return {
    level: config.logLevel,
    base: { partyId: config.partyId, pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: [...REDACT_PATHS], censor: REDACTED },
    serializers: {
      req: serializeRequest,
      res: (reply: { statusCode?: number }) => ({ statusCode: reply.statusCode }),
      err: pino.stdSerializers.err,
    },
  };
}

/** The process logger. `destination` lets tests capture lines; the default is stdout. */
export function createLogger(config: Pick<GatewayConfig, 'logLevel' | 'partyId'>, destination?: DestinationStream): Logger {
  return destination === undefined ? pino(loggerOptions(config)) : pino(loggerOptions(config), destination);
}
