// The PSI core benchmark (`node bench/psi-core.bench.ts --rows N [--pool K]`): two in-process parties (ECDH-PSI over
// X25519, DESIGN.md §6) on one worker pool, N × N rows with 50% overlap, every message framed as on the wire.
// Printed beside the floor measured in the same run: 4N multiplies / cores × one X25519 multiply. Figures, not a
// test: nothing is asserted except that the intersection is right.
import { randomBytes } from 'node:crypto';
import { availableParallelism, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { runTwoPartyPsiInProcess } from '../mpc/psi/psi-in-process.ts';
import { createPsiParty } from '../mpc/psi/psi-party.ts';
import { x25519PrivateKey, x25519ViaJwk, x25519ViaSpki } from '../mpc/psi/x25519.ts';
import { createX25519Pool } from '../mpc/psi/x25519-pool.ts';

const { values } = parseArgs({
  options: { rows: { type: 'string', default: '100000' }, pool: { type: 'string' } },
  strict: true,
});
const rows = Number(values.rows);
if (!Number.isInteger(rows) || rows < 2) throw new Error('--rows expects an integer ≥ 2');
const cores = values.pool === undefined ? availableParallelism() : Number(values.pool);

type PerMultiply = { wall: number; cpu: number };

/**
 * Wall and CPU microseconds per call of each X25519 multiply path on this thread: rounds of the paths interleave
 * (so a burst of load from other processes hits both alike) and each figure is the median of its rounds.
 */
function measureMultiply(
  paths: Record<string, typeof x25519ViaJwk>,
  rounds: number,
  perRound: number,
): Record<string, PerMultiply> {
  const key = x25519PrivateKey(randomBytes(32));
  const points = randomBytes(32 * perRound);
  const samples = Object.fromEntries(
    Object.keys(paths).map((name) => [name, { walls: [] as number[], cpus: [] as number[] }]),
  );
  for (let r = -1; r < rounds; r++) {
    for (const [name, path] of Object.entries(paths)) {
      const cpu0 = process.threadCpuUsage();
      const t0 = performance.now();
      for (let i = 0; i < perRound; i++) path(key, points.subarray(i * 32, i * 32 + 32));
      const wall = ((performance.now() - t0) * 1000) / perRound;
      const used = process.threadCpuUsage(cpu0);
      // Round -1 warms the code up and is not counted.
      if (r >= 0) {
        samples[name]?.walls.push(wall);
        samples[name]?.cpus.push((used.user + used.system) / perRound);
      }
    }
  }
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
  return Object.fromEntries(
    Object.entries(samples).map(([name, { walls, cpus }]) => [name, { wall: median(walls), cpu: median(cpus) }]),
  );
}

/** Pseudonym-shaped ids ('sp_' + 43 characters), made lazily: the input is a stream, never an array. */
function* ids(from: number, count: number): Generator<string> {
  for (let i = from; i < from + count; i++) yield 'sp_' + i.toString(16).padStart(43, '0');
}

const fmt = (x: number, digits = 1) => x.toFixed(digits);
const loadBefore = loadavg();
const measured = measureMultiply({ jwk: x25519ViaJwk, spki: x25519ViaSpki }, 15, 1000);
const jwk = measured.jwk as PerMultiply;
const spki = measured.spki as PerMultiply;
// The floor uses the path the core uses (mpc/psi/x25519.ts: the JWK import).
const multiply = jwk;

const pool = createX25519Pool({ size: cores });
// The pool's own rate on raw points, right before the run: the floor under the machine's load at this moment.
// One chunk per worker at a time, each its own call, so that every worker is busy.
const calibrate = (points: number) =>
  Promise.all(Array.from({ length: 2 * cores }, () => pool.multiply(randomBytes(32), randomBytes(32 * points))));
await calibrate(1024);
const c0 = performance.now();
await calibrate(8192);
const poolMicros = ((performance.now() - c0) * 1000) / (2 * cores * 8192);
const jobId = `bench-${rows}`;
const initiator = createPsiParty({
  jobId,
  role: 'initiator',
  mode: 'intersection',
  self: 'dealer',
  peers: ['insurer'],
  pool,
});
const responder = createPsiParty({
  jobId,
  role: 'responder',
  mode: 'intersection',
  self: 'insurer',
  peers: ['dealer'],
  pool,
});
const half = Math.floor(rows / 2);
const rss0 = process.memoryUsage().rss;
const cpu0 = process.cpuUsage();
const main0 = process.threadCpuUsage();
const t0 = performance.now();
const result = await runTwoPartyPsiInProcess(
  { party: initiator, ids: ids(0, rows) },
  { party: responder, ids: ids(rows - half, rows) },
);
const wall = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
const mainThread = process.threadCpuUsage(main0);
const peakRss = process.resourceUsage().maxRSS * 1024;
await pool.close();
if (result.initiator.count !== half)
  throw new Error(`intersection has ${result.initiator.count} rows, expected ${half}`);

const multiplies = 4 * rows;
const floor = ((multiplies / cores) * multiply.wall) / 1e6;
const cpuFloor = (multiplies * multiply.cpu) / 1e6;
const cpuSeconds = (cpu.user + cpu.system) / 1e6;
const mb = (bytes: number) => fmt(bytes / 2 ** 20, 0) + ' MiB';
console.log(
  [
    `PSI core: ${rows.toLocaleString('en')} × ${rows.toLocaleString('en')} rows, ${half.toLocaleString('en')} in common, pool of ${cores} (Node ${process.version})`,
    `load average before: ${loadBefore.map((x) => fmt(x, 2)).join(' ')}   after: ${loadavg()
      .map((x) => fmt(x, 2))
      .join(' ')}`,
    `one X25519 multiply (this thread, median of 15 interleaved rounds of 1000): JWK import ${fmt(jwk.wall)} µs wall / ${fmt(jwk.cpu)} µs CPU;  SPKI import ${fmt(spki.wall)} µs wall / ${fmt(spki.cpu)} µs CPU;  SPKI/JWK CPU ${fmt(spki.cpu / jwk.cpu, 2)}; the core uses JWK`,
    `wall time:        ${fmt(wall, 2)} s  (${fmt((2 * rows) / wall / cores, 0)} rows/s per core, ${fmt(multiplies / wall, 0)} multiplies/s)`,
    `floor:            ${fmt(floor, 2)} s  = ${multiplies.toLocaleString('en')} multiplies / ${cores} cores × ${fmt(multiply.wall)} µs`,
    `measured / floor: ${fmt(wall / floor, 2)}`,
    `pool floor:       ${fmt((multiplies * poolMicros) / 1e6, 2)} s  = ${multiplies.toLocaleString('en')} multiplies × ${fmt(poolMicros)} µs (the pool's rate on raw points just before the run); measured / pool floor ${fmt(wall / ((multiplies * poolMicros) / 1e6), 2)}`,
    `CPU time:         ${fmt(cpuSeconds, 2)} s (main thread ${fmt((mainThread.user + mainThread.system) / 1e6, 2)} s), ${fmt((cpuSeconds * 1e6) / multiplies)} µs per multiply; CPU floor ${fmt(cpuFloor, 2)} s, ratio ${fmt(cpuSeconds / cpuFloor, 2)}`,
    `peak RSS:         ${mb(peakRss)} for both parties and the pool in one process (RSS before the run ${mb(rss0)})`,
  ].join('\n'),
);
