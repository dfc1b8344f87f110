// Readiness of the gateway's components: each registers a probe in the context, and /ready and the readiness metrics
// run them all the same way, so a scraper and an orchestrator never disagree about what is down.
import type { Logger } from 'pino';

export type ReadinessState = 'ok' | 'degraded' | 'down';
/** A readiness probe. Throwing counts as 'down': an unknown state is not a ready one. */
export type ReadinessCheck = () => ReadinessState | Promise<ReadinessState>;

export type ReadinessReport = {
  status: ReadinessState;
  components: Record<string, ReadinessState>;
  /** Components that answer but slowly or partially; the gateway still takes traffic. */
  degraded: string[];
  /** Components that do not answer; any entry here makes the gateway unready (503). */
  down: string[];
};

const STATES: ReadonlySet<unknown> = new Set<ReadinessState>(['ok', 'degraded', 'down']);

/** Runs every probe concurrently; a probe that throws, or answers anything but a state, is 'down'. */
export async function checkReadiness(ctx: {
  readiness: ReadonlyMap<string, ReadinessCheck>;
  log: Pick<Logger, 'warn'>;
}): Promise<ReadinessReport> {
  const entries = await Promise.all(
    [...ctx.readiness].map(async ([name, probe]): Promise<[string, ReadinessState]> => {
      try {
        const state: unknown = await probe();
        return [name, STATES.has(state) ? (state as ReadinessState) : 'down'];
      } catch (error) {
        ctx.log.warn({ err: error, component: name }, 'readiness probe failed');
        return [name, 'down'];
      }
    }),
  );
  const components = Object.fromEntries(entries);
  const down = entries.filter(([, s]) => s === 'down').map(([n]) => n);
  const degraded = entries.filter(([, s]) => s === 'degraded').map(([n]) => n);
  const status = down.length > 0 ? 'down' : degraded.length > 0 ? 'degraded' : 'ok';
  return { status, components, degraded, down };
}
