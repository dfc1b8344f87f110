// What the scrape-time metrics (gateway/http/state-gauges.ts) read, from the services createContext builds: the audit
// journal, the readiness probes, the ledger, the anchor store and the job runner. Each is read as the service already
// exposes it, so no domain holds a metric.
import type { Logger } from 'pino';
import type { Clock } from '../../core/clock.ts';
import type { ConsentStore } from '../../consent/consent-store.ts';
import type { JobRunner } from '../../mpc/jobs/runner.ts';
import type { GatewayConfig } from '../config.ts';
import type { MetricSources } from '../http/metrics.ts';
import type { LedgerServices } from './ledger-services.ts';
import { checkReadiness, type ReadinessCheck } from './readiness.ts';

export type MetricSourceServices = {
  config: Pick<GatewayConfig, 'ledger'>;
  clock: Clock;
  log: Logger;
  consentStore: Pick<ConsentStore, 'heads' | 'journalPending'>;
  ledger: Pick<LedgerServices, 'anchors' | 'ledger' | 'readiness'>;
  jobs: Pick<JobRunner, 'countByStatus'>;
  readiness: ReadonlyMap<string, ReadinessCheck>;
};

export function metricSources(services: MetricSourceServices): MetricSources {
  const { config, clock, log, consentStore, ledger, jobs, readiness } = services;
  return {
    auditJournalPending: () => consentStore.journalPending,
    readiness: async () => (await checkReadiness({ readiness, log })).components,
    ledger: () => ({
      mode: config.ledger.mode,
      isUp: ledger.readiness() === 'ok',
      chainRestarts: ledger.ledger?.localChain?.restarts ?? 0,
    }),
    // Measured whatever the ledger mode: with SEALGATE_LEDGER=off nothing is anchored, and the lag says so.
    anchoringBacklog: async () => {
      const { heads } = consentStore;
      const backlog = await ledger.anchors.readBacklog({ events: heads.events.seq, audit: heads.audit.seq });
      const oldestMs = backlog.oldestPendingAt === null ? null : Date.parse(backlog.oldestPendingAt);
      const lagMs = oldestMs === null ? 0 : Math.max(0, clock.now().getTime() - oldestMs);
      return { pendingRecords: backlog.pendingRecords, lagSeconds: lagMs / 1000 };
    },
    jobs: () => jobs.countByStatus(),
  };
}
