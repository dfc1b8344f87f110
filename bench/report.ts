// The consent benchmark's report: one plain-text table (each figure beside its same-run baseline, the ratio and
// the target) and a JSON summary written outside the repository, so results never end up in git.
import { writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DecisionLatencyResult } from './decision-latency.ts';
import type { DecisionThroughputResult } from './decision-throughput.ts';
import type { DurableWritesResult } from './durable-writes.ts';
import type { LoadResult } from './load.ts';
import { resultTable, type ResultRow } from './table.ts';

export const TARGETS = { decisionP50Us: 50, decisionP99Us: 1_000, httpRatio: 0.5, writesPerSecond: 5_000 } as const;

export type BenchSummary = {
  mode: 'full' | 'quick';
  startedAt: string;
  environment: { node: string; cpus: number; cpuModel: string; platform: string; loadAverage: number };
  options: Record<string, unknown>;
  latency: DecisionLatencyResult;
  throughput: DecisionThroughputResult;
  writes: DurableWritesResult;
  /** The same writes with many more connections (full mode only). */
  writesAtSaturation: DurableWritesResult | null;
};

export function environment(): BenchSummary['environment'] {
  return {
    node: process.version,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    platform: `${process.platform}-${process.arch}`,
    loadAverage: loadavg()[0] ?? 0,
  };
}

const us = (v: number) =>
  `${v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : Math.round(v).toLocaleString('en-US')} µs`;
const rate = (v: number, unit: string) => `${Math.round(v).toLocaleString('en-US')} ${unit}`;
const times = (v: number) => `${v < 0.1 ? v.toFixed(3) : v.toFixed(2)}×`;
const pct = (v: number) => `${(v * 100).toFixed(1)} %`;
const met = (isMet: boolean) => (isMet ? 'yes' : 'NO');
const cpuUs = (v: number | null) => (v === null ? 'n/a' : `${Math.round(v).toLocaleString('en-US')} µs`);
const load = (v: number) => v.toFixed(1);

export function formatReport(s: BenchSummary): string {
  const { latency: l, throughput: t, writes: w } = s;
  const raw = l.rawCedar;
  const rows: ResultRow[] = [
    [
      '1',
      'decide() + consent chain, Cedar memo warm: p50',
      us(l.warm.p50Us),
      `raw statefulIsAuthorized p50 ${us(raw.p50Us)}`,
      times(l.warm.p50Us / raw.p50Us),
      `≤ ${TARGETS.decisionP50Us} µs`,
      met(l.warm.p50Us <= TARGETS.decisionP50Us),
    ],
    [
      '1',
      'decide() + consent chain, Cedar memo warm: p99',
      us(l.warm.p99Us),
      `raw statefulIsAuthorized p99 ${us(raw.p99Us)}`,
      times(l.warm.p99Us / raw.p99Us),
      `≤ ${TARGETS.decisionP99Us.toLocaleString('en-US')} µs`,
      met(l.warm.p99Us <= TARGETS.decisionP99Us),
    ],
    [
      '1',
      'decide() cold (memo off, first-seen): p50',
      us(l.cold.p50Us),
      `raw statefulIsAuthorized p50 ${us(raw.p50Us)}`,
      times(l.cold.p50Us / raw.p50Us),
      '(shows the memo)',
      '-',
    ],
    [
      '1',
      'decide() cold (memo off, first-seen): p99',
      us(l.cold.p99Us),
      `raw statefulIsAuthorized p99 ${us(raw.p99Us)}`,
      times(l.cold.p99Us / raw.p99Us),
      '(shows the memo)',
      '-',
    ],
    [
      '2',
      `POST /v1/decisions, ${s.options.decisionConnections} conn`,
      rate(t.gateway.rps, 'req/s'),
      `bare Fastify POST ${rate(t.bare.rps, 'req/s')}`,
      pct(t.ratio),
      `≥ ${pct(TARGETS.httpRatio)}`,
      met(t.ratio >= TARGETS.httpRatio),
    ],
    ...writeRows(w, s.options.writeConnections, 'check: /v1/audit/verify ok, new events = 201s'),
  ];
  const ws = s.writesAtSaturation;
  if (ws !== null) rows.push(...writeRows(ws, s.options.saturationConnections, 'check: the same, after that run'));
  const notes = [
    `1: ${l.warm.count.toLocaleString('en-US')} warm / ${l.cold.count.toLocaleString('en-US')} cold decisions over ${l.subjects.toLocaleString('en-US')} granted subjects ` +
      `(mean ${us(l.warm.meanUs)} warm, ${us(l.cold.meanUs)} cold; max ${us(l.warm.maxUs)} warm); memo ${l.memo.hits} hits / ${l.memo.misses} misses, ${l.memo.size} keys; ` +
      `log populated in process at ${rate(l.populateGrantsPerSecond, 'grants/s')}`,
    `2: best of ${t.rounds.gateway.length} alternating rounds of ${s.options.duration} s after ${s.options.warmup} s warm-up each; response ${t.responseBytes} bytes; ` +
      `latency p50/p99 gateway ${t.gateway.latencyP50Ms}/${t.gateway.latencyP99Ms} ms, bare ${t.bare.latencyP50Ms}/${t.bare.latencyP99Ms} ms; ` +
      `rounds gateway [${t.rounds.gateway.map((r) => Math.round(r.rps)).join(', ')}], bare [${t.rounds.bare.map((r) => Math.round(r.rps)).join(', ')}] req/s; ` +
      `server CPU per request gateway ${cpuUs(t.gateway.serverCpuUsPerRequest)}, bare ${cpuUs(t.bare.serverCpuUsPerRequest)}; ` +
      `of it on the main thread gateway ${cpuUs(t.gateway.serverMainThreadCpuUsPerRequest)}, bare ${cpuUs(t.bare.serverMainThreadCpuUsPerRequest)}; ` +
      `${mainThreadRatios(t.rounds)}; ` +
      `load average ${load(t.gateway.loadAverage)} / ${load(t.bare.loadAverage)}`,
    `3: ${w.gateway.ok.toLocaleString('en-US')} grants in ${w.gateway.seconds.toFixed(1)} s, latency p50/p99 ${w.gateway.latencyP50Ms}/${w.gateway.latencyP99Ms} ms, ` +
      `gateway CPU ${cpuUs(w.gateway.serverCpuUsPerRequest)} per write (main thread ${cpuUs(w.gateway.serverMainThreadCpuUsPerRequest)}), load average ${load(w.gateway.loadAverage)}; ` +
      `chains verified from disk in ${w.check.seconds.toFixed(1)} s (${w.check.verification.events} events, ${w.check.verification.audit} audit entries); ` +
      `baseline wrote the same ${w.baseline.rows.toLocaleString('en-US')} rows in ${w.baseline.seconds.toFixed(1)} s`,
    ...(ws === null
      ? []
      : [
          `3 (${String(s.options.saturationConnections)} connections): ${ws.gateway.ok.toLocaleString('en-US')} grants in ${ws.gateway.seconds.toFixed(1)} s, ` +
            `latency p50/p99 ${ws.gateway.latencyP50Ms}/${ws.gateway.latencyP99Ms} ms, gateway CPU ${cpuUs(ws.gateway.serverCpuUsPerRequest)} per write ` +
            `(main thread ${cpuUs(ws.gateway.serverMainThreadCpuUsPerRequest)}), load average ${load(ws.gateway.loadAverage)}`,
        ]),
  ];
  const env = s.environment;
  const header =
    `sealgate consent benchmark (${s.mode}) ${s.startedAt}, node ${env.node}, ${env.cpus} × ${env.cpuModel}, ` +
    `load average at start ${load(env.loadAverage)}, gateway ledger ${String(s.options.ledger)}`;
  return [header, '', resultTable(rows), '', ...notes].join('\n');
}

