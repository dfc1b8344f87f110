// One authenticated GET against a running gateway's API, for the commands that read it (`jobs watch`, `models`), and
// why a read failed in words an operator can act on: fix the URL, the token, or the gateway.
import { z } from 'zod';

/** How long a command waits for the gateway's answer. */
const ANSWER_TIMEOUT_MS = 10_000;

export type GatewayAnswer = { status: number; body: unknown };

/** GETs `url` with the bearer token and reads the JSON answer, whatever its status. */
export async function getJson(url: string, token: string, fetchImpl: typeof fetch = fetch): Promise<GatewayAnswer> {
  const res = await fetchImpl(url, {
    headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
    signal: AbortSignal.timeout(ANSWER_TIMEOUT_MS),
  });
  return { status: res.status, body: await res.json() };
}

/** A refusal as one line: the status, and the problem document's code and detail when the answer is one. */
export function describeRefusal({ status, body }: GatewayAnswer): string {
  const problem = (body ?? {}) as { code?: unknown; detail?: unknown };
  const code = typeof problem.code === 'string' ? problem.code : '';
  const detail = typeof problem.detail === 'string' ? problem.detail : '';
  return `${status} ${code} ${detail}`.trim();
}

/** Why a read failed: the connection error's code, a timeout, an answer that is not JSON or not the expected shape. */
export function describeFailure(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } } | null)?.cause;
  if (typeof cause?.code === 'string') return `cannot connect (${cause.code})`;
  if (typeof cause?.message === 'string') return `cannot connect (${cause.message})`;
  if (error instanceof Error && error.name === 'TimeoutError') return `no answer within ${ANSWER_TIMEOUT_MS / 1000} s`;
  if (error instanceof SyntaxError) return 'the answer is not JSON';
  if (error instanceof z.ZodError) return 'the answer is not what this version of sealgate expects';
  return error instanceof Error ? error.message : String(error);
}

export type ReadOptions = {
  url: string;
  token: string;
  io: { stdout: (line: string) => void; stderr: (line: string) => void };
  fetch?: typeof fetch;
};

/** Reads `path` of the gateway and parses the answer, or says on stderr why not and resolves to null. */
export async function readGateway<T>(
  path: string,
  parse: (body: unknown) => T,
  options: ReadOptions,
): Promise<T | null> {
  const url = `${options.url.replace(/\/+$/, '')}${path}`;
  try {
    const answer = await getJson(url, options.token, options.fetch);
    if (answer.status === 200) return parse(answer.body);
    options.io.stderr(`sealgate: ${describeRefusal(answer)}`);
  } catch (error) {
    options.io.stderr(`sealgate: could not read ${url}: ${describeFailure(error)}`);
  }
  return null;
}

/** Rows as aligned columns, the first row a header; numeric columns align right. No line ends in spaces. */
export function renderTable(rows: readonly (readonly string[])[], isNumeric: readonly boolean[] = []): string[] {
  const widths = (rows[0] ?? []).map((_, i) => Math.max(...rows.map((row) => (row[i] ?? '').length)));
  return rows.map((row) =>
    row
      .map((text, i) => (isNumeric[i] === true ? text.padStart(widths[i]!) : text))
      .map((text, i) => (i === row.length - 1 ? text : text.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd(),
  );
}
