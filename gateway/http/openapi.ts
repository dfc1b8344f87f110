// The OpenAPI 3.1 document at /docs/json, written for the client generators and linters partners integrate with
// (Redocly's recommended ruleset, openapi-typescript): a named component for each shared shape, an operationId,
// explicit security and the problem responses (RFC 9457) on every operation, servers and a licence.
import type { SwaggerOptions } from '@fastify/swagger';
import { createJsonSchemaTransform, createJsonSchemaTransformObject } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ConsentRecord } from '../../consent/record.ts';
import { Receipt } from '../../consent/receipt.ts';
import { CATALOGUE, type ErrorCode } from '../../core/errors.ts';
import { JobRequest, JobSpec } from '../../mpc/jobs/job.ts';
import { JobOutputSummary, TimelineEntry } from '../../mpc/jobs/store.ts';
import { JobView } from '../../mpc/jobs/view.ts';
import { ModelPart } from '../../mpc/vfl/model-store.ts';
import { PROBLEM_CONTENT_TYPE, Problem } from './problem.ts';
import { ConsentRecordView, ConsentWriteResult, DelegationView } from './routes/consent-schemas.ts';

/**
 * The shapes a generated client names: each becomes `#/components/schemas/<id>` wherever a route uses it (an
 * `<id>Input` twin where a request takes it). A registry of the shell's own, so the domain schemas carry no HTTP meta.
 */
export const apiSchemas = z.registry<{ id: string }>();
const NAMED: Record<string, z.ZodType> = {
  Problem,
  ConsentRecord,
  Receipt,
  ConsentWriteResult,
  ConsentRecordView,
  DelegationView,
  JobRequest,
  JobSpec,
  JobView,
  TimelineEntry,
  JobOutputSummary,
  ModelPart,
};
for (const [id, schema] of Object.entries(NAMED)) apiSchemas.add(schema, { id });

type Access = 'public' | 'bearer' | 'peer';
type RouteConfig = { public?: boolean; peer?: boolean; roles?: readonly string[] } | undefined;

const accessOf = (config: RouteConfig): Access =>
  config?.public === true ? 'public' : config?.peer === true ? 'peer' : 'bearer';
const SECURITY: Record<Access, Record<string, string[]>[]> = {
  public: [],
  bearer: [{ bearerAuth: [] }],
  peer: [{ peerSignature: [] }],
};

/** `POST /v1/consents/:id/withdraw` → `postV1ConsentsByIdWithdraw`: stable, unique, readable in a generated client. */
export function operationIdOf(method: string, url: string): string {
  const words = url
    .split('/')
    .filter((part) => part !== '')
    .map((part) => (part.startsWith(':') ? `by-${part.slice(1)}` : part))
    .flatMap((part) => part.split(/[-_.]/))
    .filter((word) => word !== '');
  return [method.toLowerCase(), ...words.map((w) => w[0]?.toUpperCase() + w.slice(1))].join('');
}

/** The refusals an operation can answer, by what it takes: every one validates, is rate-limited and may fail. */
function problemCodes(access: Access, url: string, hasBody: boolean): ErrorCode[] {
  const codes: ErrorCode[] = ['BAD_INPUT', 'RATE_LIMITED', 'INTERNAL'];
  if (access === 'bearer') codes.push('UNAUTHENTICATED', 'FORBIDDEN');
  if (access === 'peer') codes.push('BAD_SIGNATURE');
  if (url.includes(':')) codes.push('NOT_FOUND');
  if (hasBody) codes.push('PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE');
  return codes;
}

function problemResponses(codes: readonly ErrorCode[]): Record<string, unknown> {
  const byStatus = new Map<number, string[]>();
  for (const code of codes)
    byStatus.set(CATALOGUE[code].status, [...(byStatus.get(CATALOGUE[code].status) ?? []), code]);
  const schema = { $ref: '#/components/schemas/Problem' };
  return Object.fromEntries(
    [...byStatus].map(([status, of]) => [
      String(status),
      { description: `Problem document: ${of.join(', ')}`, content: { [PROBLEM_CONTENT_TYPE]: { schema } } },
    ]),
  );
}

const zodTransform = createJsonSchemaTransform({ schemaRegistry: apiSchemas });
const zodComponents = createJsonSchemaTransformObject({ schemaRegistry: apiSchemas });

type Document = { paths?: unknown; components?: { schemas?: Record<string, unknown> } };

/**
 * The registry yields an input and an output twin of every named shape; a generated client should see only the
 * components some operation uses, directly or through another component.
 */
function withoutUnusedComponents<T extends Document>(document: T): T {
  const schemas = document.components?.schemas ?? {};
  const used = new Set<string>();
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) return value.forEach(visit);
    if (value === null || typeof value !== 'object') return;
    for (const [key, child] of Object.entries(value)) {
      const id = key === '$ref' && typeof child === 'string' ? child.replace('#/components/schemas/', '') : null;
      if (id !== null && !used.has(id)) {
        used.add(id);
        visit(schemas[id]);
      } else visit(child);
    }
  };
  visit(document.paths);
  const kept = Object.fromEntries(Object.entries(schemas).filter(([id]) => used.has(id)));
  return { ...document, components: { ...document.components, schemas: kept } };
}

/** The options of @fastify/swagger for the gateway's document. */
export function openApiOptions(version: string): SwaggerOptions {
  return {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'sealgate',
        description: 'Privacy-computing gateway: consent enforcement, joint computation, ledger-anchored proofs.',
        version,
        license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
      },
      // The document is served by the gateway it describes: its own origin is the server.
      servers: [{ url: '/', description: 'this gateway' }],
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer', description: 'A token of a role the route accepts' },
          peerSignature: {
            type: 'apiKey',
            in: 'header',
            name: 'x-sealgate-signature',
            description: 'Gateway to gateway: an Ed25519 signature over the request (docs/peer-protocol.md)',
          },
        },
      },
    },
    transform: (input) => {
      const out = zodTransform(input);
      const schema = out.schema as Record<string, unknown> & { hide?: boolean; response?: Record<string, unknown> };
      if (schema.hide === true) return out;
      const access = accessOf(input.route.config as RouteConfig);
      const method = Array.isArray(input.route.method) ? String(input.route.method[0]) : String(input.route.method);
      const codes = problemCodes(access, input.url, schema.body !== undefined);
      return {
        ...out,
        schema: {
          ...schema,
          operationId: operationIdOf(method, input.url),
          security: SECURITY[access],
          // The roles a bearer token must have: what a client needs before it calls, and what a test can pick from.
          ...(access === 'bearer'
            ? { 'x-sealgate-roles': [...((input.route.config as RouteConfig)?.roles ?? [])] }
            : {}),
          response: { ...problemResponses(codes), ...schema.response },
        },
      };
    },
    transformObject: (input) =>
      withoutUnusedComponents(zodComponents(input) as Document) as ReturnType<typeof zodComponents>,
  };
}
