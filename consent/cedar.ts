// Cedar 4 policy evaluation (https://docs.cedarpolicy.com): compiles a policy bundle against its schema
// in strict validation mode and answers scene-data-action requests. The only module importing cedar-wasm.
//
// Memoization. A raw statefulIsAuthorized call costs ~120-180 µs here (schema request validation on),
// far above the decision budget (p50 ≤ 50 µs). Cedar evaluation is a pure function of (policies,
// schema, request, entities), so answers are memoized in a bounded LRU keyed by the canonical JSON of the
// exact request: principal and resource uids with every attribute, the action and the whole context.
// The memo lives inside one Authorizer, and an Authorizer is bound to one compiled bundle version, so a
// reload (new Authorizer) starts with an empty memo: that is the invalidation. The context carries only
// what Cedar needs (purpose, scene): subject pseudonyms and time stay out, both to keep hit rates high and
// because Cedar must not see subjects. Exceptions thrown by the engine are never memoized.
// The engine keeps preparsed sets per thread: compile in the thread that authorizes (elsewhere it denies).
import {
  checkParseSchema,
  policySetTextToParts,
  policyToJson,
  preparsePolicySet,
  preparseSchema,
  schemaToJson,
  statefulIsAuthorized,
  validate,
} from '@cedar-policy/cedar-wasm/nodejs';
import type { AuthorizationAnswer, DetailedError } from '@cedar-policy/cedar-wasm/nodejs';
import { GatewayError } from '../core/errors.ts';
import { canonicalHash } from './canonical.ts';
import { createLruCache } from './lru-cache.ts';
import { POLICY_FILES, PolicyBundle } from './policy-set.ts';

export type CedarValue = string | number | boolean;
export type CedarEntity = { type: string; id: string; attrs?: Readonly<Record<string, CedarValue>> | undefined };
export type CedarRequest = {
  principal: CedarEntity;
  action: string;
  resource: CedarEntity;
  context: Readonly<Record<string, CedarValue>>;
};
export type CedarAnswer = {
  readonly decision: 'allow' | 'deny';
  /** Ids (the @id annotation) of the policies Cedar found determining. */
  readonly reasons: readonly string[];
  /** Any error means the answer is deny, whatever Cedar decided (fail closed). */
  readonly errors: readonly string[];
};
export type Authorizer = {
  /** SHA-256 over the RFC 8785 form of the bundle: equal bundles share a version. */
  readonly version: string;
  authorize(request: CedarRequest): CedarAnswer;
  memoStats(): { hits: number; misses: number; size: number };
};

export type PolicyProblem = { file: string; message: string; policyId?: string; line?: number };

/** The entity types the decision point sends; a schema without them could only ever deny. */
const REQUIRED_ENTITY_TYPES = ['Partner', 'User', 'Dataset'] as const;
const POLICY_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
export const DEFAULT_MEMO_SIZE = 10_000;

function describe(error: DetailedError): string {
  return error.help ? `${error.message} (${error.help})` : error.message;
}

