// The PSI job benchmark (`npm run bench:psi -- --rows N [--dir DIR] [--step-ms MS]`): two real gateways as child
// processes (`gateway/cli/cli.ts serve`) on loopback, N × N customers with 50% overlap, each imported through the
// connectors and consented, one consent-filtered PSI job over signed HTTP. Printed beside the floor measured in the
// same run (4N X25519 multiplies over the cores × one multiply). Figures, not a test: only the intersection size is
// checked. Set-up (CSV, import, N consents per party) runs once per --dir and is reused by later runs. The gateways
// get the V8 heap limit `npm start` gives a gateway (package.json); --heap-mb sets another, to see how much head
// room a run needs (the consent projection is off the heap).
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { GatewayContext } from '../gateway/services/context.ts';
import { renderProgress } from '../gateway/cli/job-watch.ts';
import { JobView } from '../mpc/jobs/view.ts';
import { x25519PrivateKey, x25519ViaJwk } from '../mpc/psi/x25519.ts';
import { startChildGateway, type ChildGateway } from '../test/fixtures/child-gateway.ts';
import { freePort } from '../test/fixtures/free-port.ts';
import { callGateway as call, processStats, withGatewayContext } from './gateway-process.ts';

const { values } = parseArgs({
  options: {
    'rows': { type: 'string', default: '100000' },
    'dir': { type: 'string' },
    'step-ms': { type: 'string', default: '3600000' },
    'heap-mb': { type: 'string' },
  },
  strict: true,
});
const rows = Number(values.rows);
if (!Number.isInteger(rows) || rows < 2) throw new Error('--rows expects an integer ≥ 2');
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
const PURPOSE = 'customer-alignment';
const PARTIES = ['dealer-4s', 'insurer-a'] as const;
const root = values.dir ?? mkdtempSync(join(tmpdir(), 'sealgate-psi-bench-'));
const isTemporary = values.dir === undefined;
const fmt = (x: number, digits = 1) => x.toFixed(digits);
const group = (n: number) => n.toLocaleString('en-US');
const log = (line: string) => process.stderr.write(`${line}\n`);

type Setup = { rows: number; tokens: Record<string, { admin: string; steward: string }>; keys: Record<string, string> };

const withContext = <T>(party: string, work: (ctx: GatewayContext) => Promise<T>): Promise<T> =>
  withGatewayContext({ root, party, passphrase: PASSPHRASE }, work);

/**
 * Party 0 holds customers 0..N-1, party 1 customers N/2..3N/2-1: half of each set is shared. The VIN is the shared key.
 */
async function writeCsv(path: string, party: number): Promise<void> {
  const out = createWriteStream(path);
  out.write('id,vin\n');
  const first = party === 0 ? 0 : Math.floor(rows / 2);
  for (let i = 0; i < rows; i++) {
    const n = first + i;
    if (!out.write(`c${party}-${n},LSV${String(n).padStart(14, '0')}\n`)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

/**
 * One party's data, policy, delegation and consents, written through its own services (no HTTP: 2N consents would take
 * hours).
 */
async function setUpParty(index: number, setup: Setup): Promise<void> {
  const party = PARTIES[index] as string;
  const other = PARTIES[1 - index] as string;
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
          description: 'Align customers across partners',
          fieldAllowlist: ['vin'],
          precision: {},
          kThreshold: 1,
          allowedRecipients: [...PARTIES],
          actions: ['join'],
        },
      },
    });
    if (index === 1)
      await ctx.consent.delegate(
        { partner: other, purposes: [PURPOSE], fieldAllowlist: ['vin'], expiresAt: '2035-01-01T00:00:00.000Z' },
        { actor: 'bench' },
      );
    await writeCsv(join(ctx.connectors.importRoots[0] as string, 'customers.csv'), index);
    await ctx.connectors.views.register({
      name: 'customers',
      source: { kind: 'csv', path: 'customers.csv' },
      subjectColumn: 'id',
      columns: [
        { name: 'id', type: 'string', classification: 'identifier' },
        { name: 'vin', type: 'string', classification: 'identifier' },
      ],
    });
    log(`${party}: ${group(rows)} rows imported in ${fmt((performance.now() - t0) / 1000)} s; granting consents`);
    const first = index === 0 ? 0 : Math.floor(rows / 2);
    let next = 0;
    let done = 0;
    const t1 = performance.now();
    await Promise.all(
      Array.from({ length: 4096 }, async () => {
        while (next < rows) {
          const n = first + next++;
          await ctx.consent.grant(
            {
              subjectId: `c${index}-${n}`,
              jurisdiction: 'CN',
              recipients: [{ id: other, role: 'joint-controller' }],
              purposes: [{ purpose: PURPOSE, legalBasis: 'dpv:Consent' }],
              dataCategories: [{ category: 'dpv:Vehicle', sensitive: false }],
              minimization: { fieldAllowlist: ['vin'], precision: {}, localOnly: false, crossBorder: false },
              notice: { url: 'https://dealer.example/privacy', hash: 'a'.repeat(64), version: '1' },
              indication: { method: 'app', by: 'subject', at: new Date().toISOString() },
              separateConsent: { sharing: true, sensitive: false, crossBorder: false },
              expiresAt: '2035-01-01T00:00:00.000Z',
            },
            { actor: 'bench' },
          );
          done += 1;
          if (done % 100_000 === 0 || done === rows)
            log(`${party}: ${group(done)} consents (${fmt(done / ((performance.now() - t1) / 1000), 0)}/s)`);
        }
      }),
    );
  });
}

