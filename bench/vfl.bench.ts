// The vertical logistic regression benchmark (`npm run bench:vfl -- [--epochs N] [--batch-size N]
// [--learning-rate X] [--seed N] [--dir DIR] [--step-ms MS] [--heap-mb MB]`): two real gateways as child processes
// (`gateway/cli/cli.ts serve`) on loopback, a dealer (guest: id, y, x0..x12) and an insurer (host: id, x0..x9) over
// the FATE default-credit split (datasets/fate, 30,000 customers each), every customer consented to the other party
// for every column. One PSI job on the VIN aligns them (both receive the intersection); one `vfl-logistic` job trains
// on the aligned rows over signed HTTP. Printed beside what the same run measures:
// - the plaintext model (exact sigmoid) on the joined rows in the same aligned order, with the same split,
//   standardization, batches and hyper-parameters (mpc/vfl pure functions), and the AUC gap to the federated model;
// - the floor: the CKKS operations one round needs at both parties (mpc/he/he-engine.ts on this thread, same layout
//   and column counts), times the job's rounds, over the cores.
// Figures, not a test: only the intersection size and the kept row count are checked. Set-up (CSV, import, consents,
// purpose, delegation) runs once per --dir and is reused by later runs. The gateways get the V8 heap limit `npm start`
// gives a gateway (package.json); --heap-mb sets another.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { webcrypto } from 'node:crypto';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pseudonymize } from '../consent/pseudonym.ts';
import type { GatewayContext } from '../gateway/services/context.ts';
import { renderProgress } from '../gateway/cli/job-watch.ts';
import { createHeEngine } from '../mpc/he/he-engine.ts';
import { HE_PRESETS } from '../mpc/he/he-presets.ts';
import { productCount, slotLayout } from '../mpc/he/slot-layout.ts';
import { MASK_BOUND, tileMasks } from '../mpc/he/tile-masks.ts';
import { JobView } from '../mpc/jobs/view.ts';
import { partialScores, trainPlain } from '../mpc/vfl/linear-model.ts';
import { metricsOf, type Scored } from '../mpc/vfl/metrics.ts';
import { applyScaler, fitScaler } from '../mpc/vfl/standardize.ts';
import { epochBatches, splitRows } from '../mpc/vfl/training-plan.ts';
import { VflParams } from '../mpc/vfl/vfl-params.ts';
import { startChildGateway, type ChildGateway } from '../test/fixtures/child-gateway.ts';
import { fateFile, readCsvText } from '../test/fixtures/fate.ts';
import { freePort } from '../test/fixtures/free-port.ts';
import { callGateway as call, processStats, withGatewayContext } from './gateway-process.ts';

const { values } = parseArgs({
  options: {
    'epochs': { type: 'string', default: '10' },
    'batch-size': { type: 'string', default: '2048' },
    'learning-rate': { type: 'string', default: '0.15' },
    'seed': { type: 'string', default: '1' },
    'dir': { type: 'string' },
    'step-ms': { type: 'string', default: '3600000' },
    'heap-mb': { type: 'string' },
  },
  strict: true,
});
const epochsAsked = Number(values.epochs);
const batchSize = Number(values['batch-size']);
const learningRate = Number(values['learning-rate']);
const seed = Number(values.seed);
const stepMs = Number(values['step-ms']);
// The heap limit of `npm start`, read from package.json so the benchmark runs the gateway as an operator does.
const startScript = String(
  (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { scripts: Record<string, string> })
    .scripts.start,
);
const startHeapMb = Number(/--max-old-space-size=(\d+)/.exec(startScript)?.[1]);
if (!Number.isInteger(startHeapMb)) throw new Error('npm start no longer sets --max-old-space-size: give --heap-mb');
const heapMb = values['heap-mb'] === undefined ? startHeapMb : Number(values['heap-mb']);
if (!Number.isInteger(heapMb) || heapMb < 64) throw new Error('--heap-mb expects an integer number of megabytes ≥ 64');
const cores = availableParallelism();
const PASSPHRASE = 'test-passphrase-not-secret';
const PURPOSE = 'joint-modeling';
const PARTIES = ['dealer', 'insurer'] as const;
const SPLITS = ['default_credit_hetero_guest', 'default_credit_hetero_host'] as const;
const TARGETS = { aucGap: 0.005, trainSeconds: 60, rssBytes: 1.5 * 2 ** 30 } as const;
const root = values.dir ?? mkdtempSync(join(tmpdir(), 'sealgate-vfl-bench-'));
const isTemporary = values.dir === undefined;
const fmt = (x: number, digits = 1) => x.toFixed(digits);
const group = (n: number) => n.toLocaleString('en-US');
const log = (line: string) => process.stderr.write(`${line}\n`);
const mark = (ok: boolean) => (ok ? 'PASS' : 'FAIL');

