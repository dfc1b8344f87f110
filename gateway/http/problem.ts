// The one error handler: every failure leaves as an RFC 9457 `application/problem+json` document
// built from the error catalogue. Stacks, causes and secrets go to the log, never to the client.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { CATALOGUE, GatewayError, isGatewayError, type ErrorCode } from '../../core/errors.ts';

export const PROBLEM_TYPE_BASE = 'https://sealgate.dev/problems/';
export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** One invalid input field: where it came from, an RFC 6901 pointer into it, and what is wrong. */
export const FieldError = z.object({ in: z.string(), pointer: z.string(), detail: z.string() });
export type FieldError = z.infer<typeof FieldError>;

export const Problem = z.object({
  type: z.string(),
  title: z.string(),
  status: z.int(),
  code: z.string(),
  detail: z.string(),
  instance: z.string(),
  requestId: z.string(),
  errors: z.array(z.unknown()).optional(),
  context: z.record(z.string(), z.unknown()).optional(),
});
export type Problem = z.infer<typeof Problem>;

export const problemType = (code: ErrorCode): string => PROBLEM_TYPE_BASE + code.toLowerCase().replaceAll('_', '-');

// Fastify's own client errors, by code. Their texts are ours, not fastify's, so nothing from the
// request (a URL, a header) is echoed back.
const FASTIFY_CLIENT_ERRORS: Record<string, [ErrorCode, string]> = {
  FST_ERR_CTP_BODY_TOO_LARGE: ['PAYLOAD_TOO_LARGE', 'request body exceeds the configured limit'],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: ['UNSUPPORTED_MEDIA_TYPE', 'request body must be application/json'],
  FST_ERR_CTP_INVALID_JSON_BODY: ['BAD_INPUT', 'request body is not valid JSON'],
  FST_ERR_CTP_EMPTY_JSON_BODY: ['BAD_INPUT', 'request body is empty but content-type is application/json'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: ['BAD_INPUT', 'request body size does not match Content-Length'],
  FST_ERR_BAD_URL: ['BAD_INPUT', 'request URL is malformed'],
  FST_ERR_MAX_PARAM_LENGTH: ['BAD_INPUT', 'a path parameter exceeds the maximum length'],
};

type ValidationEntry = { instancePath?: string; message?: string; keyword?: string; params?: { keys?: unknown } };

/** One entry per bad field; an unknown-keys issue names each extra key as its own field. */
function fieldErrors(where: string, entry: ValidationEntry): FieldError[] {
  // The zod provider writes the root as "/"; RFC 6901 spells the whole document "".
  const base = entry.instancePath === '/' || entry.instancePath === undefined ? '' : entry.instancePath;
  const keys = entry.params?.keys;
  if (entry.keyword === 'unrecognized_keys' && Array.isArray(keys) && keys.length > 0) {
    return keys.map((key) => ({ in: where, pointer: `${base}${toPointer([String(key)])}`, detail: 'unknown field' }));
  }
  return [{ in: where, pointer: base, detail: entry.message ?? 'is invalid' }];
}

/** Classifies anything thrown into a catalogue error. Unknown errors become INTERNAL "internal error". */
export function toGatewayError(error: unknown): GatewayError {
  if (isGatewayError(error)) return error;
  if (error instanceof z.core.$ZodError) {
    return badInput(
      'input',
      error.issues.map((issue) => ({ in: 'input', pointer: toPointer(issue.path), detail: issue.message })),
    );
  }
  if (typeof error === 'object' && error !== null) {
    const e = error as { validation?: unknown; validationContext?: unknown; code?: unknown; statusCode?: unknown };
    if (Array.isArray(e.validation)) {
      const where = typeof e.validationContext === 'string' ? e.validationContext : 'input';
      return badInput(
        where,
        (e.validation as ValidationEntry[]).flatMap((v) => fieldErrors(where, v)),
      );
    }
    if (typeof e.code === 'string' && e.code.startsWith('FST_')) {
      const known = FASTIFY_CLIENT_ERRORS[e.code];
      if (known !== undefined) return new GatewayError(known[0], known[1], {}, { cause: error });
      const status = typeof e.statusCode === 'number' ? e.statusCode : 500;
      if (status >= 400 && status < 500)
        return new GatewayError('BAD_INPUT', 'request rejected', { reason: e.code }, { cause: error });
    }
  }
  return new GatewayError('INTERNAL', 'internal error', {}, { cause: error });
}

function badInput(where: string, errors: FieldError[]): GatewayError {
  return new GatewayError(
    'BAD_INPUT',
    `invalid ${where}: ${errors.map((f) => `${f.pointer || '/'} ${f.detail}`).join('; ')}`,
    { errors },
  );
}

const toPointer = (path: readonly PropertyKey[]): string =>
  path.map((p) => `/${String(p).replaceAll('~', '~0').replaceAll('/', '~1')}`).join('');

/** The RFC 9457 document for `error`. The instance is the path without its query string. */
export function problemDocument(error: GatewayError, request: { url: string; id: string }): Problem {
  const { errors, ...context } = error.detail;
  return {
    type: problemType(error.code),
    title: CATALOGUE[error.code].title,
    status: CATALOGUE[error.code].status,
    code: error.code,
    detail: error.message,
    instance: request.url.split('?')[0] ?? '/',
    requestId: request.id,
    ...(Array.isArray(errors) ? { errors } : {}),
    ...(Object.keys(context).length > 0 ? { context } : {}),
  };
}

export function sendProblem(error: GatewayError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (error.code === 'UNAUTHENTICATED' && !reply.hasHeader('www-authenticate')) {
    reply.header('www-authenticate', 'Bearer realm="sealgate"');
  }
  // A string payload bypasses route response serializers, which describe success bodies only.
  return reply
    .code(error.status)
    .type(PROBLEM_CONTENT_TYPE)
    .send(JSON.stringify(problemDocument(error, request)));
}

const REASONS: Record<number, string> = { 400: 'Bad Request', 431: 'Request Header Fields Too Large' };

/**
 * The raw HTTP answer to a request the HTTP parser refused before any route saw it (Fastify's `clientErrorHandler`):
 * headers too large are HEADERS_TOO_LARGE, anything else (a malformed request line, say) BAD_INPUT, both as problem
 * documents like every other refusal. The connection closes after it: the parser cannot find the next request.
 */
export function clientErrorResponse(error: { code?: string }, requestId: string): string {
  const refusal =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? new GatewayError('HEADERS_TOO_LARGE', 'request headers are larger than this gateway accepts')
      : new GatewayError('BAD_INPUT', 'the request is not well-formed HTTP');
  const body = JSON.stringify(problemDocument(refusal, { url: '/', id: requestId }));
  return [
    `HTTP/1.1 ${refusal.status} ${REASONS[refusal.status] ?? 'Error'}`,
    `content-type: ${PROBLEM_CONTENT_TYPE}`,
    `content-length: ${Buffer.byteLength(body)}`,
    'connection: close',
    '',
    body,
  ].join('\r\n');
}

/** For `app.setErrorHandler`. */
export function handleError(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const problem = toGatewayError(error);
  if (problem.status >= 500) {
    // The full error, stack and cause included, stays on the server.
    request.log.error({ err: error, code: problem.code }, 'request failed');
  } else {
    request.log.info({ code: problem.code, status: problem.status }, 'request rejected');
  }
  return sendProblem(problem, request, reply);
}

/** For `app.setNotFoundHandler`. */
export function handleNotFound(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  return sendProblem(new GatewayError('NOT_FOUND', 'no route matches this method and path'), request, reply);
}
