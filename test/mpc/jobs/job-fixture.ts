// Shared set-up for multi-party job tests: real gateways in this process, each with its own data directory and DuckDB
// file (so one can be stopped and started again on the same directory and port), listening on loopback, registered
// with each other, with a join purpose, delegations, a connector view over a FATE split and consent for its subjects.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { pseudonymize } from '../../../consent/pseudonym.ts';
import { buildApp } from '../../../gateway/http/app.ts';
import { loadConfig } from '../../../gateway/config.ts';
import { createContext, type GatewayContext } from '../../../gateway/services/context.ts';
import { createPeerClient, type PeerResponse } from '../../../mpc/peers/peer-client.ts';
import type { JobView } from '../../../mpc/jobs/view.ts';
import type { JobRequestInput } from '../../../mpc/jobs/job.ts';
import type { JobProtocol } from '../../../mpc/jobs/protocol.ts';
import { grantBody } from '../../fixtures/consent-bodies.ts';
import { captureLog, TEST_PASSPHRASE, bearer } from '../../fixtures/gateway-fixture.ts';

export const JOB_PURPOSE = 'customer-alignment';

export type JobGateway = {
  partyId: string;
  dataDir: string;
  url: string;
  port: number;
  ctx: GatewayContext;
  app: FastifyInstance;
  publicKeyHex: string;
  adminToken: string;
  stewardToken: string;
  collectorToken: string;
  log: ReturnType<typeof captureLog>;
  /** The gateway's subject pseudonym of a raw customer id. */
  pseudonym(rawId: string): string;
  /** Stops listening and closes everything, as a crash would leave the files (no job is failed on the way out). */
  stop(): Promise<void>;
};

type Tokens = { adminToken: string; stewardToken: string; collectorToken: string };

/**
 * Starts (or, given `dataDir`, `port` and `tokens`, restarts) a gateway; tokens live in its DuckDB file. `protocols`
 * run beside the built-in ones.
 */
