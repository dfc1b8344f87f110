// The model registry (migrations owner 'models'): each party stores only its own part of a vertical model, under the
// model's name and a version that grows by one per training job. A part holds this party's weights and scaler, the
// lineage (training job, PSI job, consent basis of the aligned customers, views and columns of every party) and, at
// the guest, the metrics. No part holds another party's weights or any row.
import { z } from 'zod';
import type { Database } from '../../core/database.ts';
import { GatewayError } from '../../core/errors.ts';

const MIGRATIONS = [
  {
    id: '001-models',
    sql: `CREATE TABLE model_parts (
    name VARCHAR NOT NULL,
    version INTEGER NOT NULL,
    job_id VARCHAR NOT NULL UNIQUE,
    document VARCHAR NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (name, version)
  )`,
  },
];

export const ModelPart = z.object({
  name: z.string(),
  version: z.int().min(1),
  task: z.enum(['logistic', 'linear']),
  protocol: z.string(),
  role: z.enum(['guest', 'host']),
  party: z.string(),
  createdAt: z.string(),
  /** This party's feature columns, in weight order; the guest's intercept is `intercept`. */
  features: z.array(z.string()),
  weights: z.array(z.number()),
  intercept: z.number().nullable(),
  scaler: z.strictObject({ means: z.array(z.number()), scales: z.array(z.number()) }),
  /** Linear regression: the guest's label standardization, to turn scores back into label units. */
  labelScaler: z.strictObject({ mean: z.number(), scale: z.number() }).nullable(),
  lineage: z.strictObject({
    trainingJob: z.string(),
    /** The PSI job that aligned a vertical model's rows; null for a horizontal model, which aligns nothing. */
    psiJob: z.string().nullable(),
    purpose: z.string(),
    /** SHA-256 over this party's sorted pseudonyms of the customers trained on: the consent basis it can show. */
    consentBasisRoot: z.string(),
    customers: z.int(),
    parties: z.array(
      z.strictObject({ id: z.string(), role: z.string(), view: z.string(), columns: z.array(z.string()) }),
    ),
    hyperParameters: z.record(z.string(), z.unknown()),
  }),
  /** At the guest: held-out metrics, the guest-only baseline and the lift; null at a host. */
  evaluation: z.record(z.string(), z.unknown()).nullable(),
});
export type ModelPart = z.infer<typeof ModelPart>;

export type ModelSummary = {
  name: string;
  version: number;
  task: string;
  role: string;
  createdAt: string;
  job: string;
};

export type ModelStore = {
  /** Registers this party's part of the model trained by `part.lineage.trainingJob` as the name's next version; the
   * same job again returns the version it already has (a resumed job stores once). */
  register(part: Omit<ModelPart, 'version'>): Promise<ModelPart>;
  get(name: string, version?: number): Promise<ModelPart | undefined>;
  /** The part the training job `job` registered here. */
  byTrainingJob(job: string): Promise<ModelPart | undefined>;
  list(limit: number): Promise<ModelSummary[]>;
};

export async function openModelStore(db: Database): Promise<ModelStore> {
  await db.migrate('models', MIGRATIONS);
  const parse = (row: Record<string, unknown> | undefined) =>
    row === undefined ? undefined : ModelPart.parse(JSON.parse(String(row.document)));
  return {
    async register(part) {
      return db.transaction(async (tx) => {
        const [existing] = await tx.all('SELECT document FROM model_parts WHERE job_id = $1', [
          part.lineage.trainingJob,
        ]);
        if (existing !== undefined) return parse(existing) as ModelPart;
        const [row] = await tx.all('SELECT coalesce(max(version), 0) AS v FROM model_parts WHERE name = $1', [
          part.name,
        ]);
        const stored: ModelPart = { ...part, version: Number(row?.v ?? 0) + 1 };
        await tx.run('INSERT INTO model_parts VALUES ($1, $2, $3, $4, $5)', [
          stored.name,
          stored.version,
          stored.lineage.trainingJob,
          JSON.stringify(ModelPart.parse(stored)),
          stored.createdAt,
        ]);
        return stored;
      });
    },
    async get(name, version) {
      const rows =
        version === undefined
          ? await db.all('SELECT document FROM model_parts WHERE name = $1 ORDER BY version DESC LIMIT 1', [name])
          : await db.all('SELECT document FROM model_parts WHERE name = $1 AND version = $2', [name, version]);
      return parse(rows[0]);
    },
    async byTrainingJob(job) {
      return parse((await db.all('SELECT document FROM model_parts WHERE job_id = $1', [job]))[0]);
    },
    async list(limit) {
      if (!Number.isInteger(limit) || limit < 1) throw new GatewayError('BAD_INPUT', 'limit must be positive');
      const rows = await db.all(
        'SELECT document FROM model_parts ORDER BY created_at DESC, name, version DESC LIMIT $1',
        [limit],
      );
      return rows.map((r) => {
        const part = ModelPart.parse(JSON.parse(String(r.document)));
        return {
          name: part.name,
          version: part.version,
          task: part.task,
          role: part.role,
          createdAt: part.createdAt,
          job: part.lineage.trainingJob,
        };
      });
    },
  };
}
