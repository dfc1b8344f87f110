// Prometheus metrics (text exposition format 0.0.4) on a registry owned by one gateway, not the
// prom-client global, so several gateways can share a process (tests, `sealgate demo`). What happens is counted here
// as it happens (requests, consent writes, decisions, job step attempts, failed peer calls); what is read from the
// components when Prometheus scrapes is in state-gauges.ts. docs/operations.md lists every metric.
//
// Labels hold only values from small, fixed sets (routes, kinds, outcomes, error codes, protocols, steps, registered
// peers), never a subject, pseudonym, token, record or job id: each label value is a series Prometheus keeps.
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';
import { registerStateGauges, type MetricSources, type SourceErrorListener } from './state-gauges.ts';

export type { MetricSources, SourceErrorListener } from './state-gauges.ts';

/** The consent log's writes, as the consent routes name them. */
export const CONSENT_WRITE_KINDS = ['grant', 'withdraw', 'revoke', 'renew', 'supersede'] as const;
export type ConsentWriteKind = (typeof CONSENT_WRITE_KINDS)[number];

export type Metrics = {
  registry: Registry;
  httpRequestDuration: Histogram<'route' | 'method' | 'status_code'>;
  /** Consent writes by kind and outcome: 'ok', or the error code the consent log refused or failed with. */
  consentWrites: Counter<'kind' | 'outcome'>;
  /** Decisions answered, by outcome (permit, deny): counted once the decision is in the audit chain. */
  decisions: Counter<'outcome'>;
  /** This party's step attempts, by protocol, step and outcome (completed, failed), from the job runner. */
  jobStepDuration: Histogram<'protocol' | 'step' | 'outcome'>;
  /** Outgoing peer calls that failed, by peer and error code, from the peer client. */
  peerCallFailures: Counter<'peer' | 'code'>;
  /** Hosts a job that survives dropouts went on without, at its coordinator, by protocol, host (`peer`) and code. */
  partiesDropped: Counter<'protocol' | 'peer' | 'code'>;
};

export function createMetrics(
  partyId: string,
  sources: MetricSources = {},
  onSourceError?: SourceErrorListener,
): Metrics {
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
  const consentWrites = new Counter({
    name: 'sealgate_consent_writes_total',
    help: "Consent writes (grant, withdraw, revoke, renew, supersede) the consent routes made, by outcome: 'ok' or the error code",
    labelNames: ['kind', 'outcome'] as const,
    registers: [registry],
  });
  const decisions = new Counter({
    name: 'sealgate_decisions_total',
    help: 'Policy decisions answered and audited, by outcome (permit, deny)',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const jobStepDuration = new Histogram({
    name: 'sealgate_job_step_duration_seconds',
    help: "Duration of this party's job step attempts by protocol, step and outcome (completed, failed)",
    labelNames: ['protocol', 'step', 'outcome'] as const,
    // A step filters a few rows in milliseconds or exchanges millions for many minutes.
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800],
    registers: [registry],
  });
  const peerCallFailures = new Counter({
    name: 'sealgate_peer_call_failures_total',
    help: 'Signed calls to partner gateways that failed after their retries, by peer and error code',
    labelNames: ['peer', 'code'] as const,
    registers: [registry],
  });
  const partiesDropped = new Counter({
    name: 'sealgate_job_parties_dropped_total',
    help: 'Hosts a secure-aggregation job went on without, counted at its coordinator, by protocol, peer and code',
    labelNames: ['protocol', 'peer', 'code'] as const,
    registers: [registry],
  });
  // Zeros for the series every gateway has, so a rate over them starts at the first scrape, not at the first event.
  for (const kind of CONSENT_WRITE_KINDS) consentWrites.inc({ kind, outcome: 'ok' }, 0);
  for (const outcome of ['permit', 'deny']) decisions.inc({ outcome }, 0);
  registerStateGauges(registry, sources, onSourceError);
  return {
    registry,
    httpRequestDuration,
    consentWrites,
    decisions,
    jobStepDuration,
    peerCallFailures,
    partiesDropped,
  };
}
