// The consent benchmark (`npm run bench:consent -- [--quick] [--duration S] [--ledger local|off] [--profile DIR]`):
// decision latency in process, HTTP decision throughput, and durable consent writes over HTTP, each printed beside a
// baseline measured in the same run. Figures, not a test: nothing here asserts, except that the set-up is sound.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { killAllChildren, startGatewayChild, stopChild } from './child-servers.ts';
import { measureDecisionLatency } from './decision-latency.ts';
import { measureDecisionThroughput } from './decision-throughput.ts';
import { measureDurableWrites } from './durable-writes.ts';
import { delegate, grantSubjects, issueTokens } from './gateway-client.ts';
import { environment, formatReport, writeSummary, type BenchSummary } from './report.ts';
import { CONTROLLER } from './request-bodies.ts';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    duration: { type: 'string' },
    profile: { type: 'string' },
    ledger: { type: 'string' },
  },
  strict: true,
});
const isQuick = values.quick === true;
const duration = values.duration === undefined ? (isQuick ? 3 : 10) : Number(values.duration);
if (!Number.isFinite(duration) || duration <= 0) throw new Error('--duration expects a positive number of seconds');
// The gateway's own default (an embedded chain anchoring in the background) unless told otherwise.
const ledger = values.ledger ?? 'default';
if (!['default', 'local', 'off'].includes(ledger)) throw new Error('--ledger expects local or off');

const options = {
  subjects: isQuick ? 1_000 : 10_000,
  decisions: isQuick ? 20_000 : 200_000,
  coldDecisions: isQuick ? 2_000 : 20_000,
  decisionWarmup: isQuick ? 5_000 : 20_000,
  httpSubjects: isQuick ? 1_000 : 10_000,
  decisionConnections: 50,
  writeConnections: 100,
  // Writes again with ten times the connections: a closed loop of 100 is bound by each batch's latency, and this
  // shows what the gateway absorbs when the batches are as large as the load makes them.
  saturationConnections: isQuick ? null : 1_000,
  duration,
  warmup: isQuick ? 1 : 2,
  rounds: isQuick ? 1 : 4,
  ledger,
};

const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);
const startedAt = new Date().toISOString();
const startEnvironment = environment();
const dataDir = mkdtempSync(join(tmpdir(), 'sealgate-bench-gateway-'));

try {
  log(
    `1/3 decision latency in process: ${options.subjects} subjects, ${options.decisions} warm + ${options.coldDecisions} cold decisions`,
  );
  const latency = await measureDecisionLatency({
    subjects: options.subjects,
    decisions: options.decisions,
    coldDecisions: options.coldDecisions,
    warmup: options.decisionWarmup,
  });

  log('starting the gateway child (gateway/cli/cli.ts serve)');
  const gateway = await startGatewayChild(dataDir, {
    SEALGATE_PARTY_ID: CONTROLLER,
    SEALGATE_LOG_LEVEL: 'warn',
    // The limiter is per client address and everything here comes from 127.0.0.1.
    SEALGATE_RATE_LIMIT_MAX: '1000000',
    SEALGATE_RATE_LIMIT_WINDOW_MS: '1000',
    ...(ledger === 'default' ? {} : { SEALGATE_LEDGER: ledger }),
    ...(values.profile === undefined ? {} : { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${values.profile}` }),
  });
  try {
    const tokens = await issueTokens(gateway.url, gateway.adminToken as string);
    log(`granting ${options.httpSubjects} subjects and the delegation over HTTP`);
    const { subjects, sampleRecord } = await grantSubjects(gateway.url, tokens, options.httpSubjects);
    await delegate(gateway.url, tokens);

    log(
      `2/3 POST /v1/decisions vs bare Fastify: ${options.decisionConnections} connections, ${options.rounds} × ${duration} s each`,
    );
    const server = { url: gateway.url, pid: gateway.process.pid };
    const throughput = await measureDecisionThroughput(server, tokens, subjects, {
      connections: options.decisionConnections,
      duration,
      warmup: options.warmup,
      rounds: options.rounds,
    });

    log(`3/3 durable POST /v1/consents: ${options.writeConnections} connections, ~${duration} s`);
    const writes = await measureDurableWrites(
      server,
      tokens,
      {
        connections: options.writeConnections,
        duration,
        warmup: options.warmup,
      },
      JSON.stringify(sampleRecord),
    );

    let writesAtSaturation: BenchSummary['writesAtSaturation'] = null;
    if (options.saturationConnections !== null) {
      log(`3/3 again with ${options.saturationConnections} connections, ~${duration} s`);
      writesAtSaturation = await measureDurableWrites(
        server,
        tokens,
        {
          connections: options.saturationConnections,
          duration,
          warmup: options.warmup,
        },
        JSON.stringify(sampleRecord),
      );
    }

    const summary: BenchSummary = {
      mode: isQuick ? 'quick' : 'full',
      startedAt,
      environment: startEnvironment,
      options,
      latency,
      throughput,
      writes,
      writesAtSaturation,
    };
    process.stdout.write(`\n${formatReport(summary)}\n\nJSON summary: ${writeSummary(summary)}\n`);
  } catch (error) {
    // The gateway's own words are usually the explanation of a failed run.
    log(
      `run failed; last gateway output (exit code ${gateway.process.exitCode}, signal ${gateway.process.signalCode}):\n${gateway.output().slice(-4000)}`,
    );
    throw error;
  } finally {
    await stopChild(gateway.process);
  }
} finally {
  killAllChildren();
  rmSync(dataDir, { recursive: true, force: true });
}
