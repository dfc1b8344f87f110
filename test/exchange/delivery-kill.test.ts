// A success response means the data is on disk, for orders and compute-to-data deliveries too (docs/exchange.md,
// "Orders" and "Deliveries"). The real gateway runs as a child process; it is SIGKILLed in the very tick an order's
// 201 or a delivery's 202 reaches the client, and restarted on the same data directory. After each restart the order
// is there with its quota and nothing used; the delivery is there and reaches `completed` (it either finished before
// the kill or the restarted gateway runs it again), its job and its subjects counted once against the order, and the
// exchange audit holds exactly one start and one completion for it.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { startChildGateway, type ChildGateway } from '../fixtures/child-gateway.ts';
import { grantBody } from '../fixtures/consent-bodies.ts';
import { callJson, type HttpAnswer } from '../consent/gateway-http.ts';
import { automotiveListing } from './listing-fixture.ts';
import { BEHAVIOUR_VIEW, behaviourCsv, behaviourRows } from './behaviour-rows.ts';

const PURPOSE = 'charging-demand-forecast';
const PACKAGE = 'automotive-behaviour';
const BUYER = 'battery-maker';
const FIELDS = ['region_code', 'purchase_intent', 'nev_acceptance', 'financing_preference'];
/** Every subject consents; three regions of 40 each, well above the purpose's k = 10. */
const SUBJECTS = 120;
const ENV = { SEALGATE_PARTY_ID: 'dealer-4s', SEALGATE_RATE_LIMIT_MAX: '1000000' };
const QUOTA = { jobs: 4, subjectsTouched: 2_000 };
const POLL_MS = 100;
const SETTLE_DEADLINE_MS = 30_000;
/** A delivery long enough that a kill on its 202 cuts it before it ends. */
const TRAIN = {
  algorithm: 'train-model',
  model: 'logistic',
  label: 'purchase_intent',
  features: ['nev_acceptance', 'financing_preference'],
  epochs: 100,
  batchSize: 16,
};

const ROWS = behaviourRows(SUBJECTS);

const dataDir = mkdtempSync(join(tmpdir(), 'sealgate-delivery-kill-'));
let gateway: ChildGateway | undefined;
let steward: string;
let collector: string;
let exchange: string;
let officer: string;
let buyer: string;
let offerId: string;
let listingHash: string;
let termsHash: string;

type Method = 'GET' | 'POST' | 'PUT';
const running = (): ChildGateway => {
  if (gateway === undefined) throw new Error('no gateway is running');
  return gateway;
};
const as = (token: string, method: Method, path: string, body?: unknown): Promise<HttpAnswer> =>
  callJson({ baseUrl: running().url, method, path, token, ...(body === undefined ? {} : { body }) });
const show = (res: HttpAnswer) => `HTTP ${res.status} ${JSON.stringify(res.body)}`;

/** Starts the gateway on the data directory; any later start must find its admin token already issued. */
async function start(): Promise<ChildGateway> {
  const first = gateway === undefined;
  gateway = await startChildGateway({ dataDir, env: ENV });
  if (!first) expect(gateway.adminToken, 'a restart issues no new admin token').toBeUndefined();
  return gateway;
}

/**
 * POSTs and SIGKILLs the gateway in the same tick the whole answer has arrived: nothing the gateway does after
 * answering gets a chance to run. Resolves with the answer once the process is gone.
 */
