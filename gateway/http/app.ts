// The HTTP application (Fastify 5): schema-first zod routes, OpenAPI 3.1 at /docs, rate limiting,
// bearer auth and RFC 9457 problem documents. Built here, started elsewhere (server.ts).
import { randomUUID } from 'node:crypto';
import type { Duplex } from 'node:stream';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { serializerCompiler } from 'fastify-type-provider-zod';
import pkg from '../../package.json' with { type: 'json' };
import { AccessLogController } from './logger.ts';
import { traceLoggerFactory, traceRequest } from './trace.ts';
import { rateLimitKey, rateLimitMax } from './rate-limit-key.ts';
import { createRateLimiter } from './rate-limiter.ts';
import { requestValidatorCompiler } from './request-validator.ts';
import { createAuthHook, warnOnMissingPolicy } from './auth.ts';
import type { GatewayContext } from '../services/context.ts';
import { GatewayError } from '../../core/errors.ts';
import { clientErrorResponse, handleError, handleNotFound } from './problem.ts';
import { openApiOptions } from './openapi.ts';
import { registerRoutes } from './routes/index.ts';

export const DOCS_PREFIX = '/docs';

// Client-chosen request ids end up in every log line; only accept ones that cannot forge or bloat them.
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const JSON_MEDIA_TYPE = /^application\/json\s*(;|$)/i;
const CHARSET_PARAMETER = /;\s*charset\s*=\s*"?([^";\s]*)"?/i;

/**
 * Bodies are read as they arrive: a compressed body would be hashed and parsed as if it were plain, and JSON in
 * another charset would be decoded as UTF-8 (RFC 8259 §8.1 requires UTF-8 between systems). Both are refused.
 */
function checkBodyEncoding(request: FastifyRequest): void {
  const encoding = request.headers['content-encoding'];
  if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity') {
    throw new GatewayError('UNSUPPORTED_MEDIA_TYPE', 'compressed request bodies (content-encoding) are not accepted');
  }
  const charset = CHARSET_PARAMETER.exec(request.headers['content-type'] ?? '')?.[1];
  if (charset !== undefined && !/^utf-?8$/i.test(charset)) {
    throw new GatewayError('UNSUPPORTED_MEDIA_TYPE', 'request bodies must be UTF-8');
  }
}

/** Refuses a body the JSON routes cannot read: compressed, not UTF-8, or not JSON where the route takes one. */
function checkMediaType(request: FastifyRequest): void {
  checkBodyEncoding(request);
  if (request.routeOptions.schema?.body === undefined) return;
  const type = request.headers['content-type'];
  if (type === undefined || !JSON_MEDIA_TYPE.test(type)) {
    throw new GatewayError('UNSUPPORTED_MEDIA_TYPE', 'request body must be application/json');
  }
}

export async function buildApp(ctx: GatewayContext): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: ctx.log,
    logController: new AccessLogController(),
    bodyLimit: ctx.config.bodyLimitBytes,
    trustProxy: ctx.config.trustProxy,
    requestIdHeader: false,
    // Router-level failures (a malformed or over-long URL) otherwise answer with fastify's own JSON,
    // which echoes the path and is not a problem document.
    frameworkErrors: handleError,
    // What the HTTP parser refuses (headers too large, a malformed request line) answers as a problem document too;
    // a connection the peer already reset gets nothing.
    clientErrorHandler: (error: Error & { code?: string }, socket: Duplex) => {
      if (error.code === 'ECONNRESET' || !socket.writable) {
        socket.destroy();
        return;
      }
      socket.end(clientErrorResponse(error, randomUUID()));
    },
    genReqId: (raw) => {
      const offered = raw.headers['x-request-id'];
      return typeof offered === 'string' && REQUEST_ID.test(offered) ? offered : randomUUID();
    },
  }) as unknown as FastifyInstance;

  app.setValidatorCompiler(requestValidatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.setChildLoggerFactory(traceLoggerFactory);
  app.setErrorHandler(handleError);
  app.decorateRequest('principal', null);
  app.decorateRequest('trace', null);
  // JSON only: without the text/plain parser, any other body is refused with 415 before parsing.
  app.removeContentTypeParser('text/plain');

  app.addHook('onRoute', (route) => {
    if (route.url === DOCS_PREFIX || route.url.startsWith(`${DOCS_PREFIX}/`)) {
      // The docs plugin's routes cannot take our config, so they are declared public by prefix.
      route.config = { ...route.config, public: true };
      return;
    }
    // Response schemas strip undeclared fields, a privacy control, so a route without one is a
    // start-up error rather than a silent leak.
    if (route.schema?.response === undefined) {
      throw new Error(
        `route ${String(route.method)} ${route.url} declares no response schema (schema.response is required)`,
      );
    }
    warnOnMissingPolicy(route, ctx.log);
  });

  const rateLimiter = createRateLimiter({
    keyOf: rateLimitKey((id) => ctx.peers.registry.get(id) !== undefined),
    maxOf: rateLimitMax(ctx.config.rateLimit),
    windowMs: ctx.config.rateLimit.windowMs,
  });
  app.addHook('onClose', (_instance, done) => {
    rateLimiter.close();
    done();
  });
  // Order matters: rate limiting runs before authentication, so token guessing is throttled too;
  // authentication runs before the media-type check and body parsing.
  // Trace first, so even a throttled or refused request logs under its W3C trace id.
  app.addHook('onRequest', traceRequest);
  app.addHook('onRequest', rateLimiter.hook);
  app.addHook('onRequest', createAuthHook(ctx.tokens));
  // The hooks below never wait, so they are callback style: an async hook costs a promise and a microtask on every
  // request.
  app.addHook('onRequest', (request: FastifyRequest, _reply, done) => {
    try {
      checkMediaType(request);
    } catch (error) {
      done(error as Error);
      return;
    }
    done();
  });
  app.addHook('onSend', (request, reply, payload, done) => {
    reply.header('x-request-id', request.id);
    reply.header('x-content-type-options', 'nosniff');
    // Authenticated answers can carry tokens or consent data: no shared or browser cache keeps them.
    if (request.principal !== null) reply.header('cache-control', 'no-store');
    done(null, payload);
  });
  app.addHook('onResponse', (request, reply, done) => {
    ctx.metrics.httpRequestDuration.observe(
      {
        route: request.is404 ? 'unmatched' : (request.routeOptions.url ?? 'unmatched'),
        method: request.method,
        status_code: String(reply.statusCode),
      },
      reply.elapsedTime / 1000,
    );
    done();
  });
  app.setNotFoundHandler(handleNotFound);

  await app.register(swagger, openApiOptions(pkg.version));
  await app.register(swaggerUi, { routePrefix: DOCS_PREFIX });

  await registerRoutes(app, ctx);
  return app;
}
