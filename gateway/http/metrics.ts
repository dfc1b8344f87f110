// Prometheus metrics (text exposition format 0.0.4) on a registry owned by one gateway, not the
// prom-client global, so several gateways can share a process (tests, `sealgate demo`).
import { collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export type Metrics = {
  registry: Registry;
  httpRequestDuration: Histogram<'route' | 'method' | 'status_code'>;
};

/** Values read when Prometheus scrapes, from components that own them. */
export type MetricSources = {
  /** Audit entries durable in the journal and not yet moved into the audit table (consent/audit-journal.ts). */
  auditJournalPending?: () => number;
};

export function createMetrics(partyId: string, sources: MetricSources = {}): Metrics {
  const registry = new Registry();
  // The party label tells gateways apart when one Prometheus scrapes several on one host.
  registry.setDefaultLabels({ party: partyId });
  collectDefaultMetrics({ register: registry });
  const httpRequestDuration = new Histogram({
    name: 'sealgate_http_request_duration_seconds',
    help: 'HTTP request duration by route pattern, method and status code',
    // Route patterns, never raw URLs: label values must be few, and URLs may carry identifiers.
    labelNames: ['route', 'method', 'status_code'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const { auditJournalPending } = sources;
  if (auditJournalPending !== undefined) {
    new Gauge({
      name: 'sealgate_audit_journal_pending_entries',
      help: 'Chain entries (audit entries and consent events) durable in the journal beside the database and not yet moved into its tables; a value that keeps growing means moves are failing',
      registers: [registry],
      collect() {
        this.set(auditJournalPending());
      },
    });
  }
  return { registry, httpRequestDuration };
}
