// The differential-privacy budget of each dataset (connector view) and purpose, kept by the party whose data it
// protects (migrations owner 'privacy-budget'). A joint-statistics job with `epsilon` spends it at the feature holder
// before any noisy aggregate leaves: each attempt that releases aggregates spends once (a retried attempt releases
// fresh noise, so it spends again). A spend that would pass the purpose's `epsilonBudget` is refused with
// PRIVACY_BUDGET_EXCEEDED, and the job fails with that code, which the audit chain records.
import type { Database } from '../../core/database.ts';
import { GatewayError } from '../../core/errors.ts';

const MIGRATIONS = [
  {
    id: '001-privacy-budget',
    sql: `CREATE TABLE privacy_budget_spends (
    view VARCHAR NOT NULL,
    purpose VARCHAR NOT NULL,
    job_id VARCHAR NOT NULL,
    attempt INTEGER NOT NULL,
    epsilon DOUBLE NOT NULL,
    spent_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (view, purpose, job_id, attempt)
  )`,
  },
];

export type BudgetSpend = { view: string; purpose: string; job: string; attempt: number; epsilon: number };

export type PrivacyBudget = {
  /**
   * Records `spend` unless it would take the total of (view, purpose) past `budget`: durable when it resolves. The
   * same job attempt again spends nothing more. Throws PRIVACY_BUDGET_EXCEEDED.
   */
  spend(spend: BudgetSpend, budget: number, at: Date): Promise<{ spent: number; remaining: number }>;
  spent(view: string, purpose: string): Promise<number>;
};

export async function openPrivacyBudget(db: Database): Promise<PrivacyBudget> {
  await db.migrate('privacy-budget', MIGRATIONS);
  const total = async (q: { all: Database['all'] }, view: string, purpose: string) => {
    const [row] = await q.all(
      'SELECT coalesce(sum(epsilon), 0) AS spent FROM privacy_budget_spends WHERE view = $1 AND purpose = $2',
      [view, purpose],
    );
    return Number(row?.spent ?? 0);
  };
  return {
    spent: (view, purpose) => total(db, view, purpose),
    async spend(spend, budget, at) {
      if (!(spend.epsilon > 0) || !Number.isFinite(spend.epsilon)) throw new RangeError('epsilon must be positive');
      return db.transaction(async (tx) => {
        const [again] = await tx.all(
          'SELECT 1 FROM privacy_budget_spends WHERE view = $1 AND purpose = $2 AND job_id = $3 AND attempt = $4',
          [spend.view, spend.purpose, spend.job, spend.attempt],
        );
        const spent = await total(tx, spend.view, spend.purpose);
        if (again !== undefined) return { spent, remaining: budget - spent };
        // A little slack for floating-point sums of many small spends.
        if (spent + spend.epsilon > budget + 1e-9)
          throw new GatewayError(
            'PRIVACY_BUDGET_EXCEEDED',
            `the job would spend epsilon ${spend.epsilon} of view ${spend.view} for purpose ${spend.purpose}, ` +
              `which has ${Math.max(0, budget - spent)} left of ${budget}`,
            { view: spend.view, purpose: spend.purpose, epsilon: spend.epsilon, spent, budget },
          );
        await tx.run('INSERT INTO privacy_budget_spends VALUES ($1, $2, $3, $4, $5, $6)', [
          spend.view,
          spend.purpose,
          spend.job,
          spend.attempt,
          spend.epsilon,
          at.toISOString(),
        ]);
        return { spent: spent + spend.epsilon, remaining: budget - spent - spend.epsilon };
      });
    },
  };
}
