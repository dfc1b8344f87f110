// Replay protection for signed peer requests (docs/peer-protocol.md §Replay): a message is accepted
// once, only inside a ±window around this gateway's clock, and never if it was signed before this
// process started. Memory is bounded; when full it refuses rather than forgets (fail closed).
import type { Clock } from '../../core/clock.ts';
import { GatewayError } from '../../core/errors.ts';

/** Why a message was or was not admitted. */
export type ReplayVerdict = 'fresh' | 'stale' | 'before-start' | 'replay' | 'full';

export type NonceCacheOptions = {
  clock: Clock;
  /** How far a timestamp may be from this gateway's clock, either way. Default 60 s. */
  windowMs?: number;
  /** Most nonces remembered per peer; default 50,000 (≈ 400 requests/s sustained per peer). */
  maxPerPeer?: number;
};

export type NonceCache = {
  readonly windowMs: number;
  /** Messages signed before this instant are refused: nonces from before a restart are not remembered. */
  readonly startedAtMs: number;
  /** Checks `timestampMs` and remembers `nonce` when the verdict is 'fresh'. */
  admit(peer: string, nonce: string, timestampMs: number): ReplayVerdict;
  /** Nonces currently remembered, over all peers. */
  size(): number;
};

export const DEFAULT_WINDOW_MS = 60_000;
export const DEFAULT_MAX_PER_PEER = 50_000;

export function createNonceCache(options: NonceCacheOptions): NonceCache {
  const windowMs = options.windowMs ?? DEFAULT_WINDOW_MS;
  const maxPerPeer = options.maxPerPeer ?? DEFAULT_MAX_PER_PEER;
  if (!Number.isSafeInteger(windowMs) || windowMs < 1_000 || windowMs > 3_600_000) {
    throw new GatewayError('BAD_INPUT', 'windowMs must be an integer 1000..3600000');
  }
  if (!Number.isSafeInteger(maxPerPeer) || maxPerPeer < 1)
    throw new GatewayError('BAD_INPUT', 'maxPerPeer must be a positive integer');

  const startedAtMs = options.clock.now().getTime();
  // peer -> nonce -> the instant after which the message is stale anyway, so the entry can go.
  const seen = new Map<string, Map<string, number>>();
  // The clock as seen so far, never moving backwards: an entry is only dropped once its message is
  // stale, and with a clock that stepped back it could become fresh again and be replayed.
  let highWater = startedAtMs;
  let lastSweep = startedAtMs;

  const now = (): number => {
    highWater = Math.max(highWater, options.clock.now().getTime());
    return highWater;
  };

  const sweepPeer = (peer: string, nonces: Map<string, number>, at: number): void => {
    for (const [nonce, expiresAt] of nonces) if (expiresAt < at) nonces.delete(nonce);
    if (nonces.size === 0) seen.delete(peer);
  };

  return {
    windowMs,
    startedAtMs,
    admit(peer, nonce, timestampMs) {
      const at = now();
      if (timestampMs < startedAtMs) return 'before-start';
      if (Math.abs(at - timestampMs) > windowMs) return 'stale';
      // A full pass at most once per window keeps the cost amortised O(1) per message.
      if (at - lastSweep >= windowMs) {
        for (const [p, nonces] of seen) sweepPeer(p, nonces, at);
        lastSweep = at;
      }
      let nonces = seen.get(peer);
      if (nonces === undefined) {
        nonces = new Map();
        seen.set(peer, nonces);
      }
      if (nonces.has(nonce)) return 'replay';
      if (nonces.size >= maxPerPeer) {
        sweepPeer(peer, nonces, at);
        if (nonces.size >= maxPerPeer) return 'full';
        seen.set(peer, nonces);
      }
      nonces.set(nonce, timestampMs + windowMs);
      return 'fresh';
    },
    size() {
      let n = 0;
      for (const nonces of seen.values()) n += nonces.size;
      return n;
    },
  };
}
