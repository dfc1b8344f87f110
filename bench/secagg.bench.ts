// The secure-aggregation benchmark (`npm run bench:secagg -- [--parties N] [--dimension M] [--neighbours K]
// [--drops 0,30] [--seed S]`): N parties, each a worker thread of this process holding M floats drawn in [−1, 1]
// (quantized to ring 2^32 at 2^-16, clip 1), and the coordinator (mpc/secagg/secagg-server.ts) on the main thread.
// Every message crosses between threads as its encoded `{ kind, meta, blobs }` (secagg-messages.ts) and is decoded
// on arrival, so the bytes counted are the bytes a gateway would frame. One round runs per drop rate; of the parties
// dropped, half stop after sending their shares (the coordinator rebuilds their mask keys and removes their pairwise
// masks) and half after sending their masked input (their self-mask seeds are rebuilt, their inputs stay in the sum).
// A dropped party simply stops answering; the round closes each phase as soon as every live party has answered, so
// the times exclude any deadline a job would wait out.
// Printed beside what the same run measures: the plaintext sum of the same vectors (the floor for summing at all),
// and each party's bytes against the raw vector as float32 and float64, and against the 1.73× expansion Bonawitz et
// al. (CCS 2017) report over sending in the clear. The recovered sum must equal the plaintext sum of the survivors'
// quantized inputs exactly, or the benchmark fails.
import { availableParallelism, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { isMainThread, parentPort, Worker } from 'node:worker_threads';
import { dequantizeSum, quantize, type Quantization } from '../mpc/secagg/quantize.ts';
import { addInPlace, isSameVector, zeroVector, type RingVector } from '../mpc/secagg/ring.ts';
import { createSecAggClient, type SecAggClient } from '../mpc/secagg/secagg-client.ts';
import { SECAGG_PHASES, type SecAggConfig } from '../mpc/secagg/secagg-config.ts';
import {
  decodeMessage,
  encodeMessage,
  type EncodedMessage,
  type SecAggMessage,
  type ServerMessage,
} from '../mpc/secagg/secagg-messages.ts';
import { createSecAggServer } from '../mpc/secagg/secagg-server.ts';
import { attestationOf, identities, seededRandom, seededUniform } from '../test/mpc/secagg/secagg-fixture.ts';
import { resultTable, type ResultRow } from './table.ts';

const Q: Quantization = { ring: 32, clip: 1, fractionBits: 16 };
/** Bonawitz et al., CCS 2017, abstract: expansion over sending in the clear (2^10 users, 2^20-element vectors). */
const BONAWITZ_EXPANSION = 1.73;
const TARGET_ROUND_SECONDS = 10;

type Setup = { config: SecAggConfig; self: string; seed: number };
type ToWorker =
  | { type: 'start'; setup: Setup; dropAt: number | null }
  | { type: 'move'; index: number; message: EncodedMessage | null };
type FromWorker =
  | { type: 'ready'; party: string; values: Float64Array; input: RingVector }
  | { type: 'reply'; party: string; index: number; message: EncodedMessage | null; ms: number };

const sizeOf = (m: EncodedMessage) =>
  m.kind.length + Buffer.byteLength(JSON.stringify(m.meta)) + m.blobs.reduce((s, b) => s + b.length, 0);

// ————— a party, on its worker thread —————
function runParty(): void {
  const port = parentPort;
  if (port === null) throw new Error('a party runs on a worker thread');
  let client: SecAggClient | null = null;
  let config: SecAggConfig | null = null;
  let dropAt: number | null = null;
  let self = '';
  port.on('message', (task: ToWorker) => {
    void (async () => {
      if (task.type === 'start') {
        ({ config, self } = task.setup);
        dropAt = task.dropAt;
        const uniform = seededUniform(`bench/${task.setup.seed}/${self}`);
        const values = Float64Array.from({ length: config.dimension }, () => 2 * uniform() - 1);
        const input = quantize(values, Q);
        client = createSecAggClient({
          config,
          self,
          input,
          attestation: attestationOf(self, identities(config.parties, `bench/${task.setup.seed}`)),
          random: seededRandom(`bench/${task.setup.seed}/${self}/round`),
        });
        port.postMessage({ type: 'ready', party: self, values, input } satisfies FromWorker);
        return;
      }
      const c = client as SecAggClient;
      const t0 = performance.now();
      // A party that drops stops answering: the coordinator hears nothing from it in this phase.
      if (task.index === dropAt) {
        port.postMessage({ type: 'reply', party: self, index: task.index, message: null, ms: 0 } satisfies FromWorker);
        return;
      }
      const incoming =
        task.message === null
          ? null
          : decodeMessage(task.message.kind, task.message.meta, task.message.blobs, config as SecAggConfig);
      const reply = await moveOf(c, task.index, incoming);
      const encoded = encodeMessage(reply);
      const ms = performance.now() - t0;
      port.postMessage({ type: 'reply', party: self, index: task.index, message: encoded, ms } satisfies FromWorker);
    })();
  });
}

async function moveOf(client: SecAggClient, index: number, message: SecAggMessage | null): Promise<SecAggMessage> {
  if (index === 0) return client.advertise();
  const m = message as ServerMessage;
  if (m.kind === 'roster') return client.shareKeys(m);
  if (m.kind === 'inbox') return client.maskInput(m);
  if (m.kind === 'survivors') return client.signSurvivors(m);
  return client.unmask(m);
}

// ————— the coordinator, on the main thread —————
type RoundFigures = {
  dropPercent: number;
  dropped: { party: string; phase: string }[];
  contributors: number;
  roundMs: number;
  phaseMs: number[];
  finishMs: number;
  partyMs: number[];
  sentBytes: Map<string, number>;
  receivedBytes: Map<string, number>;
  plainRingMs: number;
  plainFloatMs: number;
  maxError: number;
  peakRss: number;
  rssBefore: number;
  /** The main thread's own heap and array buffers at their sampled peak: the coordinator without the parties. */
  peakMainBytes: number;
};

async function runCoordinator(): Promise<void> {
  const { values: args } = parseArgs({
    options: {
      parties: { type: 'string', default: '20' },
      dimension: { type: 'string', default: '100000' },
      neighbours: { type: 'string', default: 'null' },
      drops: { type: 'string', default: '0,30' },
      seed: { type: 'string', default: '1' },
    },
    strict: true,
  });
  const n = Number(args.parties);
  const dimension = Number(args.dimension);
  const neighbours = args.neighbours === 'null' ? null : Number(args.neighbours);
  const drops = (args.drops ?? '').split(',').map(Number);
  const seed = Number(args.seed);
  if (!Number.isInteger(n) || n < 3 || n > 255) throw new Error('--parties expects an integer in 3..255');
  const parties = Array.from({ length: n }, (_, i) => `party-${String(i).padStart(3, '0')}`);
  const holders = neighbours === null ? n : neighbours + 1;
  const threshold = Math.floor(holders / 2) + 1;
  const loadBefore = loadavg();

  const workers = new Map(parties.map((p) => [p, new Worker(new URL(import.meta.url))]));
  const figures: RoundFigures[] = [];
  let coldMs: number | undefined;
  try {
    // One unmeasured round first: the workers' and the coordinator's code compiles and warms up there, as it would
    // in a job's first round; its time is printed apart.
    const warmup = { session: `bench-${seed}/0/warmup`, parties, threshold, neighbours, dimension, ring: Q.ring };
    coldMs = (await runOneRound({ config: warmup, percent: 0, seed, workers })).roundMs;
    for (const [round, percent] of drops.entries()) {
      const config: SecAggConfig = {
        session: `bench-${seed}/0/${round}`,
        parties,
        threshold,
        neighbours,
        dimension,
        ring: Q.ring,
      };
      figures.push(await runOneRound({ config, percent, seed, workers }));
    }
  } finally {
    for (const worker of workers.values()) await worker.terminate();
  }
  print({ figures, n, dimension, neighbours, threshold, loadBefore, coldMs: coldMs ?? 0 });
}

function message<T extends FromWorker['type']>(worker: Worker, type: T): Promise<Extract<FromWorker, { type: T }>> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: FromWorker) => {
      if (m.type !== type) return;
      worker.off('message', onMessage);
      worker.off('error', reject);
      resolve(m as Extract<FromWorker, { type: T }>);
    };
    worker.on('message', onMessage);
    worker.once('error', reject);
  });
}

