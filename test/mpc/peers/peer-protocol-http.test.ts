// The signed peer protocol between real gateways over loopback HTTP (docs/peer-protocol.md): a
// signed ping is accepted and its trace id reaches the receiver's logs; an unknown key, a bad
// signature, a stale timestamp, a replay, a tampered body and a relayed request are each refused
// with their own code and audited; deadlines and retries behave as documented.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixedClock } from '../../../core/clock.ts';
import type { PeerClientOptions } from '../../../mpc/peers/peer-client.ts';
import { PEER_HEADERS } from '../../../mpc/peers/peer-signature.ts';
import { formatTraceparent, startTrace } from '../../../core/trace-context.ts';
import { bearer } from '../../fixtures/gateway-fixture.ts';
import {
  clientOf,
  meshGateways,
  recordingFetch,
  registerPeer,
  resend,
  startBlackHole,
  startFlakyProxy,
  startGateway,
  type ListeningGateway,
} from './peer-fixture.ts';

let dealer: ListeningGateway;
let insurer: ListeningGateway;
let charger: ListeningGateway;

beforeAll(async () => {
  [dealer, insurer, charger] = await Promise.all([
    startGateway('dealer-4s'),
    startGateway('insurer'),
    startGateway('charging-op'),
  ]);
  await meshGateways([dealer, insurer, charger]);
});
afterAll(async () => {
  await Promise.all([dealer, insurer, charger].map((g) => g?.close()));
});

/** The rejections `at` audited for `reason`, newest last. */
async function rejections(at: ListeningGateway, reason: string) {
  const entries = await at.ctx.consent.listAudit({ kind: 'message', limit: 1000 });
  return entries.filter((e) => e.action === 'peer-reject' && e.detail.reason === reason);
}

async function problemOf(res: Response): Promise<{ code: string; status: number }> {
  return (await res.json()) as { code: string; status: number };
}

