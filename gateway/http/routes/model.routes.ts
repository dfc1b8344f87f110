// The vertical-model registry over HTTP (docs/jobs.md, "Model registry"): the models this party holds a part of, and
// each part's model card. Only this gateway's own part is here; no party holds another's weights. Reading a card is
// audited (gateway/services/model-cards.ts); the list names models and jobs only, like GET /v1/jobs, and is not.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ModelPart } from '../../../mpc/vfl/model-store.ts';
import { VflParams } from '../../../mpc/vfl/vfl-params.ts';
import { readModelCard, type ModelCardContext } from '../../services/model-cards.ts';
import { actorOf } from './request-actor.ts';

const READ = { roles: ['data-steward', 'compliance-officer', 'admin'] } as const;

/** The names a training job registers its model under (its `model` parameter). */
const ModelName = VflParams.shape.model.unwrap();
/** Versions are a DuckDB INTEGER: a larger number could never name one, and would fail to bind as a parameter. */
const ModelVersion = z.coerce
  .number()
  .int()
  .min(1)
  .max(2 ** 31 - 1);

const ModelParams = z.strictObject({ name: ModelName });
const VersionParams = z.strictObject({ name: ModelName, version: ModelVersion });
const ListQuery = z.strictObject({ limit: z.coerce.number().int().min(1).max(500).default(50) });

export const ModelSummary = z.object({
  name: z.string(),
  version: z.int(),
  task: ModelPart.shape.task,
  role: ModelPart.shape.role,
  createdAt: z.string(),
  /** The training job that produced this version. */
  job: z.string(),
});
/** The list's answer; `sealgate models` reads it too. */
export const ModelList = z.object({ models: z.array(ModelSummary) });

export function registerModelRoutes(app: FastifyInstance, ctx: ModelCardContext): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['models'];

  api.get(
    '/v1/models',
    {
      config: READ,
      schema: {
        summary: "This party's model parts, newest first: name, version, task, role and the training job",
        tags,
        querystring: ListQuery,
        response: { 200: ModelList },
      },
    },
    // The store types task and role as strings; its documents were parsed as ModelPart, so the enums hold.
    async (request) => ModelList.parse({ models: await ctx.models.list(request.query.limit) }),
  );

  api.get(
    '/v1/models/:name',
    {
      config: READ,
      schema: {
        summary:
          "The model card of a model's latest version: this party's weights and scaler, the lineage and, at the guest, the metrics",
        tags,
        params: ModelParams,
        response: { 200: ModelPart },
      },
    },
    async (request) => readModelCard(ctx, request.params.name, undefined, actorOf(request)),
  );

  api.get(
    '/v1/models/:name/versions/:version',
    {
      config: READ,
      schema: {
        summary: 'The model card of one version of a model',
        tags,
        params: VersionParams,
        response: { 200: ModelPart },
      },
    },
    async (request) => readModelCard(ctx, request.params.name, request.params.version, actorOf(request)),
  );
}
