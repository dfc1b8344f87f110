// HTTP load from the benchmark process with autocannon: a fixed number of keep-alive connections, each sending
// the next request as soon as the previous one is answered (closed loop). Rates count 2xx answers only.
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import autocannon, { type AutocannonRequest, type Result } from 'autocannon';

export type LoadSpec = {
  url: string;
  connections: number;
  /** Seconds of load; or, with `amount`, run until exactly that many requests are answered. */
  duration: number;
  amount?: number;
  /** The server's process id: its CPU time over the run is reported per answered request (Linux only). */
  serverPid?: number | undefined;
  /** Builds the i-th request (counted across the whole run, so bodies can be unique). */
  request: (i: number) => { method: string; path: string; headers: Record<string, string>; body: string };
};

export type LoadResult = {
  /** 2xx answers per second of the run. */
  rps: number;
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  seconds: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  statusCodes: Record<string, number>;
  /** CPU time of the server process (all its threads) per 2xx answer, µs; null where /proc is not available. */
  serverCpuUsPerRequest: number | null;
  /**
   * The same for its main thread alone (user + system, so socket reads and writes count): the thread that runs
   * every request's JavaScript, and so the bound on what one process can answer.
   */
  serverMainThreadCpuUsPerRequest: number | null;
  /** 1-minute load average when the run started: a busy machine explains a slow run. */
  loadAverage: number;
};

// /proc/<pid>/stat fields 14 and 15 (utime, stime) count USER_HZ ticks, which Linux fixes at 100 per second for
// user space; the command name (field 2) may hold spaces, so fields are counted after its closing parenthesis.
const USER_HZ = 100;
// The main thread's task id is the process id, so /proc/<pid>/task/<pid>/stat counts that thread alone.
function processCpuMs(pid: number | undefined, isMainThreadOnly = false): number | null {
  if (pid === undefined) return null;
  try {
    const stat = readFileSync(isMainThreadOnly ? `/proc/${pid}/task/${pid}/stat` : `/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * (1000 / USER_HZ);
  } catch {
    return null;
  }
}

type CpuSample = { all: number | null; main: number | null };
const cpuSample = (pid: number | undefined): CpuSample => ({ all: processCpuMs(pid), main: processCpuMs(pid, true) });
const elapsed = (before: number | null, after: number | null) =>
  before === null || after === null ? null : after - before;

function toResult(r: Result, before: CpuSample, after: CpuSample, loadAverage: number): LoadResult {
  const perRequest = (ms: number | null) => (ms === null || r['2xx'] === 0 ? null : (ms * 1000) / r['2xx']);
  return {
    rps: r['2xx'] / r.duration,
    ok: r['2xx'],
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    seconds: r.duration,
    latencyP50Ms: r.latency.p50,
    latencyP99Ms: r.latency.p99,
    statusCodes: Object.fromEntries(Object.entries(r.statusCodeStats).map(([code, s]) => [code, s.count])),
    serverCpuUsPerRequest: perRequest(elapsed(before.all, after.all)),
    serverMainThreadCpuUsPerRequest: perRequest(elapsed(before.main, after.main)),
    loadAverage,
  };
}

export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  let sent = 0;
  const request: AutocannonRequest = { setupRequest: () => spec.request(sent++) };
  const loadAverage = loadavg()[0] ?? 0;
  const cpuBefore = cpuSample(spec.serverPid);
  const result = await autocannon({
    url: spec.url,
    connections: spec.connections,
    pipelining: 1,
    timeout: 30,
    requests: [request],
    ...(spec.amount === undefined ? { duration: spec.duration } : { amount: spec.amount }),
  });
  return toResult(result, cpuBefore, cpuSample(spec.serverPid), loadAverage);
}

/** The run with the highest 2xx rate: the least disturbed by whatever else the machine was doing. */
export function best(results: readonly LoadResult[]): LoadResult {
  const [first, ...rest] = results;
  if (first === undefined) throw new RangeError('no load results');
  return rest.reduce((a, b) => (b.rps > a.rps ? b : a), first);
}
