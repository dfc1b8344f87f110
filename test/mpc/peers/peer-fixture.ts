// Shared set-up for peer protocol tests: real gateways in one process, each listening on a loopback
// port, registered with each other through the admin API, plus small real HTTP servers that stand in
// for a broken network (a black hole, a flaky proxy).
import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Clock } from '../../../core/clock.ts';
import { createPeerClient, type PeerClient, type PeerClientOptions } from '../../../mpc/peers/peer-client.ts';
import { bearer, makeTestGateway, type TestGateway } from '../../fixtures/gateway-fixture.ts';

export type ListeningGateway = TestGateway & { url: string; partyId: string; publicKeyHex: string };

export async function startGateway(partyId: string, env: Record<string, string> = {}): Promise<ListeningGateway> {
  const gw = await makeTestGateway({ SEALGATE_PARTY_ID: partyId, ...env });
  await gw.app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = gw.app.server.address() as AddressInfo;
  return {
    ...gw,
    url: `http://127.0.0.1:${port}`,
    partyId,
    publicKeyHex: Buffer.from(gw.ctx.identity.ed25519.publicKeyRaw).toString('hex'),
  };
}

/** Registers `peer` at `at` through POST /v1/peers, as an operator would; returns the response. */
export async function registerPeer(
  at: ListeningGateway,
  peer: { partyId: string; url: string; publicKeyHex: string },
  baseUrl = peer.url,
) {
  const res = await at.app.inject({
    method: 'POST',
    url: '/v1/peers',
    headers: bearer(at.adminToken),
    payload: { id: peer.partyId, baseUrl, ed25519PublicKey: peer.publicKeyHex },
  });
  if (res.statusCode !== 201 && res.statusCode !== 200)
    throw new Error(`registering ${peer.partyId} at ${at.partyId} failed: ${res.body}`);
  return res;
}

/** Every pair registers each other. */
export async function meshGateways(gateways: readonly ListeningGateway[]): Promise<void> {
  for (const a of gateways) for (const b of gateways) if (a !== b) await registerPeer(a, b);
}

/** A client for `gw` with test-chosen clock, fetch, backoff and failure listener; audits into `gw`'s log. */
export function clientOf(
  gw: TestGateway,
  options: Pick<PeerClientOptions, 'fetch' | 'retryBaseMs' | 'onFailure'> & { clock?: Clock } = {},
): PeerClient {
  return createPeerClient({
    identity: gw.ctx.identity,
    peers: gw.ctx.peers.registry,
    clock: options.clock ?? gw.ctx.clock,
    log: gw.ctx.log,
    audit: (entry) => gw.ctx.consent.appendAudit(entry),
    ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
    ...(options.retryBaseMs === undefined ? {} : { retryBaseMs: options.retryBaseMs }),
    ...(options.onFailure === undefined ? {} : { onFailure: options.onFailure }),
  });
}

export type CapturedRequest = { url: string; method: string; headers: Record<string, string>; body: Buffer };

/** A fetch that records what it sends (after signing) and may rewrite it first. */
export function recordingFetch(rewrite?: (request: CapturedRequest) => CapturedRequest): {
  fetch: typeof fetch;
  sent: CapturedRequest[];
} {
  const sent: CapturedRequest[] = [];
  const wrapped: typeof fetch = async (input, init) => {
    const headers = Object.fromEntries(new Headers(init?.headers).entries());
    const body =
      init?.body === undefined || init.body === null ? Buffer.alloc(0) : Buffer.from(init.body as Uint8Array);
    let captured: CapturedRequest = { url: String(input), method: init?.method ?? 'GET', headers, body };
    if (rewrite !== undefined) captured = rewrite(captured);
    sent.push(captured);
    return fetch(captured.url, {
      method: captured.method,
      headers: captured.headers,
      redirect: 'manual',
      ...(captured.body.length > 0 ? { body: captured.body } : {}),
      ...(init?.signal ? { signal: init.signal } : {}),
    });
  };
  return { fetch: wrapped, sent };
}

/** Sends a captured request again, byte for byte, to `url` (default: where it first went). */
export function resend(captured: CapturedRequest, url = captured.url): Promise<Response> {
  return fetch(url, {
    method: captured.method,
    headers: captured.headers,
    ...(captured.body.length > 0 ? { body: captured.body } : {}),
  });
}

export type TestServer = { url: string; hits: () => number; close(): Promise<void> };

async function listen(server: Server, sockets: Set<Socket>): Promise<string> {
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function closer(server: Server, sockets: Set<Socket>): () => Promise<void> {
  return async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
}

/** Accepts connections and requests and never answers. */
export async function startBlackHole(): Promise<TestServer> {
  let hits = 0;
  const sockets = new Set<Socket>();
  const server = createServer(() => {
    hits += 1;
  });
  const url = await listen(server, sockets);
  return { url, hits: () => hits, close: closer(server, sockets) };
}

/**
 * Forwards to `target` byte for byte, except that the first `failures` requests get `status` (503)
 * and `rewriteBody` may alter the forwarded answer.
 */
export async function startFlakyProxy(
  target: string,
  failures: number,
  options: { status?: number; rewriteBody?: (body: Buffer) => Buffer } = {},
): Promise<TestServer> {
  let hits = 0;
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    hits += 1;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (hits <= failures) {
        res.writeHead(options.status ?? 503, { 'content-type': 'text/plain' }).end('try later');
        return;
      }
      const headers: IncomingHttpHeaders = { ...req.headers, host: new URL(target).host };
      const upstream = httpRequest(new URL(req.url ?? '/', target), { method: req.method, headers }, (answer) => {
        const parts: Buffer[] = [];
        answer.on('data', (c: Buffer) => parts.push(c));
        answer.on('end', () => {
          const body =
            options.rewriteBody === undefined ? Buffer.concat(parts) : options.rewriteBody(Buffer.concat(parts));
          res
            .writeHead(answer.statusCode ?? 502, { ...answer.headers, 'content-length': String(body.length) })
            .end(body);
        });
      });
      upstream.on('error', () => res.writeHead(502).end());
      upstream.end(Buffer.concat(chunks));
    });
  });
  const url = await listen(server, sockets);
  return { url, hits: () => hits, close: closer(server, sockets) };
}
