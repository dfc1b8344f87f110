// PSI jobs between two real gateways over loopback HTTP (DESIGN.md §6, docs/jobs.md): each imports its FATE
// default-credit split through the connectors, grants consent through the consent API, and the job aligns them.
// The receivers end with exactly the true intersection, as their own pseudonyms, in one shared order; a subject
// whose consent was withdrawn before the job is not in it; and nothing a gateway sends carries an identifier.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  allowJoinPurpose,
  captureEgress,
  delegate,
  getJob,
  grantConsents,
  importCustomers,
  meshJobGateways,
  readOutput,
  removeDataDir,
  settled,
  startJobGateway,
  submitJob,
  vinOf,
  withdrawConsent,
  type Exchange,
  type JobGateway,
} from '../jobs/job-fixture.ts';
import { dropRows, FATE_GUEST_CSV, FATE_HOST_CSV, intersect, readIds } from './psi-fixture.ts';

let dealer: JobGateway;
let insurer: JobGateway;
let dealerIds: string[] = [];
let insurerIds: string[] = [];
let dealerRecords = new Map<string, string>();

/** raw id → pseudonym at `gw`, and back. */
function pseudonyms(gw: JobGateway, ids: readonly string[]) {
  const toRaw = new Map(ids.map((id) => [gw.pseudonym(id), id]));
  return { of: (id: string) => gw.pseudonym(id), raw: (p: string) => toRaw.get(p) ?? `unknown:${p}` };
}

beforeAll(async () => {
  const [guestIds, hostIds] = await Promise.all([readIds(FATE_GUEST_CSV), readIds(FATE_HOST_CSV)]);
  // Seeded drops: each side keeps a different fifth of the customers (about 6,000 each, every one granted consent
  // through the API), so the intersection is a strict subset of both. psi-memory-bounded.test.ts runs PSI at scale.
  dealerIds = dropRows(guestIds, 'psi-gateways/dealer', 0.2);
  insurerIds = dropRows(hostIds, 'psi-gateways/insurer', 0.2);
  [dealer, insurer] = await Promise.all([startJobGateway('dealer-4s'), startJobGateway('insurer-a')]);
  await meshJobGateways([dealer, insurer]);
  const parties = ['dealer-4s', 'insurer-a'];
  await Promise.all([allowJoinPurpose(dealer, parties), allowJoinPurpose(insurer, parties)]);
  await delegate(insurer, 'dealer-4s');
  await Promise.all([
    importCustomers(dealer, 'customers', dealerIds),
    importCustomers(insurer, 'policyholders', insurerIds),
  ]);
  [dealerRecords] = await Promise.all([
    grantConsents(dealer, dealerIds, ['insurer-a']),
    grantConsents(insurer, insurerIds, ['dealer-4s']),
  ]);
}, 480_000);

afterAll(async () => {
  for (const gw of [dealer, insurer]) {
    if (gw === undefined) continue;
    await gw.stop();
    removeDataDir(gw);
  }
});

const job = (idColumn: string, receivers: string[], mode: 'intersection' | 'cardinality' = 'intersection') => ({
  protocol: 'psi' as const,
  purpose: 'customer-alignment',
  parties: [
    { id: 'dealer-4s', role: 'guest' as const, view: 'customers', idColumn },
    { id: 'insurer-a', role: 'host' as const, view: 'policyholders', idColumn },
  ],
  params: { mode },
  receivers,
  deadlines: { stepMs: 120_000 },
});

