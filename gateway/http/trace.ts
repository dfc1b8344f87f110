// W3C Trace Context for the HTTP shell: every request gets a trace context (core/trace-context.ts) bound to its
// logger before authentication, so rejections carry the trace id too.
import type { IncomingMessage } from 'node:http';
import type { FastifyBaseLogger, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import { TRACEPARENT_HEADER, continueTrace, type TraceContext } from '../../core/trace-context.ts';
import { lazyChildLogger } from './request-logger.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** Bound by `bindTrace`, before authentication; null until then. */
    trace: TraceContext | null;
  }
}

// The trace each request's logger was bound with, by raw request; read back when the request is routed.
const tracesByRequest = new WeakMap<IncomingMessage, TraceContext>();
type ChildBindings = Parameters<FastifyBaseLogger['child']>[0];
type ChildOptions = Parameters<FastifyBaseLogger['child']>[1];

/**
 * Fastify's child-logger factory: the one child logger fastify makes per request carries the trace ids beside the
 * request id. Binding them later needs a second child. The child is made when the request first writes a line
 * (request-logger.ts), so a request that logs nothing, as most do at level warn, never pays for one.
 */
export function traceLoggerFactory(
  logger: FastifyBaseLogger,
  bindings: ChildBindings,
  options: ChildOptions,
  raw: IncomingMessage,
): FastifyBaseLogger {
  const trace = continueTrace(raw.headers[TRACEPARENT_HEADER]);
  tracesByRequest.set(raw, trace);
  return lazyChildLogger(logger, { ...bindings, traceId: trace.traceId, spanId: trace.spanId }, options);
}

/**
 * Gives the request its trace context, with `traceId` (and `spanId`) bound to its logger, so every line the
 * request writes, "request completed" included, can be joined with the other parties' logs. Idempotent: the first
 * caller wins, whichever hook that is. The context is normally made with the logger (`traceLoggerFactory`); an app
 * built without that factory gets a second child logger here.
 */
export function bindTrace(request: FastifyRequest, reply: FastifyReply): TraceContext {
  if (request.trace !== null && request.trace !== undefined) return request.trace;
  const bound = tracesByRequest.get(request.raw);
  if (bound !== undefined) {
    request.trace = bound;
    return bound;
  }
  const trace = continueTrace(request.headers[TRACEPARENT_HEADER]);
  request.trace = trace;
  request.log = request.log.child({ traceId: trace.traceId, spanId: trace.spanId });
  reply.log = request.log;
  return trace;
}

/**
 * The onRequest hook for every route; register it before any other so rejections carry the trace id too.
 * Callback style, like the gateway's other per-request hooks: an async hook costs a promise and a microtask
 * on every request for work that never waits.
 */
export function traceRequest(request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void {
  bindTrace(request, reply);
  done();
}
