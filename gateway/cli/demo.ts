// `sealgate demo` (also `npm run demo`): the three-partner CLV story in one command (docs/demo.md). Prints each step
// as it runs, with progress bars on a terminal, then a summary table. With --keep the gateways stay up for
// exploration until Ctrl-C; without it, everything the demo started is stopped before it exits.
import { FULL_DEMO, SMALL_DEMO, runDemo, summaryTable, type DemoConfig } from '../demo/demo-run.ts';
import type { DemoIo } from '../demo/demo-story.ts';

export type DemoCommandIo = {
  stdout: (line: string) => void;
  isTty: boolean;
  /** Redraws the current line (a terminal); absent: progress lines are thinned out instead. */
  rewrite?: (line: string) => void;
  /** Resolves when the user asks to stop (Ctrl-C), for --keep. */
  untilInterrupted?: () => Promise<void>;
};

export type DemoOptions = {
  keep?: boolean | undefined;
  small?: boolean | undefined;
  customers?: string | undefined;
  seed?: string | undefined;
  dir?: string | undefined;
};

/** Progress lines on a pipe: at most one per this many milliseconds, so a log stays readable. */
const PIPE_PROGRESS_MS = 2_000;

function wholeNumber(value: string | undefined, name: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new RangeError(`--${name} must be a whole number in ${min}..${max}`);
  return n;
}

export async function runDemoCommand(options: DemoOptions, io: DemoCommandIo): Promise<number> {
  const base = options.small === true ? SMALL_DEMO : FULL_DEMO;
  const config: DemoConfig = {
    ...base,
    customers: wholeNumber(options.customers, 'customers', 200, 200_000) ?? base.customers,
    seed: wholeNumber(options.seed, 'seed', 1, 0xffff_ffff) ?? base.seed,
    dir: options.dir ?? null,
    keep: options.keep === true,
  };
  let lastProgress = 0;
  let isProgressShown = false;
  const endProgress = () => {
    if (isProgressShown && io.rewrite !== undefined) io.stdout('');
    isProgressShown = false;
  };
  const demoIo: DemoIo = {
    line: (text) => {
      endProgress();
      io.stdout(text);
    },
    progress: (text) => {
      if (io.isTty && io.rewrite !== undefined) {
        io.rewrite(`  ${text}`);
        isProgressShown = true;
      } else if (Date.now() - lastProgress >= PIPE_PROGRESS_MS) {
        lastProgress = Date.now();
        io.stdout(`  ${text}`);
      }
    },
  };
  const started = performance.now();
  const { summary, gateways, officerToken } = await runDemo(config, demoIo);
  endProgress();
  io.stdout('');
  io.stdout(`Summary (${((performance.now() - started) / 1000).toFixed(1)} s in all)`);
  for (const line of summaryTable(summary)) io.stdout(line);
  if (gateways === null) {
    io.stdout(`The gateways are stopped; their data stays in ${summary.dir}. Run with --keep to explore them.`);
    return 0;
  }
  io.stdout('');
  io.stdout('The gateways stay up (Ctrl-C stops them):');
  for (const [party, url] of Object.entries(summary.urls)) io.stdout(`  ${party.padEnd(12)} ${url}`);
  io.stdout(`  chain        ${summary.rpcUrl}`);
  io.stdout('');
  io.stdout(`The dealer's compliance console: ${summary.urls['dealer-4s'] ?? ''}/console`);
  io.stdout(
    `  sign in with its compliance officer token (demo only; it is printed nowhere else): ${officerToken ?? ''}`,
  );
  await (io.untilInterrupted ?? (() => Promise.resolve()))();
  await gateways.close();
  return 0;
}