async function runOneRound(options: {
  config: SecAggConfig;
  percent: number;
  seed: number;
  workers: Map<string, Worker>;
}): Promise<RoundFigures> {
  const { config, percent, seed, workers } = options;
  const parties = config.parties;
  // Half of the dropped stop after their shares (they skip the masked-input phase), half after their masked input.
  const count = Math.round((percent / 100) * parties.length);
  const dropAt = new Map<string, number>();
  parties.slice(parties.length - count).forEach((p, i) => dropAt.set(p, i % 2 === 0 ? 2 : 3));
  const readies = await Promise.all(
    parties.map((party) => {
      const worker = workers.get(party) as Worker;
      const ready = message(worker, 'ready');
      worker.postMessage({ type: 'start', setup: { config, self: party, seed }, dropAt: dropAt.get(party) ?? null });
      return ready;
    }),
  );
  const inputs = new Map(readies.map((r) => [r.party, r]));

  const rssBefore = process.memoryUsage().rss;
  let peakRss = rssBefore;
  let peakMainBytes = 0;
  const sample = () => {
    const m = process.memoryUsage();
    peakRss = Math.max(peakRss, m.rss);
    peakMainBytes = Math.max(peakMainBytes, m.heapUsed + m.arrayBuffers);
  };
  const sampler = setInterval(sample, 10);
  const sentBytes = new Map(parties.map((p) => [p, 0]));
  const receivedBytes = new Map(parties.map((p) => [p, 0]));
  const partyMs = parties.map(() => 0);
  const phaseMs: number[] = [];
  const server = createSecAggServer({
    config,
    attestation: attestationOf(parties[0] as string, identities(parties, `bench/${seed}`)),
  });
  const t0 = performance.now();
  let outgoing = new Map<string, EncodedMessage | null>(parties.map((p) => [p, null]));
  for (let index = 0; index < SECAGG_PHASES.length; index++) {
    const start = performance.now();
    const replies = await Promise.all(
      [...outgoing].map(([party, m]) => {
        const worker = workers.get(party) as Worker;
        const reply = message(worker, 'reply');
        worker.postMessage({ type: 'move', index, message: m } satisfies ToWorker);
        if (m !== null) receivedBytes.set(party, (receivedBytes.get(party) ?? 0) + sizeOf(m));
        return reply;
      }),
    );
    for (const reply of replies) {
      if (reply.message === null) continue;
      sentBytes.set(reply.party, (sentBytes.get(reply.party) ?? 0) + sizeOf(reply.message));
      partyMs[parties.indexOf(reply.party)] = (partyMs[parties.indexOf(reply.party)] ?? 0) + reply.ms;
      server.receive(reply.party, decodeMessage(reply.message.kind, reply.message.meta, reply.message.blobs, config));
    }
    outgoing = new Map([...server.closePhase()].map(([party, m]) => [party, encodeMessage(m)]));
    phaseMs.push(performance.now() - start);
  }
  const finishStart = performance.now();
  const result = await server.finish();
  const finishMs = performance.now() - finishStart;
  const roundMs = performance.now() - t0;
  clearInterval(sampler);
  sample();

  // The baseline: the same survivors' vectors summed in the clear, in the ring and as floats.
  const survivors = result.contributors;
  let plain = zeroVector(config.dimension, Q.ring);
  const ringStart = performance.now();
  for (let rep = 0; rep < 5; rep++) {
    plain = zeroVector(config.dimension, Q.ring);
    for (const p of survivors) addInPlace(plain, inputs.get(p)?.input as RingVector, Q.ring);
  }
  const plainRingMs = (performance.now() - ringStart) / 5;
  const floatStart = performance.now();
  let floats = new Float64Array(config.dimension);
  for (let rep = 0; rep < 5; rep++) {
    floats = new Float64Array(config.dimension);
    for (const p of survivors) {
      const v = inputs.get(p)?.values as Float64Array;
      for (let i = 0; i < v.length; i++) floats[i] = (floats[i] as number) + (v[i] as number);
    }
  }
  const plainFloatMs = (performance.now() - floatStart) / 5;
  if (!isSameVector(result.sum, plain))
    throw new Error(`the recovered sum differs from the plaintext sum of the ${survivors.length} survivors' inputs`);
  const real = dequantizeSum(result.sum, Q, { maxParties: config.parties.length });
  let maxError = 0;
  for (let i = 0; i < real.length; i++)
    maxError = Math.max(maxError, Math.abs((real[i] as number) - (floats[i] as number)));
  return {
    dropPercent: percent,
    dropped: result.dropped,
    contributors: survivors.length,
    roundMs,
    phaseMs,
    finishMs,
    partyMs,
    sentBytes,
    receivedBytes,
    plainRingMs,
    plainFloatMs,
    maxError,
    peakRss,
    rssBefore,
    peakMainBytes,
  };
}