type Setup = { rows: number; tokens: Record<string, { admin: string; steward: string }>; keys: Record<string, string> };
type Split = { header: string[]; rows: string[][] };

/** A shared identifier both partners know (a VIN-like string), derived from the FATE customer id. */
const vinOf = (id: string) => `LSV${id.padStart(14, '0')}`;

function readSplit(split: string): Split {
  const [head, ...lines] = readCsvText(fateFile(split)).trim().split('\n');
  return { header: (head as string).split(','), rows: lines.map((l) => l.split(',')) };
}
const splits = SPLITS.map(readSplit);
const rows = (splits[0] as Split).rows.length;
/** The columns each party declares in the job: the guest's label first, then its features; the host's features. */
const jobColumns = splits.map((s) => s.header.filter((c) => c !== 'id'));

const params = VflParams.parse({
  psiJob: '00000000-0000-4000-8000-000000000000',
  label: 'y',
  epochs: epochsAsked,
  batchSize,
  learningRate,
  seed,
});

function viewColumns(split: Split) {
  return [
    { name: 'id', type: 'string', classification: 'identifier' },
    { name: 'vin', type: 'string', classification: 'identifier' },
    ...split.header
      .filter((c) => c !== 'id')
      .map((name) => ({ name, type: 'double', classification: name === 'y' ? 'label' : 'feature' })),
  ] as const;
}

const withContext = <T>(party: string, work: (ctx: GatewayContext) => Promise<T>): Promise<T> =>
  withGatewayContext({ root, party, passphrase: PASSPHRASE }, work);

/**
 * One party's data (the split with a VIN), policy, delegation and consents, written through its own services (no HTTP,
 * as bench:psi does: consent over HTTP would dominate the set-up).
 */
async function setUpParty(index: number, setup: Setup): Promise<void> {
  const party = PARTIES[index] as string;
  const other = PARTIES[1 - index] as string;
  const split = splits[index] as Split;
  const columns = viewColumns(split);
  const fields = columns.map((c) => c.name);
  await withContext(party, async (ctx) => {
    const t0 = performance.now();
    setup.keys[party] = Buffer.from(ctx.identity.ed25519.publicKeyRaw).toString('hex');
    setup.tokens[party] = {
      admin: (await ctx.tokens.createToken('admin', 'bench')).token,
      steward: (await ctx.tokens.createToken('data-steward', 'bench')).token,
    };
    const bundle = ctx.policies.bundle;
    await ctx.policies.replace({
      ...bundle,
      purposes: {
        ...bundle.purposes,
        [PURPOSE]: {
          description: 'Joint modeling of shared customers',
          fieldAllowlist: fields,
          precision: {},
          kThreshold: 1,
          allowedRecipients: [...PARTIES],
          actions: ['join'],
        },
      },
    });
    if (index === 1)
      await ctx.consent.delegate(
        { partner: other, purposes: [PURPOSE], fieldAllowlist: fields, expiresAt: '2035-01-01T00:00:00.000Z' },
        { actor: 'bench' },
      );
    const lines = [
      fields.join(','),
      ...split.rows.map((r) => {
        const id = r[0] as string;
        return [id, vinOf(id), ...r.slice(1)].join(',');
      }),
    ];
    writeFileSync(join(ctx.connectors.importRoots[0] as string, 'customers.csv'), `${lines.join('\n')}\n`);
    await ctx.connectors.views.register({
      name: 'customers',
      source: { kind: 'csv', path: 'customers.csv' },
      subjectColumn: 'id',
      columns: [...columns],
    });
    log(`${party}: ${group(split.rows.length)} rows imported in ${fmt((performance.now() - t0) / 1000)} s`);
    let next = 0;
    const t1 = performance.now();
    await Promise.all(
      Array.from({ length: 4096 }, async () => {
        while (next < split.rows.length) {
          const id = (split.rows[next++] as string[])[0] as string;
          await ctx.consent.grant(
            {
              subjectId: id,
              jurisdiction: 'CN',
              recipients: [{ id: other, role: 'joint-controller' }],
              purposes: [{ purpose: PURPOSE, legalBasis: 'dpv:Consent' }],
              dataCategories: [{ category: 'dpv:Vehicle', sensitive: false }],
              minimization: { fieldAllowlist: fields, precision: {}, localOnly: false, crossBorder: false },
              notice: { url: 'https://dealer.example/privacy', hash: 'a'.repeat(64), version: '1' },
              indication: { method: 'app', by: 'subject', at: new Date().toISOString() },
              separateConsent: { sharing: true, sensitive: false, crossBorder: false },
              expiresAt: '2035-01-01T00:00:00.000Z',
            },
            { actor: 'bench' },
          );
        }
      }),
    );
    const seconds = (performance.now() - t1) / 1000;
    log(
      `${party}: ${group(split.rows.length)} consents in ${fmt(seconds)} s (${fmt(split.rows.length / seconds, 0)}/s)`,
    );
  });
}

