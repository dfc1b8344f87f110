// Sets a running gateway up for load over its public HTTP API only, as an operator would: role tokens issued by
// the admin, subjects granted by a collector, the insurer's delegation by a steward. Any non-2xx stops the run.
import { decisionBody, delegationBody, grantBody } from './request-bodies.ts';

export type Tokens = { collector: string; steward: string; officer: string };
export type Verification = { ok: boolean; events?: number; audit?: number; [key: string]: unknown };

const SETUP_CONCURRENCY = 64;

export const jsonHeaders = (token: string): Record<string, string> => ({
  'authorization': `Bearer ${token}`,
  'content-type': 'application/json',
});

async function call({
  base,
  method,
  path,
  token,
  body,
}: {
  base: string;
  method: string;
  path: string;
  token: string;
  body?: unknown;
}): Promise<{ status: number; text: string }> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? { authorization: `Bearer ${token}` } : jsonHeaders(token),
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  if (response.status < 200 || response.status > 299)
    throw new Error(`${method} ${path} answered ${response.status}: ${text.slice(0, 500)}`);
  return { status: response.status, text };
}

export async function issueTokens(base: string, adminToken: string): Promise<Tokens> {
  const issue = async (role: string) =>
    (
      JSON.parse(
        (await call({ base, method: 'POST', path: '/v1/tokens', token: adminToken, body: { role, label: 'bench' } }))
          .text,
      ) as {
        token: string;
      }
    ).token;
  return {
    collector: await issue('collector'),
    steward: await issue('data-steward'),
    officer: await issue('compliance-officer'),
  };
}

/** Grants `count` subjects (a few dozen requests in flight) and returns their pseudonyms and one grant response. */
export async function grantSubjects(
  base: string,
  tokens: Tokens,
  count: number,
): Promise<{ subjects: string[]; sampleRecord: unknown }> {
  const subjects = new Array<string>(count);
  let sampleRecord: unknown;
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(SETUP_CONCURRENCY, count) }, async () => {
      while (next < count) {
        const i = next++;
        const { record } = JSON.parse(
          (
            await call({
              base,
              method: 'POST',
              path: '/v1/consents',
              token: tokens.collector,
              body: grantBody(`setup-subject-${i}`),
            })
          ).text,
        ) as {
          record: { subject: string };
        };
        subjects[i] = record.subject;
        sampleRecord ??= record;
      }
    }),
  );
  return { subjects, sampleRecord };
}

export async function delegate(base: string, tokens: Tokens): Promise<void> {
  await call({ base, method: 'POST', path: '/v1/delegations', token: tokens.steward, body: delegationBody() });
}

/** One real decision response, exactly as the gateway serializes it: the size the bare baseline must answer with. */
export async function sampleDecision(base: string, tokens: Tokens, subjects: readonly string[]): Promise<string> {
  const { text } = await call({
    base,
    method: 'POST',
    path: '/v1/decisions',
    token: tokens.steward,
    body: decisionBody(subjects, 0),
  });
  if ((JSON.parse(text) as { decision: string }).decision !== 'permit')
    throw new Error(`sample decision was not a permit: ${text}`);
  return text;
}

export async function verifyAudit(base: string, tokens: Tokens): Promise<Verification> {
  return JSON.parse(
    (await call({ base, method: 'GET', path: '/v1/audit/verify', token: tokens.officer })).text,
  ) as Verification;
}