function measureMultiply(): { wall: number; cpu: number } {
  const key = x25519PrivateKey(randomBytes(32));
  const points = randomBytes(32 * 300);
  const rounds: { wall: number; cpu: number }[] = [];
  for (let r = 0; r < 11; r++) {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < 300; i++) x25519ViaJwk(key, points.subarray(i * 32, i * 32 + 32));
    const cpu = process.cpuUsage(cpu0);
    rounds.push({ wall: ((performance.now() - t0) * 1000) / 300, cpu: (cpu.user + cpu.system) / 300 });
  }
  rounds.sort((a, b) => a.wall - b.wall);
  return rounds[5] as { wall: number; cpu: number };
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
  if (setup !== null && setup.rows !== rows)
    throw new Error(`${root} was set up for --rows ${setup.rows}; use another --dir`);
  if (setup === null) {
    const fresh: Setup = { rows, tokens: {}, keys: {} };
    const t0 = performance.now();
    for (let i = 0; i < PARTIES.length; i++) await setUpParty(i, fresh);
    writeFileSync(marker, JSON.stringify(fresh));
    log(`set-up done in ${fmt((performance.now() - t0) / 1000)} s`);
    setup = fresh;
  }
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
  const steward = setup.tokens['dealer-4s']?.steward as string;

  const multiply = measureMultiply();
  const loadBefore = loadavg();
  const before = [processStats(guest.process.pid as number), processStats(host.process.pid as number)] as const;
  const t0 = performance.now();
  const submitted = await call({
    url: guest.url,
    token: steward,
    method: 'POST',
    path: '/v1/jobs',
    body: {
      protocol: 'psi',
      purpose: PURPOSE,
      params: { mode: 'intersection' },
      receivers: ['dealer-4s'],
      parties: [
        { id: 'dealer-4s', role: 'guest', view: 'customers', idColumn: 'vin' },
        { id: 'insurer-a', role: 'host', view: 'customers', idColumn: 'vin' },
      ],
      deadlines: { stepMs, acceptMs: 60_000 },
    },
  });
  const id = String(submitted.id);
  let view = JobView.parse(submitted);
  let shown = '';
  while (view.status !== 'completed' && view.status !== 'failed' && view.status !== 'cancelled') {
    await new Promise((resolve) => setTimeout(resolve, 500));
    view = JobView.parse(await call({ url: guest.url, token: steward, method: 'GET', path: `/v1/jobs/${id}` }));
    const line = renderProgress(view);
    if (line !== shown) log(line);
    shown = line;
  }
  const wall = (performance.now() - t0) / 1000;
  const [guestStats, hostStats] = [processStats(guest.process.pid as number), processStats(host.process.pid as number)];
  if (view.status !== 'completed') throw new Error(`job ${view.status}: ${JSON.stringify(view.failure)}`);
  const half = Math.floor(rows / 2);
  if (view.output?.count !== rows - half)
    throw new Error(`intersection has ${view.output?.count} rows, expected ${rows - half}`);

  const multiplies = 4 * rows;
  const floor = ((multiplies / cores) * multiply.wall) / 1e6;
  const mb = (bytes: number) => `${fmt(bytes / 2 ** 20, bytes < 2 ** 30 ? 1 : 0)} MiB`;
  const step = (name: string, party: string) =>
    view.timeline.find((e) => e.step === name && e.party === party && e.status === 'completed');
  const seconds = (ms: number | null | undefined) => (ms === null || ms === undefined ? '?' : fmt(ms / 1000, 2));
  console.log(
    [
      `PSI job: ${group(rows)} × ${group(rows)} rows, ${group(rows - half)} in common, two gateways as child processes over loopback HTTP, ${cores} cores (Node ${process.version})`,
      `load average before: ${loadBefore.map((x) => fmt(x, 2)).join(' ')}   after: ${loadavg()
        .map((x) => fmt(x, 2))
        .join(' ')}`,
      `one X25519 multiply (this process, median of 11 × 300): ${fmt(multiply.wall)} µs wall / ${fmt(multiply.cpu)} µs CPU`,
      `wall time:        ${fmt(wall, 2)} s  submit → completed (${fmt(rows / wall / cores, 0)} rows/s per core; SecretFlow ECDH-PSI ≈ 4,700)`,
      `  steps (guest):  consent filter ${seconds(step('filter', 'dealer-4s')?.durationMs)} s, exchange ${seconds(step('exchange', 'dealer-4s')?.durationMs)} s`,
      `  steps (host):   consent filter ${seconds(step('filter', 'insurer-a')?.durationMs)} s, exchange ${seconds(step('exchange', 'insurer-a')?.durationMs)} s`,
      `  bytes (guest):  out ${mb(step('exchange', 'dealer-4s')?.bytesOut ?? 0)}, in ${mb(step('exchange', 'dealer-4s')?.bytesIn ?? 0)}`,
      `floor:            ${fmt(floor, 2)} s  = ${group(multiplies)} multiplies / ${cores} cores × ${fmt(multiply.wall)} µs`,
      `measured / floor: ${fmt(wall / floor, 2)}`,
      `peak RSS:         guest ${mb(guestStats.peakRss)}, host ${mb(hostStats.peakRss)} (whole gateway processes, V8 heap limit ${heapMb} MB${values['heap-mb'] === undefined ? ' as npm start' : ''}; before the job: guest ${mb(before[0].rss)}, host ${mb(before[1].rss)})`,
      `CPU in the job:   guest ${fmt(guestStats.cpuSeconds - before[0].cpuSeconds, 1)} s, host ${fmt(hostStats.cpuSeconds - before[1].cpuSeconds, 1)} s; the multiplies alone need ${fmt((multiplies * multiply.cpu) / 1e6, 1)} s`,
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
