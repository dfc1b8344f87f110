// Hostile input on the signed job routes (docs/jobs.md, docs/peer-protocol.md): requests that pass the signature
// check, signed by a registered partner, carrying every body the OpenAPI document's schemas can be broken into, and
// random JSON and bytes. A partner's gateway is trusted with its key, not with its bodies: nothing it sends may answer
// 5xx, every refusal is a catalogue problem document, and the gateway is intact afterwards.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSigner } from '../../../consent/signer.ts';
import { ed25519FromSeed } from '../../../gateway/identity/identity.ts';
import { contentSha256, newNonce, signRequest } from '../../../mpc/peers/peer-signature.ts';
import { makeTestGateway, type TestGateway } from '../../fixtures/gateway-fixture.ts';
import { faultOf, malformedRequests, type HostileAnswer, type OpenApiDocument } from '../../gateway/http/malformed.ts';

const PARTNER = 'dealer-4s';
const SELF = 'insurer-a';
const partnerKeys = ed25519FromSeed(Buffer.alloc(32, 7));
const partner = createSigner(partnerKeys.privateKey);
const JOB = '3f2c3a52-1b7e-4c55-9d7e-2f6f2b1f0c11';
const JOB_PATHS = [
  '/peer/v1/jobs',
  '/peer/v1/jobs/start',
  '/peer/v1/jobs/report',
  '/peer/v1/jobs/fail',
  '/peer/v1/jobs/cancel',
  '/peer/v1/jobs/complete',
  '/peer/v1/jobs/resume',
];

const entry = {
  step: 'filter',
  party: PARTNER,
  attempt: 1,
  status: 'completed',
  startedAt: null,
  endedAt: null,
  durationMs: null,
  bytesIn: 0,
  bytesOut: 0,
  rows: 1,
  rowsTotal: 1,
  errorCode: null,
  detail: { admitted: 1 },
};
const failure = { code: 'CONSENT_DENIED', message: 'no', party: PARTNER, peer: null, step: 'filter' };
/** Valid bodies, so that each mutation breaks one thing and reaches the runner. */
const BASES: Record<string, unknown> = {
  'POST /peer/v1/jobs': {
    spec: {
      id: JOB,
      coordinator: PARTNER,
      createdAt: '2026-11-01T09:00:00.000Z',
      protocol: 'psi',
      purpose: 'customer-alignment',
      parties: [
        { id: PARTNER, role: 'guest', view: 'customers', idColumn: 'vin', columns: [] },
        { id: SELF, role: 'host', view: 'customers', idColumn: 'vin', columns: [] },
      ],
      params: { mode: 'intersection' },
      receivers: [PARTNER],
      deadlines: { acceptMs: 30_000, stepMs: 60_000 },
    },
  },
  'POST /peer/v1/jobs/start': { job: JOB, step: 'filter', attempt: 1 },
  'POST /peer/v1/jobs/report': {
    job: JOB,
    step: 'filter',
    attempt: 1,
    outcome: 'completed',
    entry,
    output: null,
    failure: null,
    isTransient: false,
  },
  'POST /peer/v1/jobs/fail': { job: JOB, failure, epoch: 0 },
  'POST /peer/v1/jobs/cancel': { job: JOB },
  'POST /peer/v1/jobs/complete': { job: JOB, count: null },
  'POST /peer/v1/jobs/resume': { job: JOB, fromStep: 'filter', epoch: 0 },
};

let gw: TestGateway;
let doc: OpenApiDocument;

/** Sends `payload` to `url` as the registered partner would: signed over the exact bytes and path. */
async function signedSend(request: {
  method: string;
  url: string;
  headers?: Record<string, string>;
  payload?: string | Buffer;
  label: string;
}): Promise<HostileAnswer> {
  const { authorization: _bearer, ...headers } = request.headers ?? {};
  const body = request.payload === undefined ? Buffer.alloc(0) : Buffer.from(request.payload);
  const signature = signRequest(partner, {
    method: request.method,
    pathWithQuery: request.url,
    sender: PARTNER,
    recipient: SELF,
    timestampMs: Date.now(),
    nonce: newNonce(),
    contentSha256: contentSha256(body),
  });
  const res = await gw.app.inject({
    method: request.method as 'POST',
    url: request.url,
    headers: { ...headers, ...signature },
    ...(request.payload === undefined ? {} : { payload: body }),
  });
  const contentType = String(res.headers['content-type'] ?? '');
  const parsed = contentType.includes('json') ? (res.json() as Record<string, unknown>) : {};
  return { label: request.label, status: res.statusCode, contentType, body: parsed };
}

