// `sealgate jobs watch ID`: follows a job through GET /v1/jobs/{id} of a running gateway and draws a progress bar
// of the running step until the job ends. Exit codes: 0 completed, 1 failed, cancelled or unreachable.
import { setTimeout as sleep } from 'node:timers/promises';
import { JobView } from '../../mpc/jobs/view.ts';
import { describeFailure } from './gateway-get.ts';

export type WatchIo = {
  stdout: (line: string) => void;
  stderr: (line: string) => void;
  isTty: boolean;
  rewrite?: (line: string) => void;
};

export type WatchOptions = {
  url: string;
  token: string;
  intervalMs: number;
  io: WatchIo;
  /** Consecutive failed polls (gateway down, bad answer) after which watching gives up. */
  maxErrors?: number;
  fetch?: typeof fetch;
};

const BAR_WIDTH = 30;
const group = (n: number) => n.toLocaleString('en-US');

/** One line: a bar of the running step's progress (or of the finished steps), the step, rows and status. */
export function renderProgress(view: JobView): string {
  const done = view.steps.filter((s) => s.status === 'completed').length;
  const fraction = view.status === 'completed' ? 1 : (view.progress?.fraction ?? null);
  // Between steps, or while a total is unknown, the bar shows whole steps done.
  const shown = fraction ?? done / Math.max(1, view.steps.length);
  const filled = Math.round(shown * BAR_WIDTH);
  const bar = `[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}]`;
  const percent = `${String(Math.floor(shown * 100)).padStart(3)}%`;
  const step =
    view.progress === null
      ? `steps ${done}/${view.steps.length}`
      : `${view.progress.step} (attempt ${view.progress.attempt})`;
  const rows =
    view.progress === null
      ? ''
      : `  rows ${group(view.progress.rows)}${view.progress.total === null ? '' : `/${group(view.progress.total)}`}`;
  return `${bar} ${percent}  ${step}${rows}  ${view.status}`;
}

/** What a receiver's count means, by the protocol's output mode. */
function outcomeOf(mode: string, count: number): string {
  const n = group(count);
  switch (mode) {
    case 'intersection':
      return `${n} subjects in the intersection`;
    case 'cardinality':
      return `${n} subjects in the count`;
    case 'statistics':
      return `${n} customers described`;
    case 'model':
      return `model evaluated on ${n} held-out customers`;
    case 'scores':
      return `${n} customers scored`;
    default:
      return `${n} rows (${mode})`;
  }
}

function summary(view: JobView): string {
  if (view.status === 'completed') {
    const output = view.output;
    return `job ${view.id} completed${output === null || output.count === null ? '' : `: ${outcomeOf(output.mode, output.count)}`}`;
  }
  if (view.status === 'failed' && view.failure !== null) {
    const f = view.failure;
    return `job ${view.id} failed: ${f.code}${f.peer === null ? '' : ` (peer ${f.peer})`}${f.step === null ? '' : ` in step ${f.step}`}: ${f.message}`;
  }
  return `job ${view.id} ${view.status}`;
}

export async function watchJob(id: string, options: WatchOptions): Promise<number> {
  const { io } = options;
  const fetchImpl = options.fetch ?? fetch;
  const maxErrors = options.maxErrors ?? 10;
  const url = `${options.url.replace(/\/+$/, '')}/v1/jobs/${encodeURIComponent(id)}`;
  let errors = 0;
  let last = '';
  let lastFailure = '';
  for (;;) {
    let view: JobView | null = null;
    try {
      const res = await fetchImpl(url, {
        headers: { authorization: `Bearer ${options.token}`, accept: 'application/json' },
        signal: AbortSignal.timeout(10_000),
      });
      const body = (await res.json()) as { code?: string; detail?: string };
      if (res.status === 404 || res.status === 401 || res.status === 403) {
        io.stderr(`sealgate: ${res.status} ${body.code ?? ''} ${body.detail ?? ''}`.trim());
        return 1;
      }
      if (res.ok) view = JobView.parse(body);
      else lastFailure = `${res.status} ${body.code ?? ''}`.trim();
    } catch (error) {
      view = null;
      lastFailure = describeFailure(error);
    }
    if (view === null) {
      errors += 1;
      if (errors >= maxErrors) {
        io.stderr(`sealgate: gave up after ${errors} failed polls of ${url}: ${lastFailure}`);
        return 1;
      }
    } else {
      errors = 0;
      const line = renderProgress(view);
      if (line !== last) {
        if (io.isTty && io.rewrite !== undefined) io.rewrite(line);
        else io.stdout(line);
        last = line;
      }
      if (view.status === 'completed' || view.status === 'failed' || view.status === 'cancelled') {
        if (io.isTty && io.rewrite !== undefined) io.stdout('');
        io.stdout(summary(view));
        return view.status === 'completed' ? 0 : 1;
      }
    }
    await sleep(options.intervalMs);
  }
}
