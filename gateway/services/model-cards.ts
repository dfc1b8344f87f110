// Reading a model card: this party's part of a vertical model (mpc/vfl/model-store.ts) holds weights fitted to the
// aligned customers' data, so reading one is a data access and leaves an audit entry, like reading a job's output.
import { GatewayError } from '../../core/errors.ts';
import type { ModelPart } from '../../mpc/vfl/model-store.ts';
import type { GatewayContext } from './context.ts';

/** What reading a card needs from the gateway context. */
export type ModelCardContext = Pick<GatewayContext, 'models' | 'consent'>;

/**
 * The card of `name` at `version`, or at its latest version. The entry is written before the card is returned and
 * a failure to write it fails the read: a card nobody can later see was read is not served. It is a `job` entry
 * that references the training and PSI jobs, so a compliance officer who follows a job finds every read of the
 * model it produced.
 */
export async function readModelCard(
  ctx: ModelCardContext,
  name: string,
  version: number | undefined,
  actor: string,
): Promise<ModelPart> {
  const card = await ctx.models.get(name, version);
  if (card === undefined)
    throw new GatewayError(
      'NOT_FOUND',
      version === undefined ? 'no such model' : 'no such model version',
      version === undefined ? { model: name } : { model: name, version },
    );
  await ctx.consent.appendAudit({
    kind: 'job',
    actor,
    action: 'model-card-read',
    outcome: 'ok',
    refs: [card.lineage.trainingJob, card.lineage.psiJob].filter((r): r is string => r !== null),
    detail: { model: card.name, version: card.version, role: card.role },
  });
  return card;
}