describe('PSI job between two gateways over HTTP', () => {
  it('gives both receivers the true intersection of the FATE ids, as their own pseudonyms, in one aligned order', async () => {
    const submitted = await submitJob(dealer, job('id', ['dealer-4s', 'insurer-a']));
    expect(submitted.status, JSON.stringify(submitted.body)).toBe(201);
    const id = String(submitted.body.id);
    const [atDealer, atInsurer] = await Promise.all([settled(dealer, id), settled(insurer, id)]);
    expect(atDealer.failure).toBeNull();
    expect(atDealer.status).toBe('completed');
    expect(atInsurer.status).toBe('completed');

    const expected = intersect(dealerIds, insurerIds);
    expect(expected.length).toBeGreaterThan(1_000);
    expect(expected.length).toBeLessThan(Math.min(dealerIds.length, insurerIds.length));
    const [outDealer, outInsurer] = await Promise.all([readOutput(dealer, id), readOutput(insurer, id)]);
    expect(outDealer.status).toBe(200);
    const dealerSubjects = outDealer.body.subjects as string[];
    const insurerSubjects = outInsurer.body.subjects as string[];
    expect(outDealer.body.count).toBe(expected.length);
    const d = pseudonyms(dealer, dealerIds);
    const i = pseudonyms(insurer, insurerIds);
    expect(dealerSubjects.map(d.raw).sort()).toEqual(expected);
    // Aligned: position k is the same customer at both receivers, though each names it by its own pseudonym.
    expect(dealerSubjects.map(d.raw)).toEqual(insurerSubjects.map(i.raw));
    expect(dealerSubjects[0]).not.toBe(insurerSubjects[0]);

    // The timeline shows both parties' steps with timings, bytes and rows.
    const view = await getJob(dealer, id);
    for (const party of ['dealer-4s', 'insurer-a']) {
      for (const step of ['filter', 'exchange']) {
        const entry = view.timeline.find((e) => e.party === party && e.step === step && e.status === 'completed');
        expect(entry, `${party} ${step}`).toBeDefined();
        expect(entry?.durationMs).toBeGreaterThanOrEqual(0);
        expect(entry?.rows).toBeGreaterThan(0);
        // A progress bar computed from a finished entry never passes 100 %, whatever the step first estimated.
        expect(entry?.rowsTotal, `${party} ${step}`).toBeGreaterThanOrEqual(entry?.rows ?? 0);
      }
    }
    const exchange = view.timeline.find(
      (e) => e.party === 'dealer-4s' && e.step === 'exchange' && e.status === 'completed',
    );
    expect(exchange?.bytesOut).toBeGreaterThan(dealerIds.length * 32);
    expect(exchange?.bytesIn).toBeGreaterThan(insurerIds.length * 32);
    expect(view.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect((await getJob(insurer, id)).traceId).toBe(view.traceId);
  });

  it('leaves out subjects whose consent was withdrawn, and sends no identifier or pseudonym to the other gateway', async () => {
    // Align on the VIN, a shared identifier; consent stays keyed by each gateway's own customer-id pseudonyms.
    const common = intersect(dealerIds, insurerIds);
    const withdrawn = common.filter((_, k) => k % 25 === 0);
    await Promise.all(withdrawn.map((id) => withdrawConsent(dealer, dealerRecords.get(id) as string)));
    const traffic: Exchange[] = [];
    captureEgress(dealer, traffic);
    captureEgress(insurer, traffic);

    const submitted = await submitJob(dealer, job('vin', ['dealer-4s', 'insurer-a']));
    expect(submitted.status, JSON.stringify(submitted.body)).toBe(201);
    const id = String(submitted.body.id);
    const [atDealer] = await Promise.all([settled(dealer, id), settled(insurer, id)]);
    expect(atDealer.failure).toBeNull();
    const expected = common.filter((c) => !withdrawn.includes(c));
    const out = await readOutput(dealer, id);
    const d = pseudonyms(dealer, dealerIds);
    expect((out.body.subjects as string[]).map(d.raw).sort()).toEqual(expected);
    const filter = atDealer.timeline.find(
      (e) => e.party === 'dealer-4s' && e.step === 'filter' && e.status === 'completed',
    );
    expect(filter?.detail.admitted).toBe(dealerIds.length - withdrawn.length);

    // Egress: every body that crossed between the gateways in this job, both ways.
    const bodies = traffic.flatMap((t) => [t.request, t.response]);
    // Proposal, two starts and two reports, completion, and PSI frames both ways.
    expect(traffic.filter((t) => t.url.includes('/peer/v1/jobs/messages')).length).toBeGreaterThanOrEqual(4);
    expect(traffic.length).toBeGreaterThanOrEqual(10);
    const vins = [...dealerIds, ...insurerIds].map(vinOf);
    const subjects = [...dealerIds.map(d.of), ...insurerIds.map((x) => insurer.pseudonym(x))];
    expect(findAny(bodies, vins)).toEqual([]);
    expect(findAny(bodies, subjects)).toEqual([]);
    // Raw customer ids are short numbers that random bytes contain by chance, so they are looked for where they
    // could leak as text: JSON bodies and PSI frame headers, as JSON strings.
    const jsonParts = traffic.flatMap((t) => [
      jsonPart(t.request, t.requestType),
      jsonPart(t.response, t.responseType),
    ]);
    const quoted = new Set([...dealerIds, ...insurerIds].map((x) => `"${x}"`));
    expect(
      jsonParts.flatMap((text) => [...text.matchAll(/"[0-9]+"/g)].map((m) => m[0]).filter((m) => quoted.has(m))),
    ).toEqual([]);
    // Positive control: the search finds an identifier when one is there.
    expect(findAny([Buffer.from(`{"x":"${Buffer.from(vins[3] as string).toString('base64')}"}`)], vins)).toContain(
      vins[3],
    );
    expect(findAny([Buffer.from(`{"x":"${Buffer.from(subjects[5] as string).toString('hex')}"}`)], subjects)).toContain(
      subjects[5],
    );
  });

  it('in cardinality mode tells the guest only how many subjects are shared', async () => {
    const submitted = await submitJob(dealer, job('vin', ['dealer-4s'], 'cardinality'));
    expect(submitted.status, JSON.stringify(submitted.body)).toBe(201);
    const id = String(submitted.body.id);
    const [atDealer, atInsurer] = await Promise.all([settled(dealer, id), settled(insurer, id)]);
    expect(atDealer.status).toBe('completed');
    const expected = intersect(dealerIds, insurerIds).filter((_, k) => k % 25 !== 0).length;
    expect(atDealer.output).toMatchObject({ mode: 'cardinality', isReceiver: true, count: expected });
    expect(atInsurer.output).toMatchObject({ isReceiver: false, count: null });
    const out = await readOutput(dealer, id);
    expect(out.body).toMatchObject({ count: expected, subjects: null });
    expect((await readOutput(insurer, id)).status).toBe(404);
  });
});

/** Text, hex and base64/base64url (all three alignments) forms of a needle: what a leak could look like in a body. */
function encodings(needle: string): string[] {
  const bytes = Buffer.from(needle, 'utf8');
  const forms = [needle, bytes.toString('hex'), bytes.toString('hex').toUpperCase()];
  for (let pad = 0; pad < 3; pad++) {
    for (const alphabet of ['base64', 'base64url'] as const) {
      const text = Buffer.concat([Buffer.alloc(pad), bytes])
        .toString(alphabet)
        .replace(/=+$/, '');
      // Drop the characters that mix in the padding bytes or the bytes after the needle.
      forms.push(text.slice(Math.ceil((pad * 4) / 3), text.length - 3));
    }
  }
  return forms;
}

/** The needles found in any haystack, in any of their encodings (one pass per encoded length, set lookups). */
function findAny(haystacks: readonly Buffer[], needles: readonly string[]): string[] {
  const byLength = new Map<number, Map<string, string[]>>();
  for (const needle of needles) {
    for (const form of encodings(needle)) {
      const table = byLength.get(form.length) ?? new Map<string, string[]>();
      byLength.set(form.length, table);
      table.set(form, [...(table.get(form) ?? []), needle]);
    }
  }
  const found = new Set<string>();
  for (const haystack of haystacks) {
    const text = haystack.toString('latin1');
    for (const [length, table] of byLength) {
      for (let i = 0; i + length <= text.length; i++) {
        for (const hit of table.get(text.slice(i, i + length)) ?? []) found.add(hit);
      }
    }
  }
  return [...found];
}

/** The JSON text of a body: the whole of a JSON body, the header of a PSI frame, nothing of a binary payload. */
function jsonPart(body: Buffer, type: string): string {
  if (type.startsWith('application/json')) return body.toString('utf8');
  if (type.startsWith('application/octet-stream') && body.length >= 4)
    return body.toString('utf8', 4, 4 + body.readUInt32BE(0));
  return '';
}