async function postThenKill(token: string, path: string, body: unknown): Promise<HttpAnswer> {
  const gw = running();
  const res = await fetch(`${gw.url}${path}`, {
    method: 'POST',
    headers: { 'authorization': `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  gw.process.kill('SIGKILL');
  await gw.kill('SIGKILL');
  expect(gw.process.signalCode, `the gateway ended by ${gw.process.signalCode ?? gw.process.exitCode}`).toBe('SIGKILL');
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new Error(`POST ${path}: HTTP ${res.status}, not JSON: ${text}`);
  }
  return { status: res.status, body: parsed };
}

async function issueToken(admin: string, role: string, label: string): Promise<string> {
  const created = await as(admin, 'POST', '/v1/tokens', { role, label });
  expect(created.status, `token for ${role}: ${show(created)}`).toBe(201);
  return String(created.body.token);
}

/** An order of the standard tier for the purpose, on the listing and terms as read. */
const orderBody = () => ({ offerId, tier: 'standard', purpose: PURPOSE, accepted: { listingHash, termsHash } });
const placeOrder = (): Promise<HttpAnswer> => as(buyer, 'POST', '/v1/orders', orderBody());

/** Polls the delivery until it leaves `running`, within the deadline; the answer must be `completed`. */
async function completed(deliveryId: string): Promise<Record<string, unknown>> {
  const deadline = Date.now() + SETTLE_DEADLINE_MS;
  let last: HttpAnswer | undefined;
  while (Date.now() < deadline) {
    last = await as(buyer, 'GET', `/v1/deliveries/${deliveryId}`);
    expect(last.status, `GET /v1/deliveries/${deliveryId}: ${show(last)}`).toBe(200);
    if (last.body.state !== 'running') {
      expect(last.body.state, `delivery ${deliveryId} ended otherwise: ${show(last)}`).toBe('completed');
      return last.body;
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  throw new Error(
    `delivery ${deliveryId} was still running ${SETTLE_DEADLINE_MS} ms after the restart; last answer: ${
      last === undefined ? 'none' : show(last)
    }`,
  );
}

/** Starts a train-model delivery, kills the gateway on its 202, restarts it and sees the delivery exist. */
async function deliverThroughKill(orderId: string): Promise<string> {
  const started = await postThenKill(buyer, `/v1/orders/${orderId}/deliveries`, TRAIN);
  expect(started.status, `POST /v1/orders/${orderId}/deliveries: ${show(started)}`).toBe(202);
  expect(started.body).toMatchObject({ orderId, algorithm: 'train-model', state: 'running' });
  const deliveryId = String(started.body.deliveryId);
  await start();
  const found = await as(buyer, 'GET', `/v1/deliveries/${deliveryId}`);
  expect(found.status, `delivery ${deliveryId} after the restart: ${show(found)}`).toBe(200);
  expect(found.body, show(found)).toMatchObject({ deliveryId, orderId, algorithm: 'train-model' });
  expect(['running', 'completed'], show(found)).toContain(found.body.state);
  return deliveryId;
}

/** The exchange audit entries naming the delivery: one start, one completion. */
async function expectAuditedOnce(deliveryId: string, orderId: string): Promise<void> {
  const audit = await as(officer, 'GET', '/v1/audit?kind=exchange&limit=1000');
  expect(audit.status, show(audit)).toBe(200);
  expect(audit.body.nextAfterSeq, 'the exchange audit fits one page').toBeNull();
  const entries = audit.body.entries as { action: string; refs: string[] }[];
  const mine = entries.filter((e) => e.refs.includes(deliveryId));
  const actions = mine.map((e) => e.action);
  const context = `audit entries of delivery ${deliveryId}: ${JSON.stringify(mine)}`;
  expect(
    actions.filter((a) => a === 'delivery-start'),
    context,
  ).toHaveLength(1);
  expect(
    actions.filter((a) => a === 'delivery-complete'),
    context,
  ).toHaveLength(1);
  expect(actions, context).toEqual(['delivery-start', 'delivery-complete']);
  for (const entry of mine) expect(entry.refs, context).toContain(orderId);
}

// A failure is often a dead or stuck child: show what it said.
const showChildOnFailure = () =>
  onTestFailed(() => {
    console.error(
      `gateway exit=${gateway?.process.exitCode} signal=${gateway?.process.signalCode}\n${gateway?.output() ?? ''}`,
    );
  });

beforeAll(async () => {
  try {
    await setUp();
  } catch (error) {
    console.error(`gateway output:\n${gateway?.output() ?? ''}`);
    throw error;
  }
}, 60_000);

/** Tokens, the view and its consents, the package bound to it, listed, offered, and delegated to the buyer. */
async function setUp(): Promise<void> {
  mkdirSync(join(dataDir, 'imports'), { recursive: true });
  writeFileSync(join(dataDir, 'imports', 'behaviour.csv'), behaviourCsv(ROWS));

  await start();
  const admin = running().adminToken;
  expect(admin, `the first start prints an admin token:\n${running().output()}`).toMatch(/^sgt_/);
  steward = await issueToken(admin as string, 'data-steward', 'durability data-steward');
  collector = await issueToken(admin as string, 'collector', 'durability collector');
  exchange = await issueToken(admin as string, 'exchange', 'durability exchange');
  officer = await issueToken(admin as string, 'compliance-officer', 'durability compliance-officer');
  buyer = await issueToken(admin as string, 'buyer', BUYER);

  const view = await as(steward, 'POST', '/v1/connectors/views', BEHAVIOUR_VIEW);
  expect(view.status, show(view)).toBe(201);

  for (let i = 0; i < ROWS.length; i += 30) {
    await Promise.all(
      ROWS.slice(i, i + 30).map(async (r) => {
        const res = await as(
          collector,
          'POST',
          '/v1/consents',
          grantBody(r.id, {
            recipients: [{ id: BUYER, role: 'third-party' }],
            purposes: [{ purpose: PURPOSE, legalBasis: 'dpv:Consent' }],
            minimization: { fieldAllowlist: FIELDS, precision: {}, localOnly: false, crossBorder: false },
          }),
        );
        expect(res.status, `consent of ${r.id}: ${show(res)}`).toBe(201);
      }),
    );
  }

  const bound = await as(steward, 'PUT', `/v1/packages/${PACKAGE}/source`, {
    view: 'behaviour',
    fields: FIELDS,
    shrinkThreshold: 0.02,
  });
  expect(bound.status, show(bound)).toBe(200);
  const basis = await as(steward, 'GET', `/v1/packages/${PACKAGE}/consent-basis?purpose=${PURPOSE}`);
  expect(basis.body, show(basis)).toMatchObject({ records: SUBJECTS, subjects: SUBJECTS, purposes: [PURPOSE] });

  const content = automotiveListing({
    consentBasis: { ...(basis.body as { root: string; records: number; subjects: number }), purposes: [PURPOSE] },
    delivery: { modes: ['compute-to-data'], algorithms: ['segment-aggregates', 'train-model', 'score-own-subjects'] },
  });
  const created = await as(steward, 'POST', '/v1/listings', content);
  expect(created.status, show(created)).toBe(201);
  const listingId = String(created.body.listingId);
  listingHash = String(created.body.contentHash);
  const submitted = await as(steward, 'POST', `/v1/listings/${listingId}/submit`, {});
  expect(submitted.status, show(submitted)).toBe(200);
  const approved = await as(exchange, 'POST', `/v1/listings/${listingId}/approve`, {});
  expect(approved.body.state, show(approved)).toBe('listed');

  const offer = await as(steward, 'POST', `/v1/listings/${listingId}/offers`, {
    terms: {
      kind: 'tiers',
      tiers: [
        { name: 'trial', price: { amount: 1_000, currency: 'CNY' }, quota: { jobs: 1, subjectsTouched: 100 } },
        { name: 'standard', price: { amount: 50_000, currency: 'CNY' }, quota: QUOTA },
      ],
    },
    validUntil: '2099-01-01T00:00:00.000Z',
  });
  expect(offer.status, show(offer)).toBe(201);
  offerId = String(offer.body.offerId);
  termsHash = String(offer.body.termsHash);

  const delegated = await as(steward, 'POST', '/v1/delegations', {
    partner: BUYER,
    purposes: [PURPOSE],
    fieldAllowlist: FIELDS,
    expiresAt: '2030-01-01T00:00:00.000Z',
  });
  expect(delegated.status, show(delegated)).toBe(201);
}

afterAll(async () => {
  await gateway?.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

describe('killing the gateway right after it answers', () => {
  it('keeps an order answered 201, with its quota and nothing used', async () => {
    showChildOnFailure();
    const placed = await postThenKill(buyer, '/v1/orders', orderBody());
    expect(placed.status, `POST /v1/orders: ${show(placed)}`).toBe(201);
    expect(placed.body, show(placed)).toMatchObject({
      buyer: BUYER,
      quota: QUOTA,
      used: { jobs: 0, subjectsTouched: 0 },
    });
    const orderId = String(placed.body.orderId);

    await start();
    const read = await as(buyer, 'GET', `/v1/orders/${orderId}`);
    expect(read.status, `order ${orderId} after the restart: ${show(read)}`).toBe(200);
    expect(read.body, show(read)).toMatchObject({
      orderId,
      buyer: BUYER,
      tier: 'standard',
      purpose: PURPOSE,
      quota: placed.body.quota,
      used: { jobs: 0, subjectsTouched: 0 },
      remaining: QUOTA,
    });
  });

  it('keeps a delivery answered 202 and completes it, its job and subjects counted once', async () => {
    showChildOnFailure();
    const placed = await placeOrder();
    expect(placed.status, show(placed)).toBe(201);
    const orderId = String(placed.body.orderId);

    const deliveryId = await deliverThroughKill(orderId);
    const done = await completed(deliveryId);
    expect(done, JSON.stringify(done)).toMatchObject({ subjectsTouched: SUBJECTS, failure: null });
    expect(Object.keys(done.result as object)).toEqual(['model']);

    const order = await as(buyer, 'GET', `/v1/orders/${orderId}`);
    expect(order.status, show(order)).toBe(200);
    expect(order.body.used, `order ${orderId} after delivery ${deliveryId}: ${show(order)}`).toEqual({
      jobs: 1,
      subjectsTouched: done.subjectsTouched,
    });
    await expectAuditedOnce(deliveryId, orderId);
  });

  it('keeps three deliveries through three kills, each job and its subjects counted once', async () => {
    showChildOnFailure();
    const placed = await placeOrder();
    expect(placed.status, show(placed)).toBe(201);
    expect((placed.body.quota as { jobs: number }).jobs).toBeGreaterThanOrEqual(4);
    const orderId = String(placed.body.orderId);

    const touched: number[] = [];
    const ids: string[] = [];
    for (let round = 0; round < 3; round++) {
      const deliveryId = await deliverThroughKill(orderId);
      const done = await completed(deliveryId);
      expect(done.subjectsTouched, `round ${round}: ${JSON.stringify(done)}`).toBe(SUBJECTS);
      touched.push(done.subjectsTouched as number);
      ids.push(deliveryId);
    }
    expect(new Set(ids).size).toBe(3);

    const order = await as(buyer, 'GET', `/v1/orders/${orderId}`);
    expect(order.status, show(order)).toBe(200);
    expect(order.body.used, `order ${orderId} after deliveries ${ids.join(', ')}: ${show(order)}`).toEqual({
      jobs: 3,
      subjectsTouched: touched.reduce((a, b) => a + b, 0),
    });
    const listed = await as(buyer, 'GET', `/v1/orders/${orderId}/deliveries`);
    expect(listed.status, show(listed)).toBe(200);
    const states = (listed.body.deliveries as { deliveryId: string; state: string }[]).map((d) => [
      d.deliveryId,
      d.state,
    ]);
    expect(states.sort(), show(listed)).toEqual(ids.map((id) => [id, 'completed']).sort());
    for (const id of ids) await expectAuditedOnce(id, orderId);
  });
});
