// How the demo talks to its gateways: over their real HTTP API, with bearer tokens, as any client would. A refusal
// comes back as an error carrying the problem document's code and detail.
export class DemoApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly request: string;
  constructor(status: number, code: string, detail: string, request: string) {
    super(`${request}: ${status} ${code}: ${detail}`);
    this.status = status;
    this.code = code;
    this.request = request;
  }
}

export type DemoApi = <T = Record<string, unknown>>(
  method: 'GET' | 'POST' | 'PUT',
  path: string,
  token: string,
  body?: unknown,
) => Promise<T>;

/** Every call has a deadline: a gateway that does not answer fails the demo rather than hanging it. */
const CALL_TIMEOUT_MS = 60_000;

export function demoApi(baseUrl: string): DemoApi {
  return async (method, path, token, body) => {
    const response = await fetch(`${baseUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
    });
    const text = await response.text();
    const parsed = text === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
    if (!response.ok)
      throw new DemoApiError(
        response.status,
        String(parsed.code ?? 'UNKNOWN'),
        `${String(parsed.detail ?? text.slice(0, 200))}${parsed.context === undefined ? '' : ` ${JSON.stringify(parsed.context).slice(0, 600)}`}`,
        `${method} ${path}`,
      );
    return parsed as never;
  };
}