/** The dealer's pseudonym of each of its customers, with its subject key (read in process before the child starts). */
async function dealerPseudonyms(): Promise<Map<string, string>> {
  return withContext(PARTIES[0], async (ctx) => {
    const key = ctx.identity.subjectKey;
    return new Map((splits[0] as Split).rows.map((r) => [pseudonymize(key, r[0] as string), r[0] as string]));
  });
}

type OpTimes = Record<
  'keys' | 'encrypt' | 'productsAtGuest' | 'productsAtHost' | 'decryptAtGuest' | 'decryptAtHost',
  number
>;

/**
 * The CKKS work of one training round at both parties, on this thread (median of 11, milliseconds): each party
 * encrypts its residual share (one vector of `batchRows`), multiplies the other's by its own columns with masks
 * (guest: features + intercept; host: features), and decrypts the masked sums the other computed on its share.
 */
async function measureRound(batchRows: number, guestColumns: number, hostColumns: number): Promise<OpTimes> {
  const preset = HE_PRESETS[params.preset];
  const engine = await createHeEngine(preset);
  const layout = slotLayout(batchRows, preset.slots);
  const uniform = (n: number, bound: number) => Float64Array.from({ length: n }, () => (Math.random() * 2 - 1) * bound);
  const masks = (columns: number) =>
    Array.from({ length: productCount(layout, columns) }, () => {
      const words = webcrypto.getRandomValues(new Uint32Array(layout.tiles));
      return tileMasks(
        layout,
        Array.from(words, (w) => (w / 2 ** 32 - 0.5) * MASK_BOUND),
      );
    });
  const guestCols = Array.from({ length: guestColumns }, () => uniform(batchRows, 4));
  const hostCols = Array.from({ length: hostColumns }, () => uniform(batchRows, 4));
  const samples: OpTimes[] = [];
  for (let r = 0; r < 11; r++) {
    const guestMasks = masks(guestColumns);
    const hostMasks = masks(hostColumns);
    const time = <T>(work: () => T): [T, number] => {
      const t0 = performance.now();
      const out = work();
      return [out, performance.now() - t0];
    };
    const [[guestKeys, hostKeys], keys] = time(() => [engine.generateKeys(), engine.generateKeys()] as const);
    const [[guestShare, hostShare], encrypt] = time(() => [
      engine.encryptVectors({ keys: guestKeys, layout, vectors: [uniform(batchRows, 1)] })[0] as Uint8Array[],
      engine.encryptVectors({ keys: hostKeys, layout, vectors: [uniform(batchRows, 1)] })[0] as Uint8Array[],
    ]);
    const [atGuest, productsAtGuest] = time(() =>
      engine.maskedProducts({
        publicKey: hostKeys.publicKey,
        layout,
        chunks: hostShare,
        columns: guestCols,
        masks: guestMasks,
      }),
    );
    const [atHost, productsAtHost] = time(() =>
      engine.maskedProducts({
        publicKey: guestKeys.publicKey,
        layout,
        chunks: guestShare,
        columns: hostCols,
        masks: hostMasks,
      }),
    );
    const [, decryptAtGuest] = time(() =>
      engine.decryptSums({ keys: guestKeys, layout, products: atHost, columns: hostColumns }),
    );
    const [, decryptAtHost] = time(() =>
      engine.decryptSums({ keys: hostKeys, layout, products: atGuest, columns: guestColumns }),
    );
    samples.push({ keys: keys / 2, encrypt, productsAtGuest, productsAtHost, decryptAtGuest, decryptAtHost });
  }
  const median = (key: keyof OpTimes) => samples.map((s) => s[key]).sort((a, b) => a - b)[5] as number;
  return {
    keys: median('keys'),
    encrypt: median('encrypt'),
    productsAtGuest: median('productsAtGuest'),
    productsAtHost: median('productsAtHost'),
    decryptAtGuest: median('decryptAtGuest'),
    decryptAtHost: median('decryptAtHost'),
  };
}

