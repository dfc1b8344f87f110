// Metrics read when Prometheus scrapes, from the components that own the state: the audit journal, the readiness
// probes, the ledger, the anchor store and the job store. Reading at scrape time keeps the domains free of metric
// code and the values exact (a gauge kept current by events drifts the first time an event is missed). A source that
// fails leaves its series out of that scrape instead of failing /metrics as a whole. docs/operations.md lists them.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { ReadinessState } from '../services/readiness.ts';

/** The ledger as an operator sees it: configured how, healthy or not, and how often its embedded chain restarted. */
export type LedgerHealth = {
  mode: 'local' | 'external' | 'off';
  isUp: boolean;
  /** Restarts of the embedded chain since start-up; 0 without one (external or no ledger). */
  chainRestarts: number;
};

/** Records committed and not yet anchored, and how long the oldest of them has waited. */
export type AnchoringBacklogSample = { pendingRecords: number; lagSeconds: number };

export type JobCountSample = { protocol: string; status: string; count: number };

/** Values read when Prometheus scrapes, from components that own them. Each one absent leaves its metrics out. */
export type MetricSources = {
  /** Audit entries durable in the journal and not yet moved into the audit table (consent/audit-journal.ts). */
  auditJournalPending?: () => number;
  /** Each component's state, as /ready reports it. */
  readiness?: () => Promise<Readonly<Record<string, ReadinessState>>>;
  ledger?: () => LedgerHealth;
  anchoringBacklog?: () => Promise<AnchoringBacklogSample>;
  /** Jobs by protocol and status, zeros included (JobRunner.countByStatus). */
  jobs?: () => Promise<readonly JobCountSample[]>;
};

/** Told which metric's source failed during a scrape (the gateway logs it); the scrape still answers. */
export type SourceErrorListener = (metric: string, error: unknown) => void;

const STATES: readonly ReadinessState[] = ['ok', 'degraded', 'down'];

type ScrapeGauge<T, L extends string> = {
  registry: Registry;
  onError: SourceErrorListener;
  name: string;
  help: string;
  labelNames?: readonly L[];
  read: () => T | Promise<T>;
  write: (gauge: Gauge<L>, value: T) => void;
};

/** A gauge whose series are replaced by `write(read())` at every scrape; none are shown when `read` fails. */
function scrapeGauge<T, L extends string>(spec: ScrapeGauge<T, L>): void {
  new Gauge<L>({
    name: spec.name,
    help: spec.help,
    labelNames: spec.labelNames ?? [],
    registers: [spec.registry],
    async collect() {
      let value: T;
      try {
        value = await spec.read();
      } catch (error) {
        this.reset();
        spec.onError(spec.name, error);
        return;
      }
      // No await between the reset and the writes: a concurrent scrape never sees a half-written set.
      this.reset();
      spec.write(this, value);
    },
  });
}

/**
 * One read shared by the metrics a scrape collects together: prom-client starts every collect before awaiting any,
 * so two gauges from one source (readiness, the anchoring backlog) run its probes or queries once, not twice.
 */
function sharedRead<T>(read: () => Promise<T>): () => Promise<T> {
  let inFlight: Promise<T> | null = null;
  return () => {
    inFlight ??= read().finally(() => {
      inFlight = null;
    });
    return inFlight;
  };
}

export function registerStateGauges(
  registry: Registry,
  sources: MetricSources,
  onError: SourceErrorListener = () => undefined,
): void {
  const { auditJournalPending, ledger, jobs } = sources;
  if (auditJournalPending !== undefined) {
    scrapeGauge({
      registry,
      onError,
      name: 'sealgate_audit_journal_pending_entries',
      help: 'Chain entries (audit entries and consent events) durable in the journal beside the database and not yet moved into its tables; a value that keeps growing means moves are failing',
      read: auditJournalPending,
      write: (gauge, value) => gauge.set(value),
    });
  }

  if (sources.readiness !== undefined) {
    const readiness = sharedRead(sources.readiness);
    scrapeGauge({
      registry,
      onError,
      name: 'sealgate_ready',
      help: '1 when the gateway is ready to take traffic (no component down, /ready answers 200), else 0',
      read: readiness,
      write: (gauge, components) => gauge.set(Object.values(components).includes('down') ? 0 : 1),
    });
    scrapeGauge({
      registry,
      onError,
      name: 'sealgate_component_state',
      help: "Each component's readiness as /ready reports it: 1 on the series of its current state (ok, degraded, down), 0 on the others",
      labelNames: ['component', 'state'] as const,
      read: readiness,
      write: (gauge, components) => {
        for (const [component, current] of Object.entries(components))
          for (const state of STATES) gauge.set({ component, state }, state === current ? 1 : 0);
      },
    });
  }

  if (ledger !== undefined) {
    scrapeGauge({
      registry,
      onError,
      name: 'sealgate_ledger_up',
      help: 'The ledger by mode (SEALGATE_LEDGER: local, external, off): 1 when anchoring works, 0 when it is degraded, its chain is stopped, or it is off',
      labelNames: ['mode'] as const,
      read: ledger,
      write: (gauge, health) => gauge.set({ mode: health.mode }, health.isUp ? 1 : 0),
    });
    new Counter({
      name: 'sealgate_ledger_chain_restarts_total',
      help: 'Restarts of the embedded chain (anvil) after it died on its own, since the gateway started; 0 without an embedded chain',
      registers: [registry],
      collect() {
        // The chain counts its restarts; the counter shows its count (a counter read like a gauge, but it never falls).
        let restarts: number;
        try {
          restarts = ledger().chainRestarts;
        } catch (error) {
          onError('sealgate_ledger_chain_restarts_total', error);
          return;
        }
        this.reset();
        this.inc(restarts);
      },
    });
  }

  if (sources.anchoringBacklog !== undefined) {
    const backlog = sharedRead(sources.anchoringBacklog);
    scrapeGauge({
      registry,
      onError,
      name: 'sealgate_anchoring_pending_records',
      help: 'Consent events and audit entries committed and not yet in an anchored batch (built batches included)',
      read: backlog,
      write: (gauge, value) => gauge.set(value.pendingRecords),
    });
    scrapeGauge({
      registry,
      onError,
      name: 'sealgate_anchoring_lag_seconds',
      help: 'Seconds since the oldest record not yet anchored occurred; 0 when everything is anchored',
      read: backlog,
      write: (gauge, value) => gauge.set(value.lagSeconds),
    });
  }

  if (jobs !== undefined) {
    scrapeGauge({
      registry,
      onError,
      name: 'sealgate_jobs',
      help: "Multi-party jobs in this gateway's store by protocol and state (proposed, accepted, running, completed, failed, cancelled)",
      labelNames: ['protocol', 'state'] as const,
      read: jobs,
      write: (gauge, counts) => {
        for (const { protocol, status, count } of counts) gauge.set({ protocol, state: status }, count);
      },
    });
  }
}
