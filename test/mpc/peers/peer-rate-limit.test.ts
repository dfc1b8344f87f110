// A registered partner's signed calls have a rate-limit budget of their own: a PSI job sends thousands of frames,
// and counting them against the partner address's client budget would throttle the job into PEER_TIMEOUT. Callers
// that are not a registered partner keep the ordinary per-address budget, on peer paths too.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyRequest } from 'fastify';
import { rateLimitKey, rateLimitMax } from '../../../gateway/http/rate-limit-key.ts';
import { EMPTY_SHA256, PEER_HEADERS, newNonce } from '../../../mpc/peers/peer-signature.ts';
import { meshGateways, startGateway, type ListeningGateway } from './peer-fixture.ts';

/** A complete, well-formed set of signature headers claiming `peer` (the signature itself is checked later). */
const signedHeaders = (peer: string) => ({
  [PEER_HEADERS.peer]: peer,
  [PEER_HEADERS.timestamp]: String(Date.now()),
  [PEER_HEADERS.nonce]: newNonce(),
  [PEER_HEADERS.contentSha256]: EMPTY_SHA256,
  [PEER_HEADERS.signature]: 'A'.repeat(86),
});
const request = (
  url: string,
  peer?: string,
  ip = '10.0.0.7',
  headers = peer === undefined ? {} : signedHeaders(peer),
) => ({ url, ip, headers }) as unknown as FastifyRequest;

describe('rate-limit keys', () => {
  const key = rateLimitKey((id) => id === 'insurer');
  const max = rateLimitMax({ max: 300, peerMax: 60_000 });

  it('gives a registered peer on a peer path its own budget, keyed by peer and address', () => {
    const k = key(request('/peer/v1/jobs/messages?job=x&attempt=1', 'insurer'));
    expect(k).toBe('peer:insurer@10.0.0.7');
    expect(max(k)).toBe(60_000);
    // The same claim from another address is another budget: a forger spends its own.
    expect(key(request('/peer/v1/ping', 'insurer', '10.9.9.9'))).toBe('peer:insurer@10.9.9.9');
  });

  it('gives requests without a remote address (a socket already closed) one shared budget', () => {
    expect(key({ url: '/v1/consents', ip: undefined, headers: {} } as unknown as FastifyRequest)).toBe('unknown');
  });

  it("keeps the address budget for a bare claim of a partner's id, even from the partner's own address", () => {
    // Unsigned requests claiming the partner must not spend the partner's budget (nor write an audit entry each on
    // it): without a complete set of signature headers a request is the address's, like any client's.
    for (const headers of [
      { [PEER_HEADERS.peer]: 'insurer' },
      { ...signedHeaders('insurer'), [PEER_HEADERS.signature]: 'not base64url!' },
      { ...signedHeaders('insurer'), [PEER_HEADERS.nonce]: undefined },
    ]) {
      expect(key(request('/peer/v1/jobs/fail', 'insurer', '10.0.0.7', headers as Record<string, string>))).toBe(
        '10.0.0.7',
      );
    }
  });

  it('keeps the address budget for client paths, unknown peers and missing claims', () => {
    for (const r of [
      request('/v1/consents', 'insurer'),
      request('/peer/v1/ping', 'stranger'),
      request('/peer/v1/ping'),
      request('/peerx/v1', 'insurer'),
    ]) {
      const k = key(r);
      expect(k).toBe('10.0.0.7');
      expect(max(k)).toBe(300);
    }
  });
});

describe('over HTTP', () => {
  let dealer: ListeningGateway;
  let insurer: ListeningGateway;
  beforeAll(async () => {
    // A client budget of 5 a minute at the insurer: the partner's signed calls must not be counted in it.
    dealer = await startGateway('dealer');
    insurer = await startGateway('insurer', { SEALGATE_RATE_LIMIT_MAX: '5' });
    await meshGateways([dealer, insurer]);
  });
  afterAll(async () => {
    await Promise.all([dealer?.close(), insurer?.close()]);
  });

  it("a partner's signed calls pass the client limit of their shared address, which still throttles everyone else", async () => {
    for (let i = 0; i < 12; i++) {
      const answer = await dealer.ctx.peers.client.request({
        peerId: 'insurer',
        method: 'GET',
        path: '/peer/v1/ping',
        options: {
          retries: 0,
        },
      });
      expect(answer.status).toBe(200);
    }
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++)
      statuses.push(
        (await fetch(`${insurer.url}/peer/v1/ping`, { headers: { [PEER_HEADERS.peer]: 'stranger' } })).status,
      );
    expect(statuses.slice(0, 2)).toEqual([401, 401]);
    expect(statuses.at(-1)).toBe(429);
    // The partner's budget is untouched by the stranger's refusals.
    const after = await dealer.ctx.peers.client.request({
      peerId: 'insurer',
      method: 'GET',
      path: '/peer/v1/ping',
      options: { retries: 0 },
    });
    expect(after.status).toBe(200);
  });

  it("unsigned requests claiming the partner's id from the partner's address spend the address's budget, not the partner's", async () => {
    // The window of the previous test may still be open: wait for the address budget to be throttling, then count.
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++)
      statuses.push(
        (await fetch(`${insurer.url}/peer/v1/ping`, { headers: { [PEER_HEADERS.peer]: 'dealer' } })).status,
      );
    expect(statuses.at(-1)).toBe(429);
    const refusals = (await insurer.ctx.consent.listAudit({ kind: 'message', limit: 1000 })).filter(
      (e) => e.action === 'peer-reject' && e.actor === 'dealer',
    );
    // At most the client budget of them reached authentication (and the audit log); the rest were throttled first.
    expect(refusals.length).toBeLessThanOrEqual(5);
    const signed = await dealer.ctx.peers.client.request({
      peerId: 'insurer',
      method: 'GET',
      path: '/peer/v1/ping',
      options: { retries: 0 },
    });
    expect(signed.status).toBe(200);
  });
});
