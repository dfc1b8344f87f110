// Who a request's rate-limit budget belongs to. Clients share one budget per address. A registered partner's
// gateway calls (a PSI job sends thousands of signed frames) get a budget of their own, larger, kept apart from the
// address's: otherwise one job of a partner behind a shared address, or on the same host, would be throttled into
// PEER_TIMEOUT by the ordinary client limit.
import { normalizeIP } from '@fastify/rate-limit';
import type { FastifyRequest } from 'fastify';
import { PEER_HEADERS } from './peer-signature.ts';

const PEER_KEY = 'peer:';
const PEER_PATH = '/peer/';

/**
 * Rate limiting runs before the signature check, so the claimed peer id is not proven yet: the budget is keyed by
 * peer and address together. A forger claiming a partner's id from elsewhere spends its own budget, not the
 * partner's, and an id that is not registered gets the address's ordinary budget.
 */
export function rateLimitKey(isRegisteredPeer: (id: string) => boolean): (request: FastifyRequest) => string {
  return (request) => {
    const address = normalizeIP(request.ip);
    if (!request.url.startsWith(PEER_PATH)) return address;
    const peer = request.headers[PEER_HEADERS.peer];
    if (typeof peer !== 'string' || !isRegisteredPeer(peer)) return address;
    return `${PEER_KEY}${peer}@${address}`;
  };
}

/** The budget of a key from `rateLimitKey`: peer calls get `peerMax`, everything else `max`. */
export const rateLimitMax = (limits: { max: number; peerMax: number }) =>
  (_request: FastifyRequest, key: string): number => (key.startsWith(PEER_KEY) ? limits.peerMax : limits.max);
