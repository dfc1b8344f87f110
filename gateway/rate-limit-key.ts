// Who a request's rate-limit budget belongs to. Clients share one budget per address. A registered partner's
// gateway calls (a PSI job sends thousands of signed frames) get a budget of their own, larger, kept apart from the
// address's: otherwise one job of a partner behind a shared address, or on the same host, would be throttled into
// PEER_TIMEOUT by the ordinary client limit.
import type { FastifyRequest } from 'fastify';
import { PEER_HEADERS } from './peer-signature.ts';

const PEER_KEY = 'peer:';
const PEER_PATH = '/peer/';

const IPV4_MAPPED = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i;
const IPV4_TAIL = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** The eight 16-bit groups of an IPv6 address (zone dropped, `::` expanded, an IPv4 tail split), or null. */
function ipv6Groups(address: string): number[] | null {
  const text = address.split('%')[0] as string;
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const parse = (part: string): number[] | null => {
    if (part === '') return [];
    const groups: number[] = [];
    const pieces = part.split(':');
    for (const [i, piece] of pieces.entries()) {
      const v4 = i === pieces.length - 1 ? IPV4_TAIL.exec(piece) : null;
      if (v4 !== null) {
        const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
        if ([a, b, c, d].some((n) => n > 255)) return null;
        groups.push((a << 8) | b, (c << 8) | d);
      } else if (/^[0-9a-f]{1,4}$/i.test(piece)) {
        groups.push(parseInt(piece, 16));
      } else {
        return null;
      }
    }
    return groups;
  };
  const head = parse(halves[0] as string);
  const tail = halves.length === 2 ? parse(halves[1] as string) : [];
  if (head === null || tail === null) return null;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  return [...head, ...new Array<number>(missing).fill(0), ...tail];
}

/**
 * The budget's address: IPv4 as is, an IPv4-mapped IPv6 address as its IPv4 form, and other IPv6 addresses as
 * their /64 network, the block one host is usually given, so one host cannot take a fresh budget per address.
 */
export function normalizeAddress(address: string): string {
  if (!address.includes(':')) return address.toLowerCase();
  const mapped = IPV4_MAPPED.exec(address);
  if (mapped !== null) return mapped[1] as string;
  const groups = ipv6Groups(address);
  if (groups === null) return address.toLowerCase();
  return `${groups.slice(0, 4).map((g) => g.toString(16)).join(':')}::/64`;
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
 * partner's, and an id that is not registered gets the address's ordinary budget.
 */
export function rateLimitKey(isRegisteredPeer: (id: string) => boolean): (request: FastifyRequest) => string {
  return (request) => {
    // A socket already closed has no remote address any more; such requests share one budget.
    const address = typeof request.ip === 'string' ? budgetAddress(request.ip) : 'unknown';
    if (!request.url.startsWith(PEER_PATH)) return address;
    const peer = request.headers[PEER_HEADERS.peer];
    if (typeof peer !== 'string' || !isRegisteredPeer(peer)) return address;
    return `${PEER_KEY}${peer}@${address}`;
  };
}

/** The budget of a key from `rateLimitKey`: peer calls get `peerMax`, everything else `max`. */
export const rateLimitMax = (limits: { max: number; peerMax: number }) =>
  (key: string): number => (key.startsWith(PEER_KEY) ? limits.peerMax : limits.max);