function lineOf(text: string, offset: number | undefined): number | undefined {
  if (offset === undefined || offset < 0) return undefined;
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

function problem(
  file: string,
  message: string,
  extra: { policyId?: string | undefined; line?: number | undefined } = {},
): PolicyProblem {
  const out: PolicyProblem = { file, message };
  if (extra.policyId !== undefined) out.policyId = extra.policyId;
  if (extra.line !== undefined) out.line = extra.line;
  return out;
}

function fileOf(path: readonly PropertyKey[]): string {
  const head = path[0];
  return head === 'schema' || head === 'policies' || head === 'purposes' ? POLICY_FILES[head] : 'bundle';
}

function fail(problems: PolicyProblem[]): never {
  const first = problems[0];
  const summary = first
    ? `${first.policyId ? `policy ${first.policyId}: ` : `${first.file}: `}${first.message}`
    : 'invalid';
  throw new GatewayError('POLICY_INVALID', `policy bundle is invalid: ${summary}`, { errors: problems });
}

/** Split the policy text and key each policy by its @id annotation, which must be present and unique. */
function keyPoliciesById(text: string): Record<string, string> {
  const parts = policySetTextToParts(text);
  if (parts.type === 'failure') {
    fail(
      parts.errors.map((e) =>
        problem(POLICY_FILES.policies, describe(e), { line: lineOf(text, e.sourceLocations?.[0]?.start) }),
      ),
    );
  }
  const problems: PolicyProblem[] = [];
  if (parts.policy_templates.length > 0)
    problems.push(problem(POLICY_FILES.policies, 'policy templates are not supported'));
  const byId: Record<string, string> = {};
  for (const policy of parts.policies) {
    const at = text.indexOf(policy);
    const line = lineOf(text, at);
    const json = policyToJson(policy);
    const id = json.type === 'success' ? json.json.annotations?.['id'] : undefined;
    if (id === undefined || !POLICY_ID.test(id)) {
      problems.push(
        problem(POLICY_FILES.policies, 'every policy needs an @id("...") annotation of letters, digits, . _ : -', {
          line,
        }),
      );
    } else if (Object.hasOwn(byId, id)) {
      problems.push(problem(POLICY_FILES.policies, `duplicate @id "${id}"`, { policyId: id, line }));
    } else {
      byId[id] = policy;
    }
  }
  if (problems.length > 0) fail(problems);
  return byId;
}

/** Purpose actions and decision entity types must exist in the schema, or those decisions always deny. */
function checkSchemaCoverage(bundle: PolicyBundle): PolicyProblem[] {
  const json = schemaToJson(bundle.schema);
  if (json.type === 'failure') return json.errors.map((e) => problem(POLICY_FILES.schema, describe(e)));
  const root = json.json[''];
  const problems: PolicyProblem[] = [];
  for (const type of REQUIRED_ENTITY_TYPES) {
    if (root === undefined || !Object.hasOwn(root.entityTypes, type)) {
      problems.push(problem(POLICY_FILES.schema, `entity type ${type} must be declared in the top-level namespace`));
    }
  }
  for (const [purposeId, purpose] of Object.entries(bundle.purposes)) {
    for (const action of purpose.actions) {
      if (root === undefined || !Object.hasOwn(root.actions, action)) {
        problems.push(
          problem(
            POLICY_FILES.purposes,
            `purpose ${purposeId} allows action "${action}", which the schema does not declare`,
          ),
        );
      }
    }
  }
  return problems;
}

/**
 * Check a bundle (schema parse, policy parse, strict validation against the schema, purpose actions
 * declared) and load it into the engine. Throws POLICY_INVALID with `detail.errors` listing each problem
 * with its file, policy id and line where known.
 */
export function compilePolicyBundle(input: PolicyBundle, options: { memoSize?: number } = {}): Authorizer {
  const shape = PolicyBundle.safeParse(input);
  if (!shape.success) {
    fail(
      shape.error.issues.map((issue) =>
        problem(fileOf(issue.path), `${issue.path.map(String).join('.')}: ${issue.message}`),
      ),
    );
  }
  const bundle = shape.data;
  const schemaCheck = checkParseSchema(bundle.schema);
  if (schemaCheck.type === 'failure') {
    fail(
      schemaCheck.errors.map((e) =>
        problem(POLICY_FILES.schema, describe(e), { line: lineOf(bundle.schema, e.sourceLocations?.[0]?.start) }),
      ),
    );
  }
  const staticPolicies = keyPoliciesById(bundle.policies);
  const validation = validate({
    schema: bundle.schema,
    policies: { staticPolicies },
    validationSettings: { mode: 'strict' },
  });
  const problems: PolicyProblem[] = [];
  if (validation.type === 'failure') {
    problems.push(...validation.errors.map((e) => problem(POLICY_FILES.policies, describe(e))));
  } else {
    for (const { policyId, error } of validation.validationErrors) {
      const line = Object.hasOwn(staticPolicies, policyId)
        ? lineOf(bundle.policies, bundle.policies.indexOf(staticPolicies[policyId] as string))
        : undefined;
      problems.push(problem(POLICY_FILES.policies, describe(error), { policyId, line }));
    }
  }
  problems.push(...checkSchemaCoverage(bundle));
  if (problems.length > 0) fail(problems);

  const version = canonicalHash(bundle);
  // Preparsed sets live in the engine's thread-local store and cannot be freed; keying them by content
  // means recompiling an unchanged bundle reuses the slot, and only genuinely new versions add one.
  const engineId = `sealgate-${version}`;
  const preparsed = preparsePolicySet(engineId, { staticPolicies });
  const preparsedSchema = preparseSchema(engineId, bundle.schema);
  if (preparsed.type === 'failure' || preparsedSchema.type === 'failure') {
    const errors = [
      ...(preparsed.type === 'failure' ? preparsed.errors : []),
      ...(preparsedSchema.type === 'failure' ? preparsedSchema.errors : []),
    ];
    fail(errors.map((e) => problem(POLICY_FILES.policies, describe(e))));
  }
  return createAuthorizer(version, engineId, options.memoSize ?? DEFAULT_MEMO_SIZE);
}

function deny(errors: string[], reasons: readonly string[] = []): CedarAnswer {
  return Object.freeze({ decision: 'deny', reasons: Object.freeze([...reasons]), errors: Object.freeze(errors) });
}

/**
 * Canonical key of a request: a fixed-position JSON array with attributes sorted by name. JSON string
 * escaping makes it injective. Returns an error message instead when a value is not a Cedar
 * String/Long/Boolean, so such requests are denied before reaching the engine.
 */
function requestKey(request: CedarRequest): string | { error: string } {
  const parts: unknown[] = [
    request.principal.type,
    request.principal.id,
    request.action,
    request.resource.type,
    request.resource.id,
  ];
  for (const [label, attrs] of [
    ['principal', request.principal.attrs],
    ['resource', request.resource.attrs],
    ['context', request.context],
  ] as const) {
    const flat: unknown[] = [];
    if (attrs !== undefined) {
      for (const name of Object.keys(attrs).sort()) {
        const value = attrs[name];
        if (
          typeof value === 'number'
            ? !Number.isSafeInteger(value)
            : typeof value !== 'string' && typeof value !== 'boolean'
        ) {
          return { error: `${label} attribute ${name} is not a Cedar String, Long or Boolean` };
        }
        flat.push(name, value);
      }
    }
    parts.push(flat);
  }
  return JSON.stringify(parts);
}

function toAnswer(result: AuthorizationAnswer): CedarAnswer {
  if (result.type === 'failure') return deny(result.errors.map(describe));
  const { decision, diagnostics } = result.response;
  const errors = diagnostics.errors.map((e) => `${e.policyId}: ${describe(e.error)}`);
  if (errors.length > 0 || decision !== 'allow') return deny(errors, diagnostics.reason);
  return Object.freeze({
    decision: 'allow',
    reasons: Object.freeze([...diagnostics.reason]),
    errors: Object.freeze([]),
  });
}

function createAuthorizer(version: string, engineId: string, memoSize: number): Authorizer {
  const memo = createLruCache<CedarAnswer>(memoSize);
  let hits = 0;
  let misses = 0;
  return {
    version,
    authorize(request) {
      const key = requestKey(request);
      if (typeof key !== 'string') return deny([key.error]);
      const cached = memo.get(key);
      if (cached !== undefined) {
        hits++;
        return cached;
      }
      misses++;
      let result: AuthorizationAnswer;
      try {
        result = statefulIsAuthorized({
          principal: { type: request.principal.type, id: request.principal.id },
          action: { type: 'Action', id: request.action },
          resource: { type: request.resource.type, id: request.resource.id },
          context: { ...request.context },
          entities: [
            {
              uid: { type: request.principal.type, id: request.principal.id },
              attrs: { ...request.principal.attrs },
              parents: [],
            },
            {
              uid: { type: request.resource.type, id: request.resource.id },
              attrs: { ...request.resource.attrs },
              parents: [],
            },
          ],
          preparsedPolicySetId: engineId,
          preparsedSchemaName: engineId,
          validateRequest: true,
        });
      } catch (cause) {
        return deny([`cedar engine threw: ${cause instanceof Error ? cause.message : String(cause)}`]);
      }
      const answer = toAnswer(result);
      memo.set(key, answer);
      return answer;
    },
    memoStats: () => ({ hits, misses, size: memo.size }),
  };
}