/** A durable-writes run's two rows: the rate against its DuckDB baseline, and its verify and exact-count check. */
function writeRows(w: DurableWritesResult, connections: unknown, checkLabel: string): ResultRow[] {
  return [
    [
      '3',
      `POST /v1/consents durable, ${String(connections)} conn`,
      rate(w.gateway.rps, 'writes/s'),
      `raw DuckDB appender ${w.baseline.rowsPerTransaction} rows/tx ${rate(w.baseline.rowsPerSecond, 'rows/s')}`,
      times(w.ratio),
      `≥ ${TARGETS.writesPerSecond.toLocaleString('en-US')}/s`,
      met(w.gateway.rps >= TARGETS.writesPerSecond),
    ],
    [
      '3',
      checkLabel,
      `ok=${w.check.verification.ok}, events +${w.check.newEvents}`,
      `201 responses ${w.check.acknowledged}, non-2xx ${w.gateway.non2xx}`,
      '-',
      'equal, ok',
      met(w.check.isOk),
    ],
  ];
}

/**
 * The per-round ratio of main-thread CPU per request, gateway ÷ bare, and its median. Each server answers on one
 * thread, so this ratio is the inverse of the throughput ratio; it varies less between rounds than req/s does, because
 * the load generator's own share of the two cores cancels out. 50 % of the bare route needs a ratio of 2 or less.
 */
function mainThreadRatios(rounds: { gateway: readonly LoadResult[]; bare: readonly LoadResult[] }): string {
  const ratios = rounds.gateway.flatMap((g, i) => {
    const gateway = g.serverMainThreadCpuUsPerRequest;
    const bare = rounds.bare[i]?.serverMainThreadCpuUsPerRequest ?? null;
    return gateway === null || bare === null || bare === 0 ? [] : [gateway / bare];
  });
  if (ratios.length === 0) return 'main-thread CPU ratio not available';
  const sorted = [...ratios].sort((a, b) => a - b);
  const middle = sorted.length / 2;
  const median =
    sorted.length % 2 === 1
      ? (sorted[Math.floor(middle)] as number)
      : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
  return `main-thread CPU per request gateway ÷ bare by round [${ratios.map((r) => r.toFixed(2)).join(', ')}], median ${median.toFixed(2)} (≤ 2.00 for 50 %)`;
}

/** Writes the summary to the OS temp directory and returns its path. */
export function writeSummary(s: BenchSummary): string {
  const path = join(tmpdir(), `consent-${s.startedAt.replace(/[:.]/g, '-')}.json`);
  writeFileSync(path, `${JSON.stringify(s, null, 2)}\n`);
  return path;
}
