// Route access control: each route states its policy in `config` (`roles` or `public`) and one
// onRequest hook enforces it with RFC 6750 bearer tokens. A route that states nothing is denied.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { GatewayError } from './errors.ts';
import type { Principal, Role, TokenStore } from './token-store.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Roles allowed to call the route. An empty list admits nobody. */
    roles?: readonly Role[];
    /** No authentication at all: only liveness, readiness, metrics and the API docs. */
    public?: boolean;
  }
  interface FastifyRequest {
    /** Set by the auth hook on every authenticated request; null on public routes. */
    principal: Principal | null;
  }
}

type RoutePolicy = { kind: 'public' } | { kind: 'roles'; roles: readonly Role[] } | { kind: 'none' };

function policyOf(config: { roles?: unknown; public?: unknown } | undefined): RoutePolicy {
  const hasRoles = Array.isArray(config?.roles);
  const isPublic = config?.public === true;
  // Both at once is ambiguous; ambiguity is treated like no policy, which is deny.
  if (isPublic && !hasRoles) return { kind: 'public' };
  if (hasRoles && !isPublic) return { kind: 'roles', roles: config?.roles as Role[] };
  return { kind: 'none' };
}

const BEARER = /^Bearer ([A-Za-z0-9._~+/=-]+)$/i;

/** The onRequest hook. Runs before the body is read, so unauthenticated callers cannot make us parse it. */
export function createAuthHook(tokens: TokenStore) {
  return async function authenticateRequest(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    request.principal = null;
    // Unmatched URLs go to the not-found handler, which reveals nothing a 401 would protect.
    if (request.is404) return;
    const policy = policyOf(request.routeOptions.config);
    if (policy.kind === 'public') return;
    if (policy.kind === 'none') {
      request.log.error({ route: request.routeOptions.url }, 'route declares no access policy; denying');
      throw new GatewayError('FORBIDDEN', 'route declares no access policy');
    }

    const header = request.headers.authorization;
    if (header === undefined) throw new GatewayError('UNAUTHENTICATED', 'missing bearer token');
    const match = BEARER.exec(header);
    const principal = match?.[1] === undefined ? null : await tokens.authenticate(match[1]);
    if (principal === null) {
      reply.header('www-authenticate', 'Bearer realm="sealgate", error="invalid_token"');
      throw new GatewayError('UNAUTHENTICATED', 'invalid or revoked bearer token');
    }
    if (!policy.roles.includes(principal.role)) {
      throw new GatewayError('FORBIDDEN', `role ${principal.role} may not use this route`, { allowedRoles: [...policy.roles] });
    }
    request.principal = principal;
  };
}

/** For an onRoute hook: says at start-up, not at first request, that a route will deny everyone. */
export function warnOnMissingPolicy(route: { method: string | string[]; url: string; config?: unknown }, log: Logger): void {
  if (policyOf(route.config as { roles?: unknown; public?: unknown } | undefined).kind === 'none') {
    log.warn({ method: route.method, route: route.url }, 'route declares neither config.roles nor config.public; it will deny every request');
  }
}