/**
 * The plaintext model on the joined rows `ids` (aligned order): per party standardized over the training rows, the
 * exact sigmoid, the job's batches (from its seed). Returns the held-out metrics and the time it took.
 */
function plaintextModel(ids: readonly string[]) {
  const t0 = performance.now();
  const kept = Uint32Array.from(ids.keys());
  const { train, test } = splitRows(kept, params.testPercent);
  const columns: Float64Array[] = [];
  let label = new Float64Array(0);
  splits.forEach((split, p) => {
    const byId = new Map(split.rows.map((r) => [r[0] as string, r]));
    const valueOf = (column: string) =>
      Float64Array.from(ids, (id) => Number((byId.get(id) as string[])[split.header.indexOf(column)]));
    const own = (jobColumns[p] as string[]).filter((c) => p !== 0 || c !== params.label).map(valueOf);
    columns.push(...applyScaler(fitScaler(own, train), own).columns);
    if (p === 0) label = valueOf(params.label);
  });
  const { weights, epochs } = trainPlain({
    task: 'logistic',
    columns,
    label,
    batches: (epoch) => epochBatches(train, params.batchSize, { seed: params.seed, epoch }),
    epochs: params.epochs,
    learningRate: params.learningRate,
    l2: params.l2,
    tolerance: params.tolerance,
    link: 'exact',
  });
  const scores = partialScores([...columns, new Float64Array(ids.length).fill(1)], weights, test);
  const pairs: Scored[] = test.map((r, i) => ({ score: scores[i] as number, label: label[r] as number }));
  return { metrics: metricsOf('logistic', pairs), epochs, ms: performance.now() - t0, train: train.length };
}

/** Submits a job at the dealer and polls GET /v1/jobs/{id} until it ends there; `onPoll` sees every view. */
async function runJob(
  url: string,
  token: string,
  body: Record<string, unknown>,
  onPoll: (view: JobView) => void = () => {},
): Promise<JobView> {
  let view = JobView.parse(await call({ url, token, method: 'POST', path: '/v1/jobs', body }));
  let shown = '';
  while (view.status !== 'completed' && view.status !== 'failed' && view.status !== 'cancelled') {
    await new Promise((resolve) => setTimeout(resolve, 500));
    view = JobView.parse(await call({ url, token, method: 'GET', path: `/v1/jobs/${view.id}` }));
    onPoll(view);
    const line = renderProgress(view);
    if (line !== shown) log(line);
    shown = line;
  }
  if (view.status !== 'completed')
    throw new Error(`${view.spec.protocol} job ${view.id} ${view.status}: ${JSON.stringify(view.failure)}`);
  return view;
}

const children: ChildGateway[] = [];
const killAll = () => {
  for (const c of children) c.process.kill('SIGKILL');
};
process.once('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => {
    killAll();
    process.exit(130);
  });