function print(options: {
  figures: RoundFigures[];
  n: number;
  dimension: number;
  neighbours: number | null;
  threshold: number;
  loadBefore: number[];
  coldMs: number;
}): void {
  const { figures, n, dimension, neighbours, threshold, loadBefore, coldMs } = options;
  const fmt = (x: number, digits = 1) => x.toFixed(digits);
  const ms = (x: number) => `${fmt(x, x < 10 ? 2 : 1)} ms`;
  const kib = (x: number) => `${fmt(x / 1024, 1)} KiB`;
  const mib = (x: number) => `${fmt(x / 2 ** 20, 0)} MiB`;
  const [float32, float64] = [4 * dimension, 8 * dimension];
  const rows: ResultRow[] = [];
  const notes: string[] = [];
  for (const f of figures) {
    const sent = [...f.sentBytes.values()].filter((b) => b > 0);
    const maxSent = Math.max(...sent);
    const meanSent = sent.reduce((a, b) => a + b, 0) / sent.length;
    const expansion = maxSent / float32;
    const label = `${f.dropPercent} %`;
    rows.push(
      [
        label,
        'one round, all five phases and finish',
        `${fmt(f.roundMs / 1000, 2)} s`,
        `plaintext sum ${ms(f.plainRingMs)} (ring), ${ms(f.plainFloatMs)} (float64)`,
        `${fmt(f.roundMs / f.plainRingMs, 0)}×`,
        `≤ ${TARGET_ROUND_SECONDS} s`,
        f.roundMs / 1000 <= TARGET_ROUND_SECONDS ? 'yes' : 'NO',
      ],
      [
        label,
        'bytes sent per party (largest)',
        kib(maxSent),
        `raw vector float32 ${kib(float32)} / float64 ${kib(float64)}`,
        `${fmt(expansion, 3)}× / ${fmt(maxSent / float64, 3)}×`,
        `Bonawitz ${BONAWITZ_EXPANSION}×`,
        `${fmt(expansion / BONAWITZ_EXPANSION, 2)} of it`,
      ],
      [
        label,
        'process peak RSS, coordinator and parties (every 10 ms)',
        mib(f.peakRss),
        `RSS before the round ${mib(f.rssBefore)}`,
        `+${mib(f.peakRss - f.rssBefore)}`,
        '-',
        '-',
      ],
      [
        label,
        "coordinator's own heap + buffers, main thread (peak)",
        mib(f.peakMainBytes),
        `${n} masked vectors: ${mib(n * float32)}`,
        `${fmt(f.peakMainBytes / (n * float32), 1)}×`,
        '-',
        '-',
      ],
    );
    notes.push(
      `${label} dropped: ${f.contributors} of ${n} in the sum; dropped ${f.dropped.map((d) => `${d.party} (${d.phase})`).join(', ') || 'none'}`,
      `  phases: ${SECAGG_PHASES.map((p, i) => `${p} ${ms(f.phaseMs[i] ?? 0)}`).join(', ')}; finish (rebuild secrets, remove masks) ${ms(f.finishMs)}`,
      `  per party: mean ${kib(meanSent)} sent, mean ${kib([...f.receivedBytes.values()].reduce((a, b) => a + b, 0) / n)} received; ` +
        `client compute mean ${ms(f.partyMs.reduce((a, b) => a + b, 0) / n)}, max ${ms(Math.max(...f.partyMs))} (on ${availableParallelism()} cores shared by ${n} threads)`,
      `  sum check: ring sum equals the plaintext sum exactly; dequantized, max |error| vs the float64 sum ${f.maxError.toExponential(2)} (bound ${n} × 2^-17 = ${(n * 2 ** -17).toExponential(2)})`,
    );
  }
  console.log(
    [
      `secure aggregation: ${n} parties as worker threads, coordinator on the main thread, ${dimension.toLocaleString('en-US')} values each in [−1, 1]`,
      `parameters: ring 2^${Q.ring}, fractionBits ${Q.fractionBits}, clip ${Q.clip}; threshold ${threshold}; ${neighbours === null ? 'complete graph (SecAgg)' : `SecAgg+ with k = ${neighbours}`}; Node ${process.version}, ${availableParallelism()} cores`,
      `load average before: ${loadBefore.map((x) => fmt(x, 2)).join(' ')}   after: ${loadavg()
        .map((x) => fmt(x, 2))
        .join(' ')}`,
      '',
      resultTable(rows),
      '',
      ...notes,
      `a first, unmeasured round at 0 % (code cold in ${n + 1} threads) took ${fmt(coldMs / 1000, 2)} s; the rows above are the rounds after it`,
      "the coordinator's heap includes the plain inputs the workers hand over for the sum check (float64 and ring, outside the protocol's bytes)",
      `Bonawitz et al. report ${BONAWITZ_EXPANSION}× over sending the data in the clear at 2^10 users and 2^20-dimensional vectors; here the clear baseline is float32, so the comparison orients, it does not match parameters.`,
    ].join('\n'),
  );
}

if (isMainThread) await runCoordinator();
else runParty();
