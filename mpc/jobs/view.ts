// What GET /v1/jobs/{id} shows (docs/jobs.md): the agreed job record, its state at this party, the timeline of every
// party's attempts with timings, bytes and rows, live progress of the running step, and what this party learned.
import { z } from 'zod';
import { JobFailure, JobSpec, JobStatus, JobStepName, StepStatus } from './job.ts';
import { JobOutputSummary, TimelineEntry, type JobRecord } from './store.ts';
import type { StepProgress } from './step-run.ts';
import { parseTraceparent } from '../../core/trace-context.ts';

export const JobProgress = z.object({
  step: JobStepName,
  attempt: z.int(),
  rows: z.int(),
  total: z.int().nullable(),
  /** rows / total, capped at 1; null while the total is unknown. */
  fraction: z.number().min(0).max(1).nullable(),
  /** What the protocol shows while it runs, such as a federated model's round and global metric. */
  metrics: z.record(z.string().max(64), z.number()).optional(),
});
export type JobProgress = z.infer<typeof JobProgress>;

export const JobView = z.object({
  id: z.string(),
  self: z.string(),
  role: z.enum(['coordinator', 'participant']),
  status: JobStatus,
  spec: JobSpec,
  acceptedBy: z.array(z.string()),
  steps: z.array(z.object({ name: JobStepName, status: StepStatus, attempt: z.int() })),
  attempt: z.int(),
  failure: JobFailure.nullable(),
  /** The W3C trace id every party logs this job's messages under. */
  traceId: z.string().nullable(),
  progress: JobProgress.nullable(),
  timeline: z.array(TimelineEntry),
  output: JobOutputSummary.nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type JobView = z.infer<typeof JobView>;

export const JobList = z.object({
  jobs: z.array(
    JobView.omit({ timeline: true, spec: true }).extend({ purpose: z.string(), parties: z.array(z.string()) }),
  ),
});

export type LiveProgress = { step: JobView['steps'][number]['name']; attempt: number; progress: StepProgress } | null;

/** The view of `record` at party `self`; a running step's own timeline entry shows its live counters. */
export function describeJob(
  record: JobRecord,
  self: string,
  timeline: readonly TimelineEntry[],
  live: LiveProgress,
): JobView {
  const progress =
    live === null
      ? null
      : {
          step: live.step,
          attempt: live.attempt,
          rows: live.progress.rows,
          total: live.progress.total,
          fraction:
            live.progress.total === null || live.progress.total === 0
              ? null
              : Math.min(1, live.progress.rows / live.progress.total),
          ...(live.progress.metrics === undefined ? {} : { metrics: live.progress.metrics }),
        };
  const entries = timeline.map((e) =>
    live !== null && e.party === self && e.step === live.step && e.attempt === live.attempt && e.status === 'running'
      ? {
          ...e,
          rows: live.progress.rows,
          rowsTotal: live.progress.total,
          bytesIn: live.progress.bytesIn,
          bytesOut: live.progress.bytesOut,
        }
      : e,
  );
  return {
    id: record.spec.id,
    self,
    role: record.spec.coordinator === self ? 'coordinator' : 'participant',
    status: record.state.status,
    spec: record.spec,
    acceptedBy: record.state.acceptedBy,
    steps: record.state.steps,
    attempt: record.state.attempt,
    failure: record.state.failure,
    traceId: parseTraceparent(record.traceparent)?.traceId ?? null,
    progress,
    timeline: entries,
    output: record.output,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
  };
}
