// What the multi-gateway benchmarks (bench:psi, bench:vfl) share: opening a gateway's services in this process on
// its data directory for set-up, reading a child gateway's memory and CPU from /proc, and calling a child's REST API.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../gateway/config.ts';
import { createContext, type GatewayContext } from '../gateway/services/context.ts';

/**
 * Opens the services of party `party` on `<root>/<party>` (ledger off), runs `work` and closes them again: set-up
 * written through the gateway's own services, before its process starts.
 */
export async function withGatewayContext<T>(
  gateway: { root: string; party: string; passphrase: string },
  work: (ctx: GatewayContext) => Promise<T>,
): Promise<T> {
  const config = loadConfig({
    SEALGATE_DATA_DIR: join(gateway.root, gateway.party),
    SEALGATE_PASSPHRASE: gateway.passphrase,
    SEALGATE_LEDGER: 'off',
    SEALGATE_PARTY_ID: gateway.party,
    SEALGATE_LOG_LEVEL: 'warn',
  });
  const ctx = await createContext(config);
  try {
    return await work(ctx);
  } finally {
    await ctx.close();
  }
}

/** Resident set now (VmRSS) and at its peak (VmHWM), and CPU seconds so far, of a child, from /proc. */
export function processStats(pid: number): { rss: number; peakRss: number; cpuSeconds: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rss = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
  const peakRss = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  const ticks = Number(fields[11] ?? 0) + Number(fields[12] ?? 0);
  return { rss, peakRss, cpuSeconds: ticks / 100 };
}

/** One JSON request to a child gateway with a bearer token; any non-2xx throws with the problem document. */
export async function callGateway({
  url,
  token,
  method,
  path,
  body,
}: {
  url: string;
  token: string;
  method: string;
  path: string;
  body?: unknown;
}): Promise<Record<string, unknown>> {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const json = (await res.json()) as Record<string, unknown>;
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}
