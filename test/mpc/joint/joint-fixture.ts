// Set-up for joint jobs over aligned rows: a gateway per party over a FATE vertical split (datasets/fate), with the
// split's columns plus a shared VIN to align on, a purpose and consent that allow those columns, and a completed PSI
// job whose intersection reached every party. The guest's view also gets a `segment` column derived from the id, with
// one deliberately small group, so that grouping and k-suppression have something to show.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fateFile, readCsvText } from '../../fixtures/fate.ts';
import {
  JOB_PURPOSE,
  call,
  delegate,
  grantConsents,
  meshJobGateways,
  settled,
  startJobGateway,
  submitJob,
  vinOf,
  type JobGateway,
} from '../jobs/job-fixture.ts';

export type Split = { header: string[]; rows: string[][] };

export function readSplit(split: string): Split {
  const [head, ...lines] = readCsvText(fateFile(split)).trim().split('\n');
  return { header: (head as string).split(','), rows: lines.map((l) => l.split(',')) };
}

/** Segments by id: most customers in three regions, ids ending in 7 and divisible by 9 in a tiny fourth. */
export function segmentOf(id: string): string {
  const n = Number(id);
  if (n % 90 === 7) return 'island';
  return ['north', 'south', 'east'][n % 3] as string;
}

/** A party's data: a FATE split by name, or generated rows (first column `id`). */
export type JointParty = {
  id: string;
  split: string | Split;
  withSegment?: boolean;
  /** Customers to keep, by id (default: all). */
  keep?: (id: string) => boolean;
};

function columnsOf(split: Split, withSegment: boolean) {
  const features = split.header.filter((c) => c !== 'id');
  return [
    { name: 'id', type: 'string', classification: 'identifier' },
    { name: 'vin', type: 'string', classification: 'identifier' },
    ...(withSegment ? [{ name: 'segment', type: 'string', classification: 'feature' }] : []),
    ...features.map((name) => ({
      name,
      type: 'double',
      classification: name === 'y' ? 'label' : 'feature',
    })),
  ];
}

/** Writes the split (first `rows` customers, or all) as a CSV with a VIN and registers view `customers` over it. */
export async function importSplit(gw: JobGateway, party: JointParty, keep?: (id: string) => boolean): Promise<Split> {
  const split = typeof party.split === 'string' ? readSplit(party.split) : party.split;
  const rows = keep === undefined ? split.rows : split.rows.filter((r) => keep(r[0] as string));
  const withSegment = party.withSegment ?? false;
  const columns = columnsOf(split, withSegment);
  const lines = [
    columns.map((c) => c.name).join(','),
    ...rows.map((r) => {
      const id = r[0] as string;
      return [id, vinOf(id), ...(withSegment ? [segmentOf(id)] : []), ...r.slice(1)].join(',');
    }),
  ];
  writeFileSync(join(gw.ctx.connectors.importRoots[0] as string, 'customers.csv'), `${lines.join('\n')}\n`);
  const res = await call({
    gw,
    method: 'POST',
    url: '/v1/connectors/views',
    token: gw.stewardToken,
    payload: { name: 'customers', source: { kind: 'csv', path: 'customers.csv' }, subjectColumn: 'id', columns },
  });
  if (res.status !== 201) throw new Error(`view at ${gw.partyId}: ${JSON.stringify(res.body)}`);
  return { header: split.header, rows };
}

/** The purpose at `gw`, allowing `fields`, with k-threshold `k` and an optional privacy budget. */
async function allowPurpose(gw: JobGateway, recipients: readonly string[], fields: readonly string[], k: number) {
  const bundle = gw.ctx.policies.bundle;
  await gw.ctx.policies.replace({
    ...bundle,
    purposes: {
      ...bundle.purposes,
      [JOB_PURPOSE]: {
        description: 'Joint modeling of shared customers',
        fieldAllowlist: [...fields],
        precision: {},
        kThreshold: k,
        epsilonBudget: 1,
        allowedRecipients: [...recipients],
        actions: ['join'],
      },
    },
  });
}

export type JointMesh = {
  gateways: JobGateway[];
  splits: Map<string, Split>;
  consents: Map<string, Map<string, string>>;
};

/** Gateways for `parties` (the first is the guest), meshed, with their splits, purpose, delegations and consent. */
export async function startJointMesh(parties: readonly JointParty[], k = 5): Promise<JointMesh> {
  const ids = parties.map((p) => p.id);
  const gateways = await Promise.all(ids.map((id) => startJobGateway(id)));
  await meshJobGateways(gateways);
  const splits = new Map<string, Split>();
  const consents = new Map<string, Map<string, string>>();
  await Promise.all(
    gateways.map(async (gw, i) => {
      const party = parties[i] as JointParty;
      const split = await importSplit(gw, party, party.keep);
      splits.set(gw.partyId, split);
      const fields = columnsOf(split, party.withSegment ?? false).map((c) => c.name);
      await allowPurpose(gw, ids, fields, k);
      if (i > 0) await delegate(gw, ids[0] as string, fields);
      const others = ids.filter((id) => id !== gw.partyId);
      consents.set(
        gw.partyId,
        await grantConsents(
          gw,
          split.rows.map((r) => r[0] as string),
          others,
          { concurrency: 256, fields },
        ),
      );
    }),
  );
  return { gateways, splits, consents };
}

/** Runs a PSI job (intersection to every party) on the VIN and returns its id once it completed everywhere. */
export async function alignParties(gateways: readonly JobGateway[]): Promise<string> {
  const ids = gateways.map((g) => g.partyId);
  const submitted = await submitJob(gateways[0] as JobGateway, {
    protocol: 'psi',
    purpose: JOB_PURPOSE,
    params: { mode: 'intersection' },
    receivers: ids,
    parties: ids.map((id, i) => ({ id, role: i === 0 ? 'guest' : 'host', view: 'customers', idColumn: 'vin' })),
    deadlines: { stepMs: 120_000 },
  });
  if (submitted.status !== 201) throw new Error(`PSI job: ${JSON.stringify(submitted.body)}`);
  const id = String(submitted.body.id);
  const views = await Promise.all(gateways.map((gw) => settled(gw, id, 120_000)));
  if (views.some((v) => v.status !== 'completed')) throw new Error(`PSI job ended ${JSON.stringify(views)}`);
  return id;
}
