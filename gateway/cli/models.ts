// `sealgate models [NAME [VERSION]]`: the model registry of a running gateway. Without a name, the models this party
// holds a part of as a table (GET /v1/models); with one, a model card as JSON (GET /v1/models/{name}, or one version),
// which the gateway audits as a read. Exit codes: 0 printed, 1 refused (401, 403, 404, 400) or unreachable.
import { ModelPart, type ModelSummary } from '../../mpc/vfl/model-store.ts';
import { ModelList } from '../http/routes/model.routes.ts';
import { readGateway as read, renderTable, type ReadOptions } from './gateway-get.ts';

export type ModelsOptions = ReadOptions;

const COLUMNS: { header: string; cell: (m: ModelSummary) => string; isNumeric?: boolean }[] = [
  { header: 'NAME', cell: (m) => m.name },
  { header: 'VERSION', cell: (m) => String(m.version), isNumeric: true },
  { header: 'TASK', cell: (m) => m.task },
  { header: 'ROLE', cell: (m) => m.role },
  { header: 'CREATED', cell: (m) => m.createdAt },
  { header: 'JOB', cell: (m) => m.job },
];

/** The list as aligned columns, a header first; numbers align right. No line ends in spaces. */
export function renderModelTable(models: readonly ModelSummary[]): string[] {
  const rows = [COLUMNS.map((c) => c.header), ...models.map((m) => COLUMNS.map((c) => c.cell(m)))];
  return renderTable(
    rows,
    COLUMNS.map((c) => c.isNumeric === true),
  );
}

/** `sealgate models`: the newest `limit` model parts as a table. */
export async function listModels(limit: number, options: ModelsOptions): Promise<number> {
  const list = await read(`/v1/models?limit=${limit}`, (body) => ModelList.parse(body), options);
  if (list === null) return 1;
  for (const line of renderModelTable(list.models)) options.io.stdout(line);
  return 0;
}

/** `sealgate models NAME [VERSION]`: the card of the model's latest version, or of `version`, as JSON. */
export async function showModel(name: string, version: number | undefined, options: ModelsOptions): Promise<number> {
  const path = `/v1/models/${encodeURIComponent(name)}${version === undefined ? '' : `/versions/${version}`}`;
  const card = await read(path, (body) => ModelPart.parse(body), options);
  if (card === null) return 1;
  options.io.stdout(JSON.stringify(card, null, 2));
  return 0;
}
