// The parameters of a PSI job (docs/psi.md, docs/jobs.md): the output mode, and the receiver sets the PSI core offers.
import { z } from 'zod';
import type { JobRequestLike } from '../jobs/job.ts';

export const PsiJobMode = z.enum(['intersection', 'cardinality']);
export type PsiJobMode = z.infer<typeof PsiJobMode>;
export const PsiJobParams = z.strictObject({ mode: PsiJobMode });
export type PsiJobParams = z.infer<typeof PsiJobParams>;

/** PSI's rules on a job beyond every job's: who may receive the output, and how many parties cardinality takes. */
export function checkPsiJob(job: JobRequestLike, ctx: z.RefinementCtx): void {
  const ids = job.parties.map((p) => p.id);
  const guest = job.parties.find((p) => p.role === 'guest')?.id;
  // The initiator always learns the output; the responders learn it all together or not at all (docs/psi.md).
  const isGuestOnly = job.receivers.length === 1 && job.receivers[0] === guest;
  const isEveryone = job.receivers.length === ids.length && ids.every((id) => job.receivers.includes(id));
  if (!isGuestOnly && !isEveryone)
    ctx.addIssue({ code: 'custom', path: ['receivers'], message: 'receivers must be the guest alone or every party' });
  if (job.params.mode === 'cardinality' && job.parties.length !== 2) {
    ctx.addIssue({
      code: 'custom',
      path: ['params', 'mode'],
      message: 'cardinality mode supports exactly two parties',
    });
  }
}