describe('signed peer requests between gateways', () => {
  it("a signed ping is accepted, answered signed, and its trace id shows in the receiver's log lines", async () => {
    const trace = startTrace();
    const answer = await dealer.ctx.peers.client.request({
      peerId: 'insurer',
      method: 'GET',
      path: '/peer/v1/ping',
      options: {
        traceparent: formatTraceparent(trace),
      },
    });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ partyId: 'insurer', peer: 'dealer-4s', protocol: 'sealgate-peer-v1' });
    expect(answer.traceId).toBe(trace.traceId);
    const lines = insurer.log.lines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.traceId === trace.traceId);
    expect(lines.some((l) => l.msg === 'request completed')).toBe(true);
  });

  it('a POST with a JSON body is hashed over its raw bytes and echoed', async () => {
    const answer = await insurer.ctx.peers.client.request({
      peerId: 'charging-op',
      method: 'POST',
      path: '/peer/v1/ping',
      body: { echo: 'héllo' },
      options: { jobId: 'job-1', step: 'psi-1', isBlinded: true },
    });
    expect(answer.body).toMatchObject({ partyId: 'charging-op', peer: 'insurer', echo: 'héllo' });
    const audit = await insurer.ctx.consent.listAudit({ kind: 'message', ref: 'job-1', limit: 10 });
    expect(audit.map((e) => e.action)).toEqual(['peer-send', 'peer-reply']);
    expect(audit[0]?.detail).toMatchObject({
      peer: 'charging-op',
      direction: 'out',
      jobId: 'job-1',
      step: 'psi-1',
      isBlinded: true,
      isEncrypted: false,
      protocol: 'sealgate-peer-v1',
      bytes: Buffer.byteLength('{"echo":"héllo"}'),
    });
    expect(audit[1]?.detail).toMatchObject({ direction: 'in', status: 200 });
    const received = (await charger.ctx.consent.listAudit({ kind: 'message', limit: 1000 })).filter(
      (e) => e.action === 'peer-exchange' && e.detail.traceId === answer.traceId,
    );
    expect(received).toHaveLength(1);
    expect(received[0]?.detail).toMatchObject({
      peer: 'insurer',
      bytesIn: Buffer.byteLength('{"echo":"héllo"}'),
      status: 200,
    });
  });

  it('the admin ping route calls the peer and reports the verified answer', async () => {
    const res = await dealer.app.inject({
      method: 'POST',
      url: '/v1/peers/charging-op/ping',
      headers: bearer(dealer.adminToken),
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      peer: 'charging-op',
      status: 200,
      answer: { partyId: 'charging-op', peer: 'dealer-4s' },
    });
  });

  it('refuses a gateway it does not know: 401 PEER_UNKNOWN, audited', async () => {
    const stranger = await startGateway('battery-maker');
    try {
      await registerPeer(stranger, insurer);
      const error = await stranger.ctx.peers.client
        .request({ peerId: 'insurer', method: 'GET', path: '/peer/v1/ping' })
        .catch((e: unknown) => e);
      expect(error).toMatchObject({
        code: 'PEER_REJECTED',
        detail: { status: 401, peerCode: 'PEER_UNKNOWN', isSigned: true },
      });
      const audited = await rejections(insurer, 'unknown-peer');
      expect(audited.at(-1)?.detail).toMatchObject({
        peer: 'battery-maker',
        path: '/peer/v1/ping',
        code: 'PEER_UNKNOWN',
      });
      expect(audited.at(-1)?.outcome).toBe('rejected');
    } finally {
      await stranger.close();
    }
  });

  it('refuses a signature with one flipped byte: 401 BAD_SIGNATURE, audited', async () => {
    const recorder = recordingFetch((r) => {
      const sig = Buffer.from(r.headers[PEER_HEADERS.signature] ?? '', 'base64url');
      sig[10] = (sig[10] ?? 0) ^ 0x01;
      return { ...r, headers: { ...r.headers, [PEER_HEADERS.signature]: sig.toString('base64url') } };
    });
    const error = await clientOf(dealer, { fetch: recorder.fetch })
      .request({ peerId: 'insurer', method: 'GET', path: '/peer/v1/ping', options: { retries: 0 } })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'PEER_REJECTED', detail: { status: 401, peerCode: 'BAD_SIGNATURE' } });
    const traceId = recorder.sent[0]?.headers.traceparent?.split('-')[1];
    expect(
      (await rejections(insurer, 'bad-signature')).some(
        (e) => e.detail.traceId === traceId && e.detail.peer === 'dealer-4s',
      ),
    ).toBe(true);
    // The rejection is logged under the caller's trace id as well.
    expect(
      insurer.log.lines.some((l) => l.includes('"peer request rejected"') && l.includes(`"traceId":"${traceId}"`)),
    ).toBe(true);
  });

  it('refuses a timestamp outside the window: 401 PEER_STALE, audited', async () => {
    const behind = fixedClock(new Date(Date.now() - 5 * 60_000));
    const ahead = fixedClock(new Date(Date.now() + 5 * 60_000));
    for (const clock of [behind, ahead]) {
      const error = await clientOf(dealer, { clock })
        .request({ peerId: 'insurer', method: 'GET', path: '/peer/v1/ping' })
        .catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'PEER_REJECTED', detail: { status: 401, peerCode: 'PEER_STALE' } });
    }
    expect((await rejections(insurer, 'before-start')).length).toBeGreaterThanOrEqual(1);
    expect((await rejections(insurer, 'stale')).length).toBeGreaterThanOrEqual(1);
  });

  it('refuses the same signed request sent twice: 401 PEER_REPLAY, audited', async () => {
    const recorder = recordingFetch();
    await clientOf(dealer, { fetch: recorder.fetch }).request({
      peerId: 'insurer',
      method: 'POST',
      path: '/peer/v1/ping',
      body: { echo: 'once' },
    });
    const first = recorder.sent[0];
    if (first === undefined) throw new Error('nothing was sent');
    const replay = await resend(first);
    expect(replay.status).toBe(401);
    expect(await problemOf(replay)).toMatchObject({ code: 'PEER_REPLAY' });
    const audited = await rejections(insurer, 'replay');
    expect(audited.at(-1)?.detail).toMatchObject({ peer: 'dealer-4s', path: '/peer/v1/ping', code: 'PEER_REPLAY' });
  });

  it('refuses a body altered after signing: 401 PEER_BODY_MISMATCH, audited', async () => {
    const recorder = recordingFetch((r) => ({
      ...r,
      body: Buffer.from(r.body.toString('utf8').replace('pay 10', 'pay 99')),
    }));
    const error = await clientOf(dealer, { fetch: recorder.fetch })
      .request({ peerId: 'insurer', method: 'POST', path: '/peer/v1/ping', body: { echo: 'pay 10' } })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'PEER_REJECTED', detail: { status: 401, peerCode: 'PEER_BODY_MISMATCH' } });
    expect((await rejections(insurer, 'body-hash-mismatch')).at(-1)?.detail).toMatchObject({ peer: 'dealer-4s' });
  });

  it('refuses a non-empty body hash on a request without a body', async () => {
    const recorder = recordingFetch((r) => ({
      ...r,
      headers: { ...r.headers, [PEER_HEADERS.contentSha256]: 'ab'.repeat(32) },
    }));
    const error = await clientOf(dealer, { fetch: recorder.fetch })
      .request({ peerId: 'insurer', method: 'GET', path: '/peer/v1/ping' })
      .catch((e: unknown) => e);
    // The hash is signed, so changing it breaks the signature first.
    expect(error).toMatchObject({ detail: { peerCode: 'BAD_SIGNATURE' } });
  });

  it('refuses a request relayed to a third gateway: the recipient is signed', async () => {
    const recorder = recordingFetch();
    await clientOf(dealer, { fetch: recorder.fetch }).request({
      peerId: 'insurer',
      method: 'POST',
      path: '/peer/v1/ping',
      body: {
        echo: 'for the insurer only',
      },
    });
    const original = recorder.sent[0];
    if (original === undefined) throw new Error('nothing was sent');
    // The charging operator knows the dealer and its key, yet must not accept a message meant for the insurer.
    const relayed = await resend(original, original.url.replace(insurer.url, charger.url));
    expect(relayed.status).toBe(401);
    expect(await problemOf(relayed)).toMatchObject({ code: 'BAD_SIGNATURE' });
    expect((await rejections(charger, 'bad-signature')).at(-1)?.detail).toMatchObject({ peer: 'dealer-4s' });
  });

  it('refuses unsigned calls to peer routes and bearer tokens on them', async () => {
    const unsigned = await fetch(`${insurer.url}/peer/v1/ping`);
    expect(unsigned.status).toBe(401);
    expect(await problemOf(unsigned)).toMatchObject({ code: 'PEER_UNKNOWN' });
    const withToken = await fetch(`${insurer.url}/peer/v1/ping`, { headers: bearer(insurer.adminToken) });
    expect(await problemOf(withToken)).toMatchObject({ code: 'PEER_UNKNOWN' });
    expect((await rejections(insurer, 'missing-peer')).length).toBeGreaterThanOrEqual(2);
  });

  it('a disabled peer is refused on its next request', async () => {
    const disable = await charger.app.inject({
      method: 'DELETE',
      url: '/v1/peers/dealer-4s',
      headers: bearer(charger.adminToken),
    });
    expect(disable.json()).toMatchObject({ id: 'dealer-4s', status: 'disabled' });
    const error = await dealer.ctx.peers.client
      .request({ peerId: 'charging-op', method: 'GET', path: '/peer/v1/ping' })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'PEER_REJECTED', detail: { peerCode: 'PEER_UNKNOWN' } });
    await registerPeer(charger, dealer);
    expect(
      (await dealer.ctx.peers.client.request({ peerId: 'charging-op', method: 'GET', path: '/peer/v1/ping' })).status,
    ).toBe(200);
  });
});

