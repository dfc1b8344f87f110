// Who a request's rate-limit budget belongs to. Clients share one budget per address. A registered partner's
// gateway calls (a PSI job sends thousands of signed frames) get a budget of their own, larger, kept apart from the
// address's: otherwise one job of a partner behind a shared address, or on the same host, would be throttled into
// PEER_TIMEOUT by the ordinary client limit.
import type { FastifyRequest } from 'fastify';
import ipaddr from 'ipaddr.js';
import { readPeerHeaders } from '../../mpc/peers/peer-signature.ts';

const PEER_KEY = 'peer:';
const PEER_PATH = '/peer/';
const PROBE_KEY = 'probe:';
/**
 * Liveness, readiness and metrics: an orchestrator's probe or a Prometheus scraper behind the same address as API
 * clients must not be refused by a healthy gateway, so probes have a budget of their own per address.
 */
const PROBE_PATHS: ReadonlySet<string> = new Set(['/health', '/ready', '/metrics']);
/** Probe requests per window and address: ten times the client budget, and never under 600. */
export const probeMaxOf = (max: number): number => Math.max(600, max * 10);

/**
 * The budget's address: IPv4 as is, an IPv4-mapped IPv6 address as its IPv4 form, and other IPv6 addresses as
 * their /64 network, the block one host is usually given, so one host cannot take a fresh budget per address.
 */
export function normalizeAddress(address: string): string {
  // Anything that is not an IPv6 address (IPv4, or something a proxy header made up) is its own budget, as it is.
  if (!ipaddr.IPv6.isValid(address)) return address.toLowerCase();
  const ip = ipaddr.IPv6.parse(address);
  if (ip.isIPv4MappedAddress()) return ip.toIPv4Address().toString();
  return `${ip.parts
    .slice(0, 4)
    .map((group) => group.toString(16))
    .join(':')}::/64`;
}

// Normalized forms by raw address: a client sends many requests from one address, and most gateways see few.
const normalized = new Map<string, string>();
const MAX_NORMALIZED = 10_000;

function budgetAddress(address: string): string {
  let key = normalized.get(address);
  if (key === undefined) {
    key = normalizeAddress(address);
    if (normalized.size >= MAX_NORMALIZED) normalized.clear();
    normalized.set(address, key);
  }
  return key;
}

/**
 * Rate limiting runs before the signature check, so the claimed peer id is not proven yet: the budget is keyed by
 * peer and address together. A forger claiming a partner's id from elsewhere spends its own budget, not the
 * partner's; an id that is not registered, or a request without a complete, well-formed set of signature headers
 * (what an unsigned request claiming a partner's id from the partner's own address looks like), gets the address's
 * ordinary budget.
 */
export function rateLimitKey(isRegisteredPeer: (id: string) => boolean): (request: FastifyRequest) => string {
  return (request) => {
    // A socket already closed has no remote address any more; such requests share one budget.
    const address = typeof request.ip === 'string' ? budgetAddress(request.ip) : 'unknown';
    if (PROBE_PATHS.has(request.url.split('?', 1)[0] as string)) return `${PROBE_KEY}${address}`;
    if (!request.url.startsWith(PEER_PATH)) return address;
    const headers = readPeerHeaders(request.headers);
    if (!headers.ok || !isRegisteredPeer(headers.value.peer)) return address;
    return `${PEER_KEY}${headers.value.peer}@${address}`;
  };
}

/** The budget of a key from `rateLimitKey`: peer calls get `peerMax`, probes their own, everything else `max`. */
export const rateLimitMax =
  (limits: { max: number; peerMax: number }) =>
  (key: string): number =>
    key.startsWith(PEER_KEY) ? limits.peerMax : key.startsWith(PROBE_KEY) ? probeMaxOf(limits.max) : limits.max;
