// What one attempt of a joint-statistics job hands the guest's or a host's side.
import type { HePool } from '../he/he-pool.ts';
import type { Mailbox } from '../jobs/framed-messages.ts';
import type { StepContext } from '../jobs/protocol.ts';
import type { PrivacyBudget } from './privacy-budget.ts';
import type { JointStatsParams } from './stats-params.ts';

export type StatsRun = {
  context: StepContext;
  mailbox: Mailbox;
  params: JointStatsParams;
  pool: HePool;
  /** Where a host spends differential-privacy budget; null when this gateway keeps none. */
  budget: PrivacyBudget | null;
  /** Live counters for the step's progress. */
  progress: { rows: number; bytesOut: number };
};
