// A minimal JSON client for a gateway over a real socket (child-process tests), and the tokens those
// tests issue through the admin API before they kill or stop the gateway.
import type { Role } from '../../gateway/identity/token-store.ts';

export type HttpAnswer = { status: number; body: Record<string, unknown> };

export async function callJson({
  baseUrl,
  method,
  path,
  token,
  body,
  headers = {},
}: {
  baseUrl: string;
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  token: string;
  body?: unknown;
  headers?: Record<string, string>;
}): Promise<HttpAnswer> {
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
}

/** Issues one token per role through POST /v1/tokens; they live in the data directory, so they outlive the process. */
export async function issueTokens<R extends Role>(
  baseUrl: string,
  adminToken: string,
  roles: readonly R[],
): Promise<Record<R, string>> {
  const out = {} as Record<R, string>;
  for (const role of roles) {
    const created = await callJson({
      baseUrl,
      method: 'POST',
      path: '/v1/tokens',
      token: adminToken,
      body: { role, label: `durability ${role}` },
    });
    if (created.status !== 201)
      throw new Error(`token for ${role}: HTTP ${created.status} ${JSON.stringify(created.body)}`);
    out[role] = String(created.body.token);
  }
  return out;
}
