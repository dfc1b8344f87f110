// Per-client request budgets over fixed windows, checked before authentication so token guessing is throttled too.
// Each key (a client address, or a registered partner at an address: rate-limit-key.ts) may make `max` requests per
// window, the window starting at its first request; past that, RATE_LIMITED (429) with Retry-After.
//
// Why not @fastify/rate-limit, which the gateway used before: its hook awaits the key, the budget and the store
// (four promises per request) and runs every address through Node's IPv6 regular expression. Replacing it, together
// with making the gateway's other hooks callback style, cut the decision route's request-thread time by about a
// tenth (docs/consent-benchmark.md). This is one Map lookup and two comparisons, with addresses normalized once per
// distinct string.
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import { GatewayError } from '../../core/errors.ts';

export type RateLimiterOptions = {
  /** The budget's owner; see rateLimitKey. */
  keyOf: (request: FastifyRequest) => string;
  /** Requests a key may make per window. */
  maxOf: (key: string) => number;
  windowMs: number;
  /** Milliseconds since the epoch; injected by tests. */
  now?: () => number;
  /**
   * Keys tracked at once. Past this, new keys share one overflow budget until windows end, so a flood of distinct
   * addresses can neither grow memory without bound nor reset anybody's count by eviction.
   */
  maxKeys?: number;
};

export type RateLimiter = {
  /** The onRequest hook (callback style: it never waits). */
  hook: (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => void;
  /** Keys tracked now, for tests and metrics. */
  size(): number;
  /** Stops the sweep timer. */
  close(): void;
};

type Budget = { count: number; resetAt: number };

// Real keys are addresses or peer:<id>@<address> (rate-limit-key.ts); none is this.
const OVERFLOW_KEY = 'overflow:';
const DEFAULT_MAX_KEYS = 100_000;

export const RATE_LIMIT_HEADERS = {
  limit: 'x-ratelimit-limit',
  remaining: 'x-ratelimit-remaining',
  reset: 'x-ratelimit-reset',
  retryAfter: 'retry-after',
} as const;

export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
  const { keyOf, maxOf, windowMs } = options;
  const now = options.now ?? Date.now;
  const maxKeys = options.maxKeys ?? DEFAULT_MAX_KEYS;
  const budgets = new Map<string, Budget>();

  // Ended windows are dropped once a window, so memory follows the keys active in the last two windows.
  const sweep = setInterval(() => {
    const t = now();
    for (const [key, budget] of budgets) if (budget.resetAt <= t) budgets.delete(key);
  }, windowMs);
  sweep.unref();

  /** The budget `key` spends now, opened or renewed when its window has ended. */
  const budgetOf = (key: string, t: number): Budget => {
    const budget = budgets.get(key);
    if (budget !== undefined && budget.resetAt > t) return budget;
    if (budget === undefined && budgets.size >= maxKeys && key !== OVERFLOW_KEY) return budgetOf(OVERFLOW_KEY, t);
    const fresh = { count: 0, resetAt: t + windowMs };
    budgets.set(key, fresh);
    return fresh;
  };

  return {
    hook(request, reply, done) {
      const t = now();
      const key = keyOf(request);
      const max = maxOf(key);
      const budget = budgetOf(key, t);
      budget.count++;
      const resetSeconds = Math.max(1, Math.ceil((budget.resetAt - t) / 1000));
      reply.header(RATE_LIMIT_HEADERS.limit, max);
      reply.header(RATE_LIMIT_HEADERS.remaining, Math.max(0, max - budget.count));
      reply.header(RATE_LIMIT_HEADERS.reset, resetSeconds);
      if (budget.count <= max) {
        done();
        return;
      }
      reply.header(RATE_LIMIT_HEADERS.retryAfter, resetSeconds);
      done(
        new GatewayError('RATE_LIMITED', `rate limit of ${max} requests exceeded; retry in ${resetSeconds} s`, {
          retryAfterSeconds: resetSeconds,
        }),
      );
    },
    size: () => budgets.size,
    close: () => clearInterval(sweep),
  };
}
