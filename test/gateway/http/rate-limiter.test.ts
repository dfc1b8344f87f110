// The per-client request budget: a fixed window per key, headers on every answer, RATE_LIMITED past the budget,
// a bounded number of keys, and addresses normalized so one IPv6 host cannot take a budget per address.
import { afterEach, describe, expect, it, vi } from 'vitest';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { handleError } from '../../../gateway/http/problem.ts';
import { normalizeAddress } from '../../../gateway/http/rate-limit-key.ts';
import { createRateLimiter, type RateLimiter } from '../../../gateway/http/rate-limiter.ts';

let clock = 1_000_000;
afterEach(() => {
  vi.useRealTimers();
});

/** A limiter whose budget owner is the `x-client` header, so one test can play many clients. */
function limiterWith(max: number, options: { maxKeys?: number } = {}): RateLimiter {
  return createRateLimiter({
    keyOf: (request: FastifyRequest) => String(request.headers['x-client'] ?? 'anonymous'),
    maxOf: (key) => (key.startsWith('peer:') ? max * 10 : max),
    windowMs: 60_000,
    now: () => clock,
    ...options,
  });
}

/** A ready app behind `limiter`; closing it (Fastify instances are async-disposable) stops the limiter too. */
async function appWith(limiter: RateLimiter): Promise<FastifyInstance> {
  const instance = Fastify();
  instance.addHook('onClose', async () => limiter.close());
  instance.setErrorHandler(handleError);
  instance.addHook('onRequest', limiter.hook);
  instance.get('/work', async () => ({}));
  await instance.ready();
  return instance;
}

const call = (instance: FastifyInstance, client: string) =>
  instance.inject({ method: 'GET', url: '/work', headers: { 'x-client': client } });

describe('the rate limiter', () => {
  it('answers within the budget with its headers, then RATE_LIMITED with Retry-After until the window ends', async () => {
    await using instance = await appWith(limiterWith(3));
    for (let i = 1; i <= 3; i++) {
      const res = await call(instance, 'a');
      expect(res.statusCode).toBe(200);
      expect(res.headers['x-ratelimit-limit']).toBe('3');
      expect(res.headers['x-ratelimit-remaining']).toBe(String(3 - i));
      expect(res.headers['x-ratelimit-reset']).toBe('60');
    }
    clock += 15_000;
    const refused = await call(instance, 'a');
    expect(refused.statusCode).toBe(429);
    expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(refused.headers['retry-after']).toBe('45');
    expect(refused.json()).toMatchObject({ code: 'RATE_LIMITED', context: { retryAfterSeconds: 45 } });
    // Another client has its own budget.
    expect((await call(instance, 'b')).statusCode).toBe(200);
    clock += 45_000;
    const renewed = await call(instance, 'a');
    expect(renewed.statusCode).toBe(200);
    expect(renewed.headers['x-ratelimit-remaining']).toBe('2');
  });

  it('gives each key its own maximum', async () => {
    await using instance = await appWith(limiterWith(1));
    expect((await call(instance, 'peer:insurer@10.0.0.7')).headers['x-ratelimit-limit']).toBe('10');
    expect((await call(instance, '10.0.0.7')).headers['x-ratelimit-limit']).toBe('1');
  });

  it('puts new keys past maxKeys on one shared overflow budget instead of growing or evicting', async () => {
    const limiter = limiterWith(2, { maxKeys: 3 });
    await using instance = await appWith(limiter);
    for (const client of ['a', 'b', 'c']) expect((await call(instance, client)).statusCode).toBe(200);
    // d, e and f are strangers past the bound: together they get one budget of 2.
    const statuses = [];
    for (const client of ['d', 'e', 'f']) statuses.push((await call(instance, client)).statusCode);
    expect(statuses).toEqual([200, 200, 429]);
    expect(limiter.size()).toBe(4);
    // The tracked clients keep their own counts: nobody's budget was reset by eviction.
    expect((await call(instance, 'a')).headers['x-ratelimit-remaining']).toBe('0');
    expect((await call(instance, 'a')).statusCode).toBe(429);
  });

  it('forgets keys whose window has ended', async () => {
    // The sweep is the limiter's own setInterval; its clock is injected, so only the interval needs faking.
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    clock = Date.now();
    const limiter = createRateLimiter({ keyOf: () => 'k', maxOf: () => 5, windowMs: 1_000, now: () => clock });
    await using instance = Fastify();
    instance.addHook('onClose', async () => limiter.close());
    instance.addHook('onRequest', limiter.hook);
    instance.get('/work', async () => ({}));
    await instance.inject({ method: 'GET', url: '/work' });
    expect(limiter.size()).toBe(1);
    clock += 1_000;
    vi.advanceTimersByTime(1_000);
    expect(limiter.size()).toBe(0);
  });
});

describe('address normalization', () => {
  it('keeps IPv4, unwraps IPv4-mapped IPv6, and groups other IPv6 addresses by /64', () => {
    expect(normalizeAddress('10.0.0.7')).toBe('10.0.0.7');
    expect(normalizeAddress('::ffff:10.0.0.7')).toBe('10.0.0.7');
    expect(normalizeAddress('::FFFF:10.0.0.7')).toBe('10.0.0.7');
    expect(normalizeAddress('2001:db8:1:2:3:4:5:6')).toBe('2001:db8:1:2::/64');
    expect(normalizeAddress('2001:DB8:1:2::99')).toBe('2001:db8:1:2::/64');
    expect(normalizeAddress('2001:0db8:0001:0002:ffff:0:0:1%eth0')).toBe('2001:db8:1:2::/64');
    expect(normalizeAddress('::1')).toBe('0:0:0:0::/64');
    expect(normalizeAddress('64:ff9b::192.0.2.33')).toBe('64:ff9b:0:0::/64');
  });

  it('keeps what is not an IPv6 address as it is, lower-cased, rather than guessing', () => {
    for (const odd of ['1::2::3', '12345::1', 'g::1', '1:2:3:4:5:6:7:8:9', '::1.2.3.999', 'fe80::1::']) {
      expect(normalizeAddress(odd)).toBe(odd.toLowerCase());
    }
  });
});