describe('peer client deadlines and retries', () => {
  it('maps a peer that never answers to PEER_TIMEOUT within the deadline', async () => {
    const hole = await startBlackHole();
    try {
      await registerPeer(dealer, { partyId: 'silent-party', url: hole.url, publicKeyHex: charger.publicKeyHex });
      const started = performance.now();
      const error = await dealer.ctx.peers.client
        .request({ peerId: 'silent-party', method: 'GET', path: '/peer/v1/ping', options: { deadlineMs: 400 } })
        .catch((e: unknown) => e);
      const elapsed = performance.now() - started;
      expect(error).toMatchObject({ code: 'PEER_TIMEOUT', detail: { peer: 'silent-party', deadlineMs: 400 } });
      expect(elapsed).toBeGreaterThanOrEqual(390);
      expect(elapsed).toBeLessThan(400 + 1_000);
      expect(hole.hits()).toBeGreaterThanOrEqual(1);
      // The gateway's own client counts it for /metrics, by peer and code.
      const metrics = (await dealer.app.inject({ method: 'GET', url: '/metrics' })).body;
      expect(metrics).toMatch(
        /^sealgate_peer_call_failures_total\{peer="silent-party",code="PEER_TIMEOUT",[^}]*\} 1$/m,
      );
    } finally {
      await hole.close();
    }
  });

  it('retries 503 answers with backoff, then succeeds', async () => {
    const proxy = await startFlakyProxy(insurer.url, 2);
    try {
      const res = await dealer.app.inject({
        method: 'PATCH',
        url: '/v1/peers/insurer',
        headers: bearer(dealer.adminToken),
        payload: { baseUrl: proxy.url },
      });
      expect(res.json()).toMatchObject({ baseUrl: proxy.url });
      const answer = await clientOf(dealer, { retryBaseMs: 10 }).request({
        peerId: 'insurer',
        method: 'POST',
        path: '/peer/v1/ping',
        body: {
          echo: 'third time',
        },
      });
      expect(answer).toMatchObject({ status: 200, attempts: 3, body: { echo: 'third time' } });
      expect(proxy.hits()).toBe(3);
    } finally {
      await dealer.app.inject({
        method: 'PATCH',
        url: '/v1/peers/insurer',
        headers: bearer(dealer.adminToken),
        payload: { baseUrl: insurer.url },
      });
      await proxy.close();
    }
  });

  it('gives up with PEER_UNAVAILABLE when every attempt is refused, and never retries a 4xx', async () => {
    const proxy = await startFlakyProxy(insurer.url, 100);
    const rejecting = await startFlakyProxy(insurer.url, 100, { status: 404 });
    try {
      await registerPeer(dealer, { partyId: 'flaky-party', url: proxy.url, publicKeyHex: insurer.publicKeyHex });
      const error = await clientOf(dealer, { retryBaseMs: 5 })
        .request({ peerId: 'flaky-party', method: 'GET', path: '/peer/v1/ping', options: { retries: 2 } })
        .catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'PEER_UNAVAILABLE', detail: { attempts: 3, lastStatus: 503 } });
      expect(proxy.hits()).toBe(3);

      await registerPeer(dealer, { partyId: 'picky-party', url: rejecting.url, publicKeyHex: insurer.publicKeyHex });
      const refused = await clientOf(dealer, { retryBaseMs: 5 })
        .request({ peerId: 'picky-party', method: 'GET', path: '/peer/v1/ping' })
        .catch((e: unknown) => e);
      expect(refused).toMatchObject({ code: 'PEER_REJECTED', detail: { status: 404, isSigned: false } });
      expect(rejecting.hits()).toBe(1);
    } finally {
      await proxy.close();
      await rejecting.close();
    }
  });

  it('tells onFailure of each call that failed once, not of each attempt nor of a call refused before sending', async () => {
    const proxy = await startFlakyProxy(insurer.url, 100);
    const failures: unknown[] = [];
    const onFailure: PeerClientOptions['onFailure'] = (failure) => {
      failures.push(failure);
      throw new Error('a listener that throws');
    };
    try {
      await registerPeer(dealer, { partyId: 'flaky-counted', url: proxy.url, publicKeyHex: insurer.publicKeyHex });
      const client = clientOf(dealer, { retryBaseMs: 5, onFailure });
      // The listener's own error does not replace the call's.
      await expect(
        client.request({ peerId: 'flaky-counted', method: 'GET', path: '/peer/v1/ping', options: { retries: 2 } }),
      ).rejects.toMatchObject({ code: 'PEER_UNAVAILABLE', detail: { attempts: 3 } });
      await expect(client.request({ peerId: 'nobody', method: 'GET', path: '/peer/v1/ping' })).rejects.toMatchObject({
        code: 'NOT_FOUND',
      });
      expect((await client.request({ peerId: 'insurer', method: 'GET', path: '/peer/v1/ping' })).status).toBe(200);
      expect(failures).toEqual([{ peer: 'flaky-counted', code: 'PEER_UNAVAILABLE' }]);
    } finally {
      await proxy.close();
    }
  });

  it('rejects an answer altered on the way back: PEER_BAD_RESPONSE', async () => {
    const proxy = await startFlakyProxy(insurer.url, 0, {
      rewriteBody: (b) => Buffer.from(b.toString('utf8').replace('"accept"', '"refuse"')),
    });
    try {
      await dealer.app.inject({
        method: 'PATCH',
        url: '/v1/peers/insurer',
        headers: bearer(dealer.adminToken),
        payload: { baseUrl: proxy.url },
      });
      const error = await dealer.ctx.peers.client
        .request({ peerId: 'insurer', method: 'POST', path: '/peer/v1/ping', body: { echo: 'accept' } })
        .catch((e: unknown) => e);
      expect(error).toMatchObject({
        code: 'PEER_BAD_RESPONSE',
        detail: { peer: 'insurer', reason: 'body-hash-mismatch' },
      });
      const replies = (await dealer.ctx.consent.listAudit({ kind: 'message', limit: 1000 })).filter(
        (e) => e.action === 'peer-reply',
      );
      expect(replies.at(-1)).toMatchObject({ outcome: 'error', detail: { code: 'PEER_BAD_RESPONSE' } });
    } finally {
      await dealer.app.inject({
        method: 'PATCH',
        url: '/v1/peers/insurer',
        headers: bearer(dealer.adminToken),
        payload: { baseUrl: insurer.url },
      });
      await proxy.close();
    }
  });
});
