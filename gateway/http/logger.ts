// Structured JSON logs (pino) with secrets and consent payloads redacted at the source, and
// request lines that carry the request id and the W3C Trace Context `traceparent`.
import { LogController, type FastifyReply, type FastifyRequest } from 'fastify';
import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import type { GatewayConfig } from '../config.ts';

export const REDACTED = '[REDACTED]';

// Credentials and keys, wherever they appear one level deep, plus every consent payload: a log
// line must never carry a raw subject identifier or what a subject agreed to.
const SENSITIVE_KEYS = [
  'authorization',
  'cookie',
  'token',
  'accessToken',
  'passphrase',
  'password',
  'secret',
  'apiKey',
  'privateKey',
  'privateKeyHex',
  'evmPrivateKey',
  'ed25519Seed',
  'subjectKey',
  'body',
  'subject',
  'subjectId',
  'subjectIds',
  'rawId',
  'rawIds',
  'identifier',
  'identifiers',
] as const;
const SENSITIVE = new Set<string>(SENSITIVE_KEYS);

/**
 * `value` with its sensitive own keys censored, and those of its plain-object children: a copy where anything is
 * censored, the value itself otherwise. Why not pino's `redact` with `*.key` paths: a wildcard path makes pino run
 * its path walker over every key of every line and every child logger's bindings, which cost 18 µs per request
 * logger and 30 µs per line, several times a bare route's whole request. This walk costs about 1 µs.
 */
function censorSensitive(
  value: Record<string, unknown>,
  depth = 1,
  skip?: ReadonlySet<string>,
): Record<string, unknown> {
  let out = value;
  for (const key in value) {
    if (!Object.hasOwn(value, key) || skip?.has(key) === true) continue;
    const child = value[key];
    let replacement: unknown = child;
    if (SENSITIVE.has(key)) replacement = REDACTED;
    else if (depth > 0 && isPlainObject(child)) replacement = censorSensitive(child, depth - 1);
    if (replacement !== child) {
      if (out === value) out = { ...value };
      out[key] = replacement;
    }
  }
  return out;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

// Keys whose serializer below emits an allowlist of fields: censoring them before it runs would spread a request
// object into a copy without its getters.
const SERIALIZED_KEYS = new Set(['req', 'res', 'err']);

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
    // Top-level keys of child-logger bindings, which `formatters.log` does not see; pino redacts a plain path only
    // for a line or binding that has that key, so this costs nothing elsewhere.
    redact: { paths: [...SENSITIVE_KEYS], censor: REDACTED },
    formatters: { log: (line) => censorSensitive(line, 1, SERIALIZED_KEYS) },
    serializers: {
      req: serializeRequest,
      res: (reply: { statusCode?: number }) => ({ statusCode: reply.statusCode }),
      // A GatewayError's detail is client-safe by contract; censoring it too guards against a slip there.
      err: (error: Error) => censorSensitive(pino.stdSerializers.err(error) as unknown as Record<string, unknown>, 1),
    },
  };
}

/**
 * One access line per request, written when it completes: method, route, status and time together, as a web
 * server's access log. Fastify's default is two lines (incoming and completed), and a log line is a large share of
 * a short request's CPU. A request that is still running is visible in its trace and the job timeline, not here.
 */
export class AccessLogController extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (this.isLogDisabled(request)) return;
    if (error)
      reply.log.error({ req: request, res: reply, err: error, responseTime: reply.elapsedTime }, 'request errored');
    else reply.log.info({ req: request, res: reply, responseTime: reply.elapsedTime }, 'request completed');
  }
}

/** The process logger. `destination` lets tests capture lines; the default is stdout. */
export function createLogger(
  config: Pick<GatewayConfig, 'logLevel' | 'partyId'>,
  destination?: DestinationStream,
): Logger {
  return destination === undefined ? pino(loggerOptions(config)) : pino(loggerOptions(config), destination);
}
