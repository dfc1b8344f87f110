// Benchmark 2: HTTP throughput of POST /v1/decisions (auth, validation, decide, durable audit entry, response
// serialization) against a bare Fastify route answering the same bytes, both child processes on loopback, both
// driven with the same requests, connections and duration, in alternating rounds; the best round of each counts.
import { best, runLoad, type LoadResult } from './load.ts';
import { jsonHeaders, sampleDecision, type Tokens } from './gateway-client.ts';
import { startBareServer, stopChild } from './child-servers.ts';
import { decisionBody } from './request-bodies.ts';

export type DecisionThroughputOptions = { connections: number; duration: number; warmup: number; rounds: number };

export type DecisionThroughputResult = {
  gateway: LoadResult;
  bare: LoadResult;
  /** gateway req/s ÷ bare req/s, of the best rounds. */
  ratio: number;
  responseBytes: number;
  rounds: { gateway: LoadResult[]; bare: LoadResult[] };
};

export type ServerUnderTest = { url: string; pid: number | undefined };

export async function measureDecisionThroughput(
  gateway: ServerUnderTest,
  tokens: Tokens,
  subjects: readonly string[],
  options: DecisionThroughputOptions,
): Promise<DecisionThroughputResult> {
  const sample = await sampleDecision(gateway.url, tokens, subjects);
  const bare = await startBareServer(sample);
  try {
    const headers = jsonHeaders(tokens.steward);
    const load = (server: ServerUnderTest, path: string, duration: number) =>
      runLoad({
        url: server.url,
        serverPid: server.pid,
        connections: options.connections,
        duration,
        request: (i) => ({ method: 'POST', path, headers, body: JSON.stringify(decisionBody(subjects, i)) }),
      });
    const gatewayRun = (duration: number) => load(gateway, '/v1/decisions', duration);
    const bareRun = (duration: number) => load({ url: bare.url, pid: bare.process.pid }, '/bare', duration);

    await gatewayRun(options.warmup);
    await bareRun(options.warmup);
    const rounds: DecisionThroughputResult['rounds'] = { gateway: [], bare: [] };
    for (let round = 0; round < options.rounds; round++) {
      // Alternate which goes first, so a slow drift of the machine does not favour one side.
      if (round % 2 === 0) {
        rounds.gateway.push(await gatewayRun(options.duration));
        rounds.bare.push(await bareRun(options.duration));
      } else {
        rounds.bare.push(await bareRun(options.duration));
        rounds.gateway.push(await gatewayRun(options.duration));
      }
    }
    const failed = [...rounds.gateway, ...rounds.bare].find((r) => r.non2xx > 0 || r.errors > 0);
    if (failed !== undefined)
      throw new Error(`decision load saw failures: ${JSON.stringify(failed.statusCodes)}, ${failed.errors} errors`);
    const g = best(rounds.gateway);
    const b = best(rounds.bare);
    return { gateway: g, bare: b, ratio: g.rps / b.rps, responseBytes: Buffer.byteLength(sample), rounds };
  } finally {
    await stopChild(bare.process);
  }
}