export async function startJobGateway(
  partyId: string,
  restart?: { dataDir: string; port: number; tokens: Tokens },
  protocols: readonly JobProtocol[] = [],
): Promise<JobGateway> {
  const dataDir = restart?.dataDir ?? mkdtempSync(join(tmpdir(), `sealgate-job-${partyId}-`));
  const log = captureLog();
  const config = loadConfig({
    SEALGATE_DATA_DIR: dataDir,
    SEALGATE_PASSPHRASE: TEST_PASSPHRASE,
    SEALGATE_LOG_LEVEL: 'info',
    SEALGATE_LEDGER: 'off',
    SEALGATE_PARTY_ID: partyId,
    SEALGATE_RATE_LIMIT_MAX: '1000000',
  });
  const ctx = await createContext(config, { logDestination: log.stream, protocols });
  const app = await buildApp(ctx);
  await app.listen({ port: restart?.port ?? 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  const tokens = restart?.tokens ?? {
    adminToken: (await ctx.tokens.createToken('admin', 'test')).token,
    stewardToken: (await ctx.tokens.createToken('data-steward', 'test')).token,
    collectorToken: (await ctx.tokens.createToken('collector', 'test')).token,
  };
  let isStopped = false;
  return {
    partyId,
    dataDir,
    url: `http://127.0.0.1:${port}`,
    port,
    ctx,
    app,
    log,
    ...tokens,
    publicKeyHex: Buffer.from(ctx.identity.ed25519.publicKeyRaw).toString('hex'),
    pseudonym: (rawId) => pseudonymize(ctx.identity.subjectKey, rawId),
    stop: async () => {
      if (isStopped) return;
      isStopped = true;
      // Connections in flight are cut, as when a process dies.
      app.server.closeAllConnections();
      await app.close();
      await ctx.close();
    },
  };
}

export const removeDataDir = (gw: Pick<JobGateway, 'dataDir'>) => rmSync(gw.dataDir, { recursive: true, force: true });

export async function restartJobGateway(gw: JobGateway): Promise<JobGateway> {
  await gw.stop();
  const { adminToken, stewardToken, collectorToken } = gw;
  return startJobGateway(gw.partyId, {
    dataDir: gw.dataDir,
    port: gw.port,
    tokens: { adminToken, stewardToken, collectorToken },
  });
}

/** One request to a gateway through Fastify's inject, with a bearer token. */
export async function call({
  gw,
  method,
  url,
  token,
  payload,
}: {
  gw: JobGateway;
  method: 'GET' | 'POST' | 'PUT';
  url: string;
  token: string;
  payload?: unknown;
}) {
  const res = await gw.app.inject({
    method,
    url,
    headers: bearer(token),
    ...(payload === undefined ? {} : { payload: payload as object }),
  });
  return { status: res.statusCode, body: res.json() as Record<string, unknown> };
}

/** Every pair of gateways registers the other through POST /v1/peers. */
export async function meshJobGateways(gateways: readonly JobGateway[]): Promise<void> {
  for (const a of gateways) {
    for (const b of gateways) {
      if (a === b) continue;
      const res = await call({
        gw: a,
        method: 'POST',
        url: '/v1/peers',
        token: a.adminToken,
        payload: {
          id: b.partyId,
          baseUrl: b.url,
          ed25519PublicKey: b.publicKeyHex,
        },
      });
      if (res.status !== 201 && res.status !== 200)
        throw new Error(`peer ${b.partyId} at ${a.partyId}: ${JSON.stringify(res.body)}`);
    }
  }
}

/** The join purpose at `gw`: only `join` on the listed fields, outputs to the named parties. */
export async function allowJoinPurpose(
  gw: JobGateway,
  recipients: readonly string[],
  fields: readonly string[] = ['id', 'vin'],
  actions: readonly string[] = ['join'],
): Promise<void> {
  const bundle = gw.ctx.policies.bundle;
  await gw.ctx.policies.replace({
    ...bundle,
    purposes: {
      ...bundle.purposes,
      [JOB_PURPOSE]: {
        description: 'Align customers across partners',
        fieldAllowlist: [...fields],
        precision: {},
        kThreshold: 1,
        allowedRecipients: [...recipients],
        actions: [...actions],
      },
    },
  });
}

/** A delegation from `gw` to `partner` for the join purpose, through POST /v1/delegations. */
export async function delegate(
  gw: JobGateway,
  partner: string,
  fields: readonly string[] = ['id', 'vin'],
): Promise<void> {
  const res = await call({
    gw,
    method: 'POST',
    url: '/v1/delegations',
    token: gw.stewardToken,
    payload: {
      partner,
      purposes: [JOB_PURPOSE],
      fieldAllowlist: [...fields],
      expiresAt: '2030-01-01T00:00:00.000Z',
    },
  });
  if (res.status !== 201) throw new Error(`delegation at ${gw.partyId}: ${JSON.stringify(res.body)}`);
}

/** A shared identifier both partners know (a VIN-like string), derived from the FATE customer id. */
export const vinOf = (id: string) => `LSV${id.padStart(14, '0')}`;

/**
 * Writes `ids` as a partner CSV (customer id, a VIN, one feature) into the gateway's import root and registers a
 * view over it through POST /v1/connectors/views.
 */
export async function importCustomers(gw: JobGateway, view: string, ids: readonly string[]): Promise<void> {
  const file = `${view}.csv`;
  const lines = ['id,vin,x0', ...ids.map((id, i) => `${id},${vinOf(id)},${(i % 97) / 10}`)];
  writeFileSync(join(gw.ctx.connectors.importRoots[0] as string, file), `${lines.join('\n')}\n`);
  const res = await call({
    gw,
    method: 'POST',
    url: '/v1/connectors/views',
    token: gw.stewardToken,
    payload: {
      name: view,
      source: { kind: 'csv', path: file },
      subjectColumn: 'id',
      columns: [
        { name: 'id', type: 'string', classification: 'identifier' },
        { name: 'vin', type: 'string', classification: 'identifier' },
        { name: 'x0', type: 'double', classification: 'feature' },
      ],
    },
  });
  if (res.status !== 201) throw new Error(`view at ${gw.partyId}: ${JSON.stringify(res.body)}`);
}

/** Grants consent for the join purpose to `recipients` through POST /v1/consents; returns raw id → record id. */
export async function grantConsents(
  gw: JobGateway,
  ids: readonly string[],
  recipients: readonly string[],
  options: { concurrency?: number; fields?: readonly string[] } = {},
): Promise<Map<string, string>> {
  const { concurrency = 512, fields = ['id', 'vin'] } = options;
  const records = new Map<string, string>();
  let next = 0;
  const worker = async () => {
    while (next < ids.length) {
      const id = ids[next++] as string;
      const res = await call({
        gw,
        method: 'POST',
        url: '/v1/consents',
        token: gw.collectorToken,
        payload: grantBody(id, {
          recipients: recipients.map((r) => ({ id: r, role: 'joint-controller' })),
          purposes: [{ purpose: JOB_PURPOSE, legalBasis: 'dpv:Consent' }],
          minimization: { fieldAllowlist: [...fields], precision: {}, localOnly: false, crossBorder: false },
        }),
      });
      if (res.status !== 201) throw new Error(`consent at ${gw.partyId}: ${JSON.stringify(res.body)}`);
      records.set(id, String((res.body.record as { recordId: string }).recordId));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return records;
}

export async function withdrawConsent(gw: JobGateway, recordId: string): Promise<void> {
  const res = await call({
    gw,
    method: 'POST',
    url: `/v1/consents/${recordId}/withdraw`,
    token: gw.collectorToken,
    payload: {},
  });
  if (res.status !== 200) throw new Error(`withdraw at ${gw.partyId}: ${JSON.stringify(res.body)}`);
}

export async function submitJob(
  gw: JobGateway,
  request: JobRequestInput,
): Promise<{ status: number; body: Record<string, unknown> }> {
  return call({ gw, method: 'POST', url: '/v1/jobs', token: gw.stewardToken, payload: request });
}

export async function getJob(gw: JobGateway, id: string): Promise<JobView> {
  const res = await call({ gw, method: 'GET', url: `/v1/jobs/${id}`, token: gw.stewardToken });
  if (res.status !== 200) throw new Error(`job at ${gw.partyId}: ${JSON.stringify(res.body)}`);
  return res.body as unknown as JobView;
}

/** Every pseudonym of the job's output at `gw`, in aligned order. */
export async function readOutput(
  gw: JobGateway,
  id: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  return call({ gw, method: 'GET', url: `/v1/jobs/${id}/output?limit=100000`, token: gw.stewardToken });
}

/** Waits for the job to end at `gw`, failing the test after `ms`. */
export async function settled(gw: JobGateway, id: string, ms = 50_000): Promise<JobView> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`job ${id} did not end at ${gw.partyId} within ${ms} ms`)), ms);
  });
  // A participant learns of the job only when the proposal reaches it.
  const known = async (): Promise<JobView> => {
    for (;;) {
      try {
        return await gw.ctx.jobs.settled(id);
      } catch (error) {
        if ((error as { code?: string }).code !== 'NOT_FOUND') throw error;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  };
  try {
    return await Promise.race([known(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export type Exchange = {
  from: string;
  url: string;
  request: Buffer;
  response: Buffer;
  requestType: string;
  responseType: string;
};

/** Replaces the gateway's peer client with one whose fetch records every request and response body it carries. */
export function captureEgress(gw: JobGateway, into: Exchange[]): void {
  const recording: typeof fetch = async (input, init) => {
    const request =
      init?.body === undefined || init.body === null ? Buffer.alloc(0) : Buffer.from(init.body as Uint8Array);
    const response = await fetch(input, init);
    const copy = Buffer.from(await response.clone().arrayBuffer());
    const headers = new Headers(init?.headers);
    into.push({
      from: gw.partyId,
      url: String(input),
      request,
      response: copy,
      requestType: headers.get('content-type') ?? '',
      responseType: response.headers.get('content-type') ?? '',
    });
    return response;
  };
  gw.ctx.peers.client = createPeerClient({
    identity: gw.ctx.identity,
    peers: gw.ctx.peers.registry,
    clock: gw.ctx.clock,
    log: gw.ctx.log,
    audit: (entry) => gw.ctx.consent.appendAudit(entry),
    fetch: recording,
  });
}

export type PeerCall = { peer: string; method: string; path: string; body: unknown };

/**
 * Wraps the gateway's peer client: `before` may replace a call's body before it is signed (a hostile gateway),
 * `answer` may replace the peer's verified answer (what a hostile peer could have signed), `after` sees each call
 * once it was answered. Returns a function that puts the original client back.
 */
export function interceptPeerCalls(
  gw: JobGateway,
  hooks: {
    /** May return a promise: the call waits for it (a peer that holds a call back). */
    before?: (call: PeerCall) => unknown;
    answer?: (call: PeerCall, response: PeerResponse) => PeerResponse;
    after?: (call: PeerCall) => void;
  },
): () => void {
  const original = gw.ctx.peers.client;
  gw.ctx.peers.client = {
    async request(request) {
      const call = { peer: request.peerId, method: request.method, path: request.path, body: request.body };
      const sent = hooks.before === undefined ? request.body : await hooks.before(call);
      const response = await original.request({ ...request, body: sent });
      hooks.after?.(call);
      return hooks.answer === undefined ? response : hooks.answer(call, response);
    },
  };
  return () => {
    gw.ctx.peers.client = original;
  };
}

/**
 * The usual job set-up: a gateway per party, meshed, each with the join purpose, a delegation to the guest (the
 * first party), a `customers` view over its ids and consent for them to every other party.
 */
export async function startJobMesh(
  parties: readonly string[],
  idsOf: (party: string) => readonly string[],
): Promise<JobGateway[]> {
  const [guest] = parties;
  const gateways = await Promise.all(parties.map((p) => startJobGateway(p)));
  await meshJobGateways(gateways);
  await Promise.all(
    gateways.map(async (gw) => {
      const ids = idsOf(gw.partyId);
      await allowJoinPurpose(gw, parties);
      if (gw.partyId !== guest && guest !== undefined) await delegate(gw, guest);
      await importCustomers(gw, 'customers', ids);
      await grantConsents(
        gw,
        ids,
        parties.filter((p) => p !== gw.partyId),
      );
    }),
  );
  return gateways;
}

export async function stopJobMesh(gateways: readonly (JobGateway | undefined)[]): Promise<void> {
  for (const gw of gateways) {
    if (gw === undefined) continue;
    await gw.stop();
    removeDataDir(gw);
  }
}
