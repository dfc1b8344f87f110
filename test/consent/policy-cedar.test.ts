// Cedar scene-data-action policies, evaluated by the real engine: strict validation rejects bad bundles
// with named problems; forbid beats permit; errors and missing permits deny.
import { describe, expect, it } from 'vitest';
import { compilePolicyBundle } from '../../consent/cedar.ts';
import type { CedarRequest } from '../../consent/cedar.ts';
import { DEFAULT_POLICY_BUNDLE } from '../../consent/default-policy-bundle.ts';
import type { PolicyBundle } from '../../consent/policy-set.ts';
import { GatewayError } from '../../core/errors.ts';

const authorizer = compilePolicyBundle(DEFAULT_POLICY_BUNDLE);

function compileError(bundle: PolicyBundle): GatewayError {
  try {
    compilePolicyBundle(bundle);
  } catch (error) {
    expect(error).toBeInstanceOf(GatewayError);
    return error as GatewayError;
  }
  throw new Error('expected POLICY_INVALID');
}

const director = { type: 'User', id: 'u-wang', attrs: { role: 'regional-director', region: 'east' } };
function dataset(region: string, classification = 'sales') {
  return {
    type: 'Dataset',
    id: `ds-${region}-${classification}`,
    attrs: { owner: 'dealer-4s', region, classification },
  };
}
function request(
  principal: CedarRequest['principal'],
  action: string,
  resource: CedarRequest['resource'],
  scene = 'reporting',
): CedarRequest {
  return { principal, action, resource, context: { purpose: 'regional-operations', scene } };
}

describe('compilePolicyBundle', () => {
  it('rejects policy text that does not parse, with the line of the problem', () => {
    const error = compileError({
      ...DEFAULT_POLICY_BUNDLE,
      policies: '@id("a")\npermit(principal, action, resource)\nwhen { principal.role == };',
    });
    expect(error.code).toBe('POLICY_INVALID');
    expect(error.detail['errors']).toEqual([
      { file: 'policies.cedar', message: expect.stringContaining('unexpected token'), line: 3 },
    ]);
  });
  it('rejects a policy that reads an attribute the schema does not declare, naming the policy', () => {
    const policies = `${DEFAULT_POLICY_BUNDLE.policies}\n@id("uses-unknown-attr")\npermit (principal is User, action == Action::"read", resource is Dataset)\nwhen { resource.secret_level == "low" };\n`;
    const error = compileError({ ...DEFAULT_POLICY_BUNDLE, policies });
    expect(error.code).toBe('POLICY_INVALID');
    expect(error.message).toContain('uses-unknown-attr');
    const errors = error.detail['errors'] as Array<Record<string, unknown>>;
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({
      file: 'policies.cedar',
      policyId: 'uses-unknown-attr',
      message: expect.stringContaining('secret_level'),
    });
    expect(errors[0]?.['line']).toBe(policies.split('\n').indexOf('@id("uses-unknown-attr")') + 1);
  });
  it('rejects an undeclared action and a type error under strict validation', () => {
    const policies =
      '@id("x")\npermit (principal, action == Action::"delete", resource);\n@id("y")\npermit (principal is User, action, resource is Dataset) when { principal.region > 3 };';
    const errors = compileError({ ...DEFAULT_POLICY_BUNDLE, policies }).detail['errors'] as Array<{ policyId: string }>;
    expect(errors.map((e) => e.policyId).sort()).toEqual(['x', 'y']);
  });
  it('requires a unique @id on every policy', () => {
    const missing = compileError({ ...DEFAULT_POLICY_BUNDLE, policies: 'permit (principal, action, resource);' });
    expect(missing.detail['errors']).toEqual([
      { file: 'policies.cedar', message: expect.stringContaining('@id'), line: 1 },
    ]);
    const dup = compileError({
      ...DEFAULT_POLICY_BUNDLE,
      policies: '@id("a")\npermit (principal, action, resource);\n@id("a")\nforbid (principal, action, resource);',
    });
    expect(dup.detail['errors']).toEqual([
      { file: 'policies.cedar', message: 'duplicate @id "a"', policyId: 'a', line: 3 },
    ]);
  });
  it('rejects a schema that does not parse', () => {
    const error = compileError({ ...DEFAULT_POLICY_BUNDLE, schema: 'entity Partner { role: String ' });
    expect(error.code).toBe('POLICY_INVALID');
    expect((error.detail['errors'] as Array<{ file: string }>)[0]?.file).toBe('schema.cedarschema');
  });
  it('rejects a purpose whose action the schema does not declare', () => {
    const purposes = {
      ...DEFAULT_POLICY_BUNDLE.purposes,
      marketing: { ...DEFAULT_POLICY_BUNDLE.purposes['marketing']!, actions: ['aggregate', 'export'] },
    };
    const error = compileError({ ...DEFAULT_POLICY_BUNDLE, purposes });
    expect(error.detail['errors']).toEqual([{ file: 'purposes.json', message: expect.stringContaining('"export"') }]);
  });
  it('gives equal bundles equal versions and different bundles different ones', () => {
    expect(compilePolicyBundle(structuredClone(DEFAULT_POLICY_BUNDLE)).version).toBe(authorizer.version);
    expect(compilePolicyBundle({ ...DEFAULT_POLICY_BUNDLE, policies: '' }).version).not.toBe(authorizer.version);
  });
});