try {
  mkdirSync(root, { recursive: true });
  const marker = join(root, 'setup.json');
  let setup: Setup | null = existsSync(marker) ? (JSON.parse(readFileSync(marker, 'utf8')) as Setup) : null;
  if (setup !== null && setup.rows !== rows) throw new Error(`${root} was set up for ${setup.rows} rows`);
  if (setup === null) {
    const fresh: Setup = { rows, tokens: {}, keys: {} };
    const t0 = performance.now();
    for (let i = 0; i < PARTIES.length; i++) await setUpParty(i, fresh);
    writeFileSync(marker, JSON.stringify(fresh));
    log(`set-up done in ${fmt((performance.now() - t0) / 1000)} s`);
    setup = fresh;
  }
  const rawIdOf = await dealerPseudonyms();
  const ports = [await freePort(), await freePort()];
  for (let i = 0; i < PARTIES.length; i++) {
    children.push(
      await startChildGateway({
        dataDir: join(root, PARTIES[i] as string),
        env: {
          PORT: String(ports[i]),
          SEALGATE_PARTY_ID: PARTIES[i] as string,
          SEALGATE_RATE_LIMIT_MAX: '1000000',
          NODE_OPTIONS: `--max-old-space-size=${heapMb}`,
        },
        timeoutMs: 900_000,
      }),
    );
  }
  // The registry names each partner's current URL (the ports are new on every run).
  for (let i = 0; i < PARTIES.length; i++) {
    const other = PARTIES[1 - i] as string;
    const admin = setup.tokens[PARTIES[i] as string]?.admin as string;
    const at = (children[i] as ChildGateway).url;
    const baseUrl = (children[1 - i] as ChildGateway).url;
    const known = await fetch(`${at}/v1/peers/${other}`, { headers: { authorization: `Bearer ${admin}` } });
    if (known.status === 404)
      await call({
        url: at,
        token: admin,
        method: 'POST',
        path: '/v1/peers',
        body: { id: other, baseUrl, ed25519PublicKey: setup.keys[other] },
      });
    else await call({ url: at, token: admin, method: 'PATCH', path: `/v1/peers/${other}`, body: { baseUrl } });
  }
  const [guest, host] = children as [ChildGateway, ChildGateway];
  const steward = setup.tokens[PARTIES[0]]?.steward as string;

  // 1. Alignment: PSI on the VIN, the intersection to both parties.
  const tPsi = performance.now();
  const psi = await runJob(guest.url, steward, {
    protocol: 'psi',
    purpose: PURPOSE,
    params: { mode: 'intersection' },
    receivers: [...PARTIES],
    parties: PARTIES.map((id, i) => ({ id, role: i === 0 ? 'guest' : 'host', view: 'customers', idColumn: 'vin' })),
    deadlines: { stepMs, acceptMs: 60_000 },
  });
  const psiSeconds = (performance.now() - tPsi) / 1000;
  if (psi.output?.count !== rows) throw new Error(`intersection has ${psi.output?.count} rows, expected ${rows}`);
  // The aligned order at the dealer, as raw customer ids.
  const ids: string[] = [];
  while (ids.length < rows) {
    const page = await call({
      url: guest.url,
      token: steward,
      method: 'GET',
      path: `/v1/jobs/${psi.id}/output?offset=${ids.length}&limit=100000`,
    });
    const subjects = page.subjects as string[];
    if (subjects.length === 0) break;
    for (const s of subjects) {
      const id = rawIdOf.get(s);
      if (id === undefined) throw new Error('the PSI output names a pseudonym the dealer does not hold');
      ids.push(id);
    }
  }
  if (ids.length !== rows) throw new Error(`read ${ids.length} aligned rows, expected ${rows}`);

  // 2. The floor, measured while the gateways are idle: one round's CKKS work at the full batch size.
  const trainRows = splitRows(Uint32Array.from(ids.keys()), params.testPercent).train.length;
  const batchRows = Math.min(params.batchSize, trainRows);
  const guestWeights = (jobColumns[0] as string[]).length; // features + intercept (the label is not a weight)
  const hostWeights = (jobColumns[1] as string[]).length;
  const op = await measureRound(batchRows, guestWeights, hostWeights);

  // 3. The federated model.
  const loadBefore = loadavg();
  const before = [processStats(guest.process.pid as number), processStats(host.process.pid as number)] as const;
  const t0 = performance.now();
  // CPU when the last round shows in the progress (sampled at the 0.5 s poll): training apart from evaluation.
  let atLastRound: readonly [ReturnType<typeof processStats>, ReturnType<typeof processStats>] | null = null;
  const onPoll = (view: JobView) => {
    const p = view.progress;
    if (atLastRound === null && p !== null && p.total !== null && p.rows >= p.total)
      atLastRound = [processStats(guest.process.pid as number), processStats(host.process.pid as number)];
  };
  const vfl = await runJob(
    guest.url,
    steward,
    {
      protocol: 'vfl-logistic',
      purpose: PURPOSE,
      params: {
        psiJob: psi.id,
        label: params.label,
        epochs: params.epochs,
        batchSize: params.batchSize,
        learningRate: params.learningRate,
        seed: params.seed,
      },
      receivers: [PARTIES[0]],
      parties: PARTIES.map((id, i) => ({
        id,
        role: i === 0 ? 'guest' : 'host',
        view: 'customers',
        idColumn: 'vin',
        columns: jobColumns[i],
      })),
      deadlines: { stepMs, acceptMs: 60_000 },
    },
    onPoll,
  );
  const wall = (performance.now() - t0) / 1000;
  const [guestStats, hostStats] = [processStats(guest.process.pid as number), processStats(host.process.pid as number)];
  const output = await call({ url: guest.url, token: steward, method: 'GET', path: `/v1/jobs/${vfl.id}/output` });
  const result = output.result as {
    metrics: Record<string, number>;
    guestOnly: Record<string, number>;
    lift: { reduction: number; low: number | null; high: number | null };
    heldOut: number;
    epochs: number;
    rounds: number;
    trainMs: number;
    heMs: number;
    evaluationMs: number;
  };
  const entry = (party: string) =>
    vfl.timeline.find((e) => e.step === 'train' && e.party === party && e.status === 'completed');
  const [guestEntry, hostEntry] = [entry(PARTIES[0]), entry(PARTIES[1])];
  if (guestEntry === undefined || hostEntry === undefined) throw new Error('the train step has no completed entry');
  if (guestEntry.detail.kept !== rows)
    throw new Error(`the job kept ${String(guestEntry.detail.kept)} rows of ${rows}: the plaintext order would differ`);

  // 4. The plaintext model in the same order, split, standardization, batches and hyper-parameters.
  const plain = plaintextModel(ids);
  const federatedAuc = result.metrics.auc as number;
  const plainAuc = plain.metrics.auc as number;
  const gap = Math.abs(federatedAuc - plainAuc);

  const roundWork = op.encrypt + op.productsAtGuest + op.productsAtHost + op.decryptAtGuest + op.decryptAtHost;
  const floorMs = (result.rounds * roundWork + 2 * op.keys) / cores;
  const trainSeconds = result.trainMs / 1000;
  const bytesOut = guestEntry.bytesOut + hostEntry.bytesOut;
  const mb = (bytes: number) => `${fmt(bytes / 2 ** 20, bytes < 2 ** 30 ? 1 : 0)} MiB`;
  const ms = (x: number) => `${fmt(x, x < 10 ? 2 : 1)} ms`;
  const share = (he: unknown, train: unknown) =>
    typeof he === 'number' && typeof train === 'number' && train > 0
      ? `${fmt(he / 1000, 2)} s of ${fmt(train / 1000, 2)} s (${fmt((100 * he) / train)} %)`
      : '?';
  const lastRound = atLastRound as readonly [ReturnType<typeof processStats>, ReturnType<typeof processStats>] | null;
  const cpuSplit =
    lastRound === null
      ? ''
      : ` (up to the last round, sampled at the 0.5 s poll: guest ${fmt(lastRound[0].cpuSeconds - before[0].cpuSeconds, 1)} s, host ${fmt(lastRound[1].cpuSeconds - before[1].cpuSeconds, 1)} s)`;
  const rssOk = guestStats.peakRss <= TARGETS.rssBytes && hostStats.peakRss <= TARGETS.rssBytes;
  console.log(
    [
      `vfl-logistic job: FATE default credit, ${group(rows)} aligned rows (guest ${guestWeights - 1} features + label, host ${hostWeights} features), two gateways as child processes over loopback HTTP, ${cores} cores (Node ${process.version})`,
      `parameters:       epochs ${params.epochs}, batch size ${params.batchSize}, learning rate ${params.learningRate}, l2 ${params.l2}, tolerance ${params.tolerance}, seed ${params.seed}, held out ${params.testPercent} %, preset ${params.preset}`,
      `load average before: ${loadBefore.map((x) => fmt(x, 2)).join(' ')}   after: ${loadavg()
        .map((x) => fmt(x, 2))
        .join(' ')}`,
      `alignment (PSI):  ${fmt(psiSeconds, 2)} s submit → completed, ${group(psi.output?.count ?? 0)} in common`,
      `rows:             ${group(rows)} aligned, ${group(trainRows)} train, ${group(result.heldOut)} held out`,
      `epochs / rounds:  ${result.epochs} / ${result.rounds} (${fmt(result.rounds / result.epochs, 1)} rounds per epoch)`,
      `wall time:        ${fmt(wall, 2)} s submit → completed (alignment check, training, evaluation, model registry)`,
      `training:         ${fmt(trainSeconds, 2)} s (${fmt(trainSeconds / result.epochs, 2)} s per epoch)   target ≤ ${TARGETS.trainSeconds} s  ${mark(trainSeconds <= TARGETS.trainSeconds)}`,
      `evaluation:       ${fmt(result.evaluationMs / 1000, 2)} s (shuffled score reveal, guest-only model, bootstrap)`,
      `CKKS share:       guest ${share(result.heMs, result.trainMs)}; host ${share(hostEntry.detail.heMs, hostEntry.detail.trainMs)} (heMs: waits on the HE pool, queueing included)`,
      `federated AUC:    ${fmt(federatedAuc, 5)}  (KS ${fmt(result.metrics.ks as number, 4)}, log-loss ${fmt(result.metrics.logLoss as number, 4)}; guest alone AUC ${fmt(result.guestOnly.auc as number, 4)}, log-loss reduction ${fmt(100 * result.lift.reduction, 1)} %${result.lift.low === null || result.lift.high === null ? '' : ` [${fmt(100 * result.lift.low, 1)}, ${fmt(100 * result.lift.high, 1)}]`})`,
      `plaintext AUC:    ${fmt(plainAuc, 5)}  (KS ${fmt(plain.metrics.ks as number, 4)}, log-loss ${fmt(plain.metrics.logLoss as number, 4)}; exact sigmoid, same order, split, batches; ${plain.epochs} epochs, ${fmt(plain.ms / 1000, 2)} s in this process)`,
      `AUC gap:          ${fmt(gap, 5)}   target ≤ ${TARGETS.aucGap}  ${mark(gap <= TARGETS.aucGap)}`,
      `bytes on the wire: ${mb(bytesOut / result.epochs)} per epoch (both parties' bytes out of the train step / ${result.epochs} epochs; in all: guest out ${mb(guestEntry.bytesOut)}, host out ${mb(hostEntry.bytesOut)}, alignment check and evaluation included)`,
      `one round's CKKS (this thread, median of 11, ${group(batchRows)} rows, ${guestWeights} × ${hostWeights} columns): encrypt both ${ms(op.encrypt)}, products at guest ${ms(op.productsAtGuest)}, at host ${ms(op.productsAtHost)}, decrypt at guest ${ms(op.decryptAtGuest)}, at host ${ms(op.decryptAtHost)} = ${ms(roundWork)}; key pair ${ms(op.keys)}`,
      `floor:            ${fmt(floorMs / 1000, 2)} s  = (${result.rounds} rounds × ${ms(roundWork)} + 2 key pairs) / ${cores} cores`,
      `training / floor: ${fmt(trainSeconds / (floorMs / 1000), 2)}`,
      `peak RSS:         guest ${mb(guestStats.peakRss)}, host ${mb(hostStats.peakRss)}   target ≤ ${mb(TARGETS.rssBytes)}  ${mark(rssOk)} (whole gateway processes, V8 heap limit ${heapMb} MB${values['heap-mb'] === undefined ? ' as npm start' : ''}; before the job: guest ${mb(before[0].rss)}, host ${mb(before[1].rss)})`,
      `CPU in the job:   guest ${fmt(guestStats.cpuSeconds - before[0].cpuSeconds, 1)} s, host ${fmt(hostStats.cpuSeconds - before[1].cpuSeconds, 1)} s${cpuSplit}; the CKKS work alone needs ${fmt((result.rounds * roundWork + 2 * op.keys) / 1000, 1)} s`,
    ].join('\n'),
  );
} catch (error) {
  for (const child of children)
    log(`--- ${child.url} output (last 3000 characters) ---\n${child.output().slice(-3000)}`);
  throw error;
} finally {
  for (const child of children) await child.kill('SIGTERM');
  if (isTemporary) rmSync(root, { recursive: true, force: true });
}
