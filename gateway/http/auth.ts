// Route access control: each route states its policy in `config` (`roles`, `public`, `peer` or `console`) and
// one onRequest hook enforces it: RFC 6750 bearer tokens for roles, the signed peer protocol
// (docs/peer-protocol.md) for peer routes, a signed-in session for the compliance console's pages
// (docs/console.md). A route that states nothing, or more than one, is denied.
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import type { Logger } from 'pino';
import { GatewayError } from '../../core/errors.ts';
import type { Principal, Role, TokenStore } from '../identity/token-store.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Roles allowed to call the route. An empty list admits nobody. */
    roles?: readonly Role[];
    /** No authentication at all: only liveness, readiness, metrics and the API docs. */
    public?: boolean;
    /** Gateway-to-gateway route: authenticated by the peer's request signature, never by a bearer token. */
    peer?: boolean;
    /** Set on every route of a peer scope (peer-auth.ts); a peer route without it denies everyone. */
    peerGuard?: PeerGuard;
    /** A page of the compliance console: authenticated by its sign-in session cookie, never by a bearer token. */
    console?: boolean;
    /** Set on every route of the console scope (console/console-routes.ts); a console route without it denies. */
    consoleGuard?: PeerGuard;
  }
  interface FastifyRequest {
    /** Set by the auth hook on every authenticated request; null on public routes. */
    principal: Principal | null;
  }
}

/** Verifies a signed peer request before its body is read; throws to refuse it. */
export type PeerGuard = (request: FastifyRequest, reply: FastifyReply) => Promise<void>;

type RoutePolicy =
  | { kind: 'public' }
  | { kind: 'roles'; roles: readonly Role[] }
  | { kind: 'peer' }
  | { kind: 'console' }
  | { kind: 'none' };
type PolicyConfig = { roles?: unknown; public?: unknown; peer?: unknown; console?: unknown } | undefined;

function policyOf(config: PolicyConfig): RoutePolicy {
  const hasRoles = Array.isArray(config?.roles);
  const isPublic = config?.public === true;
  const isPeer = config?.peer === true;
  const isConsole = config?.console === true;
  // Two at once is ambiguous; ambiguity is treated like no policy, which is deny.
  if (Number(hasRoles) + Number(isPublic) + Number(isPeer) + Number(isConsole) !== 1) return { kind: 'none' };
  if (isPublic) return { kind: 'public' };
  if (isPeer) return { kind: 'peer' };
  if (isConsole) return { kind: 'console' };
  return { kind: 'roles', roles: config?.roles as Role[] };
}

const BEARER = /^Bearer ([A-Za-z0-9._~+/=-]+)$/i;

/** Admits `principal` to a roles route, or throws the 401 or 403 answer. */
function admit(
  request: FastifyRequest,
  reply: FastifyReply,
  roles: readonly Role[],
  principal: Principal | null,
): void {
  if (principal === null) {
    reply.header('www-authenticate', 'Bearer realm="sealgate", error="invalid_token"');
    throw new GatewayError('UNAUTHENTICATED', 'invalid or revoked bearer token');
  }
  if (!roles.includes(principal.role)) {
    throw new GatewayError('FORBIDDEN', `role ${principal.role} may not use this route`, { allowedRoles: [...roles] });
  }
  request.principal = principal;
}

/** What the log says of a guarded route whose scope set no guard. */
const UNGUARDED = {
  peer: 'peer route has no signature verifier; denying',
  console: 'console route has no session check; denying',
} as const;

/**
 * Decides the request's access: returns when that is settled at once (a public route, a cached token, a
 * refusal), or a promise when it waits (a peer signature check, a token not yet cached).
 */
function authenticate(request: FastifyRequest, reply: FastifyReply, tokens: TokenStore): Promise<void> | undefined {
  request.principal = null;
  // Unmatched URLs go to the not-found handler, which reveals nothing a 401 would protect.
  if (request.is404) return undefined;
  const policy = policyOf(request.routeOptions.config);
  if (policy.kind === 'public') return undefined;
  if (policy.kind === 'none') {
    request.log.error({ route: request.routeOptions.url }, 'route declares no access policy; denying');
    throw new GatewayError('FORBIDDEN', 'route declares no access policy');
  }
  if (policy.kind === 'peer' || policy.kind === 'console') {
    // Fail closed: a guarded route outside its scope has nobody to check its signature or session.
    const guard =
      policy.kind === 'peer' ? request.routeOptions.config.peerGuard : request.routeOptions.config.consoleGuard;
    if (typeof guard !== 'function') {
      request.log.error({ route: request.routeOptions.url }, UNGUARDED[policy.kind]);
      throw new GatewayError('FORBIDDEN', 'route declares no access policy');
    }
    return guard(request, reply);
  }

  const header = request.headers.authorization;
  if (header === undefined) throw new GatewayError('UNAUTHENTICATED', 'missing bearer token');
  const token = BEARER.exec(header)?.[1];
  // A header that is not a bearer token is refused like an unknown token.
  const cached = token === undefined ? null : tokens.cachedPrincipal(token);
  if (cached !== undefined || token === undefined) {
    admit(request, reply, policy.roles, cached ?? null);
    return undefined;
  }
  return tokens.authenticate(token).then((principal) => admit(request, reply, policy.roles, principal));
}

/**
 * The onRequest hook. Runs before the body is read, so unauthenticated callers cannot make us parse it. Callback
 * style: most requests carry a cached token and are decided without waiting, and an async hook would cost a
 * promise and a microtask on each of them.
 */
export function createAuthHook(tokens: TokenStore) {
  return function authenticateRequest(
    request: FastifyRequest,
    reply: FastifyReply,
    done: HookHandlerDoneFunction,
  ): void {
    let waiting: Promise<void> | undefined;
    try {
      waiting = authenticate(request, reply, tokens);
    } catch (error) {
      done(error as Error);
      return;
    }
    if (waiting === undefined) done();
    else waiting.then(() => done(), done);
  };
}

/** For an onRoute hook: says at start-up, not at first request, that a route will deny everyone. */
export function warnOnMissingPolicy(
  route: { method: string | string[]; url: string; config?: unknown },
  log: Logger,
): void {
  if (policyOf(route.config as PolicyConfig).kind === 'none') {
    log.warn(
      { method: route.method, route: route.url },
      'route declares not exactly one of config.roles, config.public, config.peer and config.console; it will deny every request',
    );
  }
}