beforeAll(async () => {
  gw = await makeTestGateway({ SEALGATE_PARTY_ID: SELF, SEALGATE_RATE_LIMIT_MAX: '1000000' });
  await gw.ctx.peers.registry.add({
    id: PARTNER,
    baseUrl: 'http://127.0.0.1:9',
    ed25519PublicKey: Buffer.from(partnerKeys.publicKeyRaw).toString('hex'),
  });
  doc = (await gw.app.inject({ method: 'GET', url: '/docs/json' })).json() as OpenApiDocument;
});

afterAll(() => gw?.close());

describe('signed hostile input on the peer job routes', () => {
  it('every schema-breaking body, junk id and wrong media type is a 4xx problem document, never a server fault', async () => {
    const requests = malformedRequests(doc, 'Bearer unused', 11, { bases: BASES }).filter((r) =>
      r.operation.startsWith('POST /peer/v1/jobs'),
    );
    expect(new Set(requests.map((r) => r.operation.split(' ')[1])).size).toBe(JOB_PATHS.length + 1);
    const answers = [];
    for (const r of requests) {
      // A URL no partner could sign (a space in it, say) is the unsigned suite's business (hostile-input.test.ts).
      const answer = await signedSend(r).catch((error: unknown) => {
        if ((error as { code?: string }).code === 'BAD_INPUT') return null;
        throw error;
      });
      if (answer !== null) answers.push(answer);
    }
    expect(answers.length).toBeGreaterThan(requests.length / 2);
    expect(answers.map(faultOf).filter((f) => f !== null)).toEqual([]);
    // The signature held, so the refusals came from validation and the runner, not from authentication.
    const codes = new Set(answers.filter((a) => a.status >= 400).map((a) => a.body.code));
    for (const code of ['BAD_INPUT', 'CONFLICT', 'UNSUPPORTED_MEDIA_TYPE', 'PAYLOAD_TOO_LARGE'])
      expect(codes).toContain(code);
    expect([...codes].filter((c) => c === 'BAD_SIGNATURE' || c === 'PEER_UNKNOWN')).toEqual([]);
  });

  it('random JSON to every job route and random bytes as frames: no server fault, and the gateway is intact', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...JOB_PATHS), fc.json({ maxDepth: 4 }), async (path, json) => {
        const answer = await signedSend({
          method: 'POST',
          url: path,
          headers: { 'content-type': 'application/json' },
          payload: json,
          label: `${path} ${json.slice(0, 80)}`,
        });
        expect(faultOf(answer)).toBeNull();
        expect(answer.status).toBeGreaterThanOrEqual(400);
      }),
      { numRuns: 150, seed: 20261206 },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 4096 }),
        fc.integer({ min: 1, max: 1_000_000 }),
        async (bytes, attempt) => {
          const answer = await signedSend({
            method: 'POST',
            url: `/peer/v1/jobs/messages?job=${JOB}&attempt=${attempt}`,
            headers: { 'content-type': 'application/octet-stream' },
            payload: Buffer.from(bytes),
            label: `frame of ${bytes.length} bytes`,
          });
          expect(faultOf(answer)).toBeNull();
        },
      ),
      { numRuns: 100, seed: 20261206 },
    );
    expect((await gw.app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
    const ok = await signedSend({
      method: 'POST',
      url: '/peer/v1/jobs/cancel',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ job: '00000000-0000-4000-8000-000000000000' }),
      label: 'cancel of an unknown job after the fuzz',
    });
    expect([ok.status, ok.body.code]).toEqual([404, 'NOT_FOUND']);
  });
});