describe('authorize', () => {
  it('a regional director may read their own region', () => {
    expect(authorizer.authorize(request(director, 'read', dataset('east')))).toEqual({
      decision: 'allow',
      reasons: ['regional-director-own-region'],
      errors: [],
    });
  });
  it("a regional director may not read another region's data", () => {
    expect(authorizer.authorize(request(director, 'read', dataset('west')))).toEqual({
      decision: 'deny',
      reasons: [],
      errors: [],
    });
  });
  it('a regional director may modify own-region data but not HQ pricing policy: forbid beats permit', () => {
    expect(authorizer.authorize(request(director, 'modify', dataset('east'))).decision).toBe('allow');
    expect(authorizer.authorize(request(director, 'modify', dataset('east', 'hq-pricing')))).toEqual({
      decision: 'deny',
      reasons: ['no-modify-hq-pricing'],
      errors: [],
    });
    expect(authorizer.authorize(request(director, 'read', dataset('east', 'hq-pricing'))).decision).toBe('allow');
  });
  it('partners join only in the joint-modeling scene and never read', () => {
    const insurer = { type: 'Partner', id: 'insurer-a', attrs: { role: 'insurer' } };
    expect(authorizer.authorize(request(insurer, 'join', dataset('east'), 'joint-modeling')).reasons).toEqual([
      'partner-joint-modeling',
    ]);
    expect(authorizer.authorize(request(insurer, 'join', dataset('east'), 'marketing')).decision).toBe('deny');
    expect(authorizer.authorize(request(insurer, 'read', dataset('east'), 'joint-modeling')).decision).toBe('deny');
  });
  it('sensitive data is touched only in a compliance review', () => {
    const officer = { type: 'User', id: 'u-li', attrs: { role: 'compliance-officer', region: 'hq' } };
    expect(
      authorizer.authorize(request(officer, 'read', dataset('east', 'sensitive'), 'compliance-review')).decision,
    ).toBe('allow');
    const steward = { type: 'User', id: 'u-zhao', attrs: { role: 'data-steward', region: 'hq' } };
    expect(authorizer.authorize(request(steward, 'aggregate', dataset('east', 'sensitive'), 'joint-modeling'))).toEqual(
      { decision: 'deny', reasons: ['sensitive-only-in-compliance-review'], errors: [] },
    );
  });
  it('denies with the error when an entity lacks a schema attribute', () => {
    const answer = authorizer.authorize(
      request({ type: 'User', id: 'u-x', attrs: { role: 'regional-director' } }, 'read', dataset('east')),
    );
    expect(answer.decision).toBe('deny');
    expect(answer.errors[0]).toContain('region');
  });
  it('denies an unknown action, an unknown entity type and a non-Long number', () => {
    expect(authorizer.authorize(request(director, 'delete', dataset('east'))).errors[0]).toContain('delete');
    expect(authorizer.authorize(request({ type: 'Robot', id: 'r', attrs: {} }, 'read', dataset('east'))).decision).toBe(
      'deny',
    );
    const fractional = authorizer.authorize(
      request({ ...director, attrs: { ...director.attrs, level: 1.5 } }, 'read', dataset('east')),
    );
    expect(fractional).toEqual({
      decision: 'deny',
      reasons: [],
      errors: ['principal attribute level is not a Cedar String, Long or Boolean'],
    });
  });
  it('denies when a permit errors even if another permit holds (errors fail closed)', () => {
    const schema = `${DEFAULT_POLICY_BUNDLE.schema}\naction poke appliesTo { principal: [User], resource: [Dataset], context: UseContext };\n`;
    const policies = [
      '@id("always")\npermit (principal is User, action == Action::"poke", resource is Dataset);',
      // Overflow is a runtime error the validator cannot rule out.
      '@id("overflows")\npermit (principal is User, action == Action::"poke", resource is Dataset) when { 9223372036854775807 + 1 > 0 };',
    ].join('\n');
    const strict = compilePolicyBundle({ ...DEFAULT_POLICY_BUNDLE, schema, policies });
    const answer = strict.authorize(request(director, 'poke', dataset('east')));
    expect(answer.decision).toBe('deny');
    expect(answer.errors).toEqual([expect.stringMatching(/^overflows: .*overflow/)]);
  });
  it('returns frozen answers so a caller cannot alter a memoized one', () => {
    const answer = authorizer.authorize(request(director, 'read', dataset('east')));
    expect(Object.isFrozen(answer) && Object.isFrozen(answer.reasons)).toBe(true);
  });
});
