// The compiled request validator (gateway/http/request-validator.ts) may only stand in for zod where it accepts exactly
// what zod accepts. Checked here for every schema the gateway's routes compile, on the hostile requests generated from
// the OpenAPI document and on seeded mutations of them, and on the boundaries where JSON Schema and zod could part:
// lengths of astral and unpaired characters, safe integers, unknown keys at depth, a refinement stated as a keyword.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Fastify, { type FastifySchemaCompiler } from 'fastify';
import { serializerCompiler } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { DecisionRequest } from '../../../consent/decision.ts';
import { compilePlainDataValidator, isPlainDataSchema } from '../../../core/plain-data-validator.ts';
import { requestValidatorCompiler } from '../../../gateway/http/request-validator.ts';
import { registerRoutes } from '../../../gateway/http/routes/index.ts';
import { mutate, prng, REPLACEMENTS } from '../../fixtures/json-mutations.ts';
import { malformedRequests, type OpenApiDocument } from './malformed.ts';
import { makeTestGateway, type TestGateway } from '../../fixtures/gateway-fixture.ts';

const zodAccepts = (schema: z.ZodType, input: unknown) => schema.safeParse(input).success;

describe('which schemas are compiled', () => {
  it('plain data constraints only; anything zod would change or check in code keeps zod', () => {
    const plain = z.strictObject({
      a: z.string().max(3).regex(/^x+$/),
      b: z.int().min(0).optional(),
      c: z.array(z.enum(['p', 'q'])).max(2),
      d: z.union([z.literal('k'), z.boolean(), z.null()]).nullable(),
    });
    expect(isPlainDataSchema(plain)).toBe(true);
    expect(isPlainDataSchema(z.record(z.string().regex(/^k/), z.number().max(1)))).toBe(true);
    const notPlain: [string, z.ZodType][] = [
      ['an object that strips unknown keys', z.object({ a: z.string() })],
      ['a passthrough object', z.looseObject({ a: z.string() })],
      ['a default', z.strictObject({ a: z.string().default('x') })],
      ['a transform', z.string().transform((s) => s.length)],
      ['a trim', z.string().trim()],
      ['a coercion', z.coerce.number()],
      ['a format checked in code', z.url()],
      ['an e-mail address', z.email()],
      ['a pattern with a flag', z.string().regex(/^x$/i)],
      ['a refinement', z.string().refine((s) => s !== 'x')],
      ['a refinement inside an array', z.array(z.int().refine((n) => n % 2 === 0))],
      ['a pipe', z.string().pipe(z.string())],
      [
        'a discriminated union',
        z.discriminatedUnion('k', [z.strictObject({ k: z.literal('a') }), z.strictObject({ k: z.literal('b') })]),
      ],
      ['a tuple', z.tuple([z.string()])],
      ['an unsafe-integer format', z.int32()],
      ['a record keyed by an enum, which needs every key', z.record(z.enum(['a', 'b']), z.string())],
    ];
    for (const [name, schema] of notPlain) expect(isPlainDataSchema(schema), name).toBe(false);
  });

  it('formats zod checks by pattern alone compile, and agree with zod', () => {
    const schemas: [z.ZodType, string[]][] = [
      [
        z.iso.datetime({ offset: true }),
        [
          '2026-02-28T10:00:00Z',
          '2024-02-29T00:00:00.123+08:00',
          '2026-02-29T10:00:00Z',
          '2026-13-01T00:00:00Z',
          '2026-01-01T24:00:00Z',
          '2026-01-01 10:00:00Z',
          '2026-01-01T10:00:00',
          '2026-01-01t10:00:00z',
          '',
        ],
      ],
      [z.iso.datetime(), ['2026-01-01T10:00:00Z', '2026-01-01T10:00:00+01:00', '2026-01-01T10:00:00.5Z']],
      [z.iso.date(), ['2026-01-31', '2026-02-30', '2026-1-1', '20260101']],
      [
        z.uuid(),
        [
          '123e4567-e89b-42d3-a456-426614174000',
          '123E4567-E89B-42D3-A456-426614174000',
          '123e4567-e89b-02d3-a456-426614174000',
          '123e4567e89b42d3a456426614174000',
        ],
      ],
    ];
    for (const [schema, samples] of schemas) {
      const validate = compilePlainDataValidator(schema);
      expect(validate, String(schema.def.type)).not.toBeNull();
      for (const sample of samples) expect(validate?.(sample), sample).toBe(zodAccepts(schema, sample));
    }
  });

  it('a refinement counts only where .meta() states its JSON Schema keyword, and then the keyword is enforced', () => {
    const bounded = z
      .record(z.string(), z.string())
      .refine((r) => Object.keys(r).length <= 2)
      .meta({ maxProperties: 2 });
    const validate = compilePlainDataValidator(bounded);
    expect(validate).not.toBeNull();
    expect(validate?.({ a: 'x', b: 'y' })).toBe(true);
    expect(validate?.({ a: 'x', b: 'y', c: 'z' })).toBe(false);
    expect(compilePlainDataValidator(z.record(z.string(), z.string()).refine(() => true))).toBeNull();
  });

  it('compiles each schema once per process, so building app after app keeps no new copies', () => {
    const schema = z.strictObject({ name: z.string().max(8), tags: z.array(z.string()).max(2) });
    const first = compilePlainDataValidator(schema);
    expect(first).not.toBeNull();
    // Compiled again for another schema in between: ajv has forgotten the first, and it still validates.
    compilePlainDataValidator(z.strictObject({ other: z.boolean() }));
    expect(compilePlainDataValidator(schema)).toBe(first);
    expect(first?.({ name: 'ok', tags: ['a'] })).toBe(true);
    expect(first?.({ name: 'too long a name', tags: [] })).toBe(false);
    expect(first?.({ name: 'ok', tags: [], extra: 1 })).toBe(false);
    // A schema that does not compile is remembered as such, not tried again.
    const refined = z.string().refine(() => true);
    expect(compilePlainDataValidator(refined)).toBeNull();
    expect(compilePlainDataValidator(refined)).toBeNull();
  });
});

describe('the decision request', () => {
  const validate = compilePlainDataValidator(DecisionRequest);
  const base = {
    principal: { type: 'Partner', id: 'insurer', attrs: { role: 'insurer' } },
    action: 'join',
    resource: {
      type: 'Dataset',
      id: 'crm',
      attrs: { owner: 'dealer', region: 'east' },
      subject: 'sp_' + 'A'.repeat(43),
    },
    context: { purpose: 'joint-modeling-clv', scene: 'joint-modeling', fields: ['customer_age'], cohortSize: 100 },
  };

  it('is compiled, and agrees with zod at the boundaries', () => {
    expect(validate).not.toBeNull();
    const withAttrs = (n: number) => ({
      ...base,
      principal: { ...base.principal, attrs: Object.fromEntries(Array.from({ length: n }, (_v, i) => [`a${i}`, i])) },
    });
    const withValue = (v: unknown) => ({ ...base, principal: { ...base.principal, attrs: { role: v } } });
    const cases: [unknown, boolean][] = [
      [base, true],
      [withAttrs(32), true],
      [withAttrs(33), false],
      [withValue('x'.repeat(256)), true],
      [withValue('x'.repeat(257)), false],
      // Lengths are code points for both: 256 astral characters are 512 UTF-16 units.
      [withValue('😀'.repeat(256)), true],
      [withValue('😀'.repeat(257)), false],
      [withValue('\ud800'.repeat(256)), true],
      [withValue(2 ** 53 - 1), true],
      [withValue(2 ** 53), false],
      [withValue(1.5), false],
      [withValue(null), false],
      [{ ...base, context: { ...base.context, cohortSize: -1 } }, false],
      [{ ...base, context: { ...base.context, extra: 1 } }, false],
      [{ ...base, resource: { ...base.resource, subject: 'raw-customer-id' } }, false],
      [{ ...base, action: 'Join' }, false],
    ];
    for (const [input, expected] of cases) {
      expect(zodAccepts(DecisionRequest, input), JSON.stringify(input).slice(0, 120)).toBe(expected);
      expect(validate?.(input), JSON.stringify(input).slice(0, 120)).toBe(expected);
    }
  });

  it('agrees with zod on 5,000 seeded mutations', () => {
    const rand = prng(2026);
    let accepted = 0;
    for (let i = 0; i < 5_000; i++) {
      let input: unknown = base;
      for (let k = 1 + Math.floor(rand() * 3); k > 0; k--) input = mutate(input, rand);
      const expected = zodAccepts(DecisionRequest, input);
      if (expected) accepted++;
      expect(validate?.(input), JSON.stringify(input).slice(0, 200)).toBe(expected);
    }
    // Both verdicts are well represented, or the comparison would say little.
    expect(accepted).toBeGreaterThan(100);
    expect(accepted).toBeLessThan(4_800);
  });
});

describe('every schema the gateway compiles', () => {
  let gw: TestGateway;
  const compiled: { operation: string; httpPart: string; schema: z.ZodType; validate: (data: unknown) => boolean }[] =
    [];
  let doc: OpenApiDocument;

  beforeAll(async () => {
    gw = await makeTestGateway();
    doc = (await gw.app.inject({ method: 'GET', url: '/docs/json' })).json() as OpenApiDocument;
    // The gateway's routes registered again on a probe app whose validator compiler records what it compiles.
    const probe = Fastify();
    const recording: FastifySchemaCompiler<z.ZodType> = (route) => {
      const validate = compilePlainDataValidator(route.schema);
      if (validate !== null) {
        const path = (route.url ?? '').replace(/:([A-Za-z]+)/g, '{$1}');
        compiled.push({
          operation: `${route.method} ${path}`,
          httpPart: route.httpPart ?? '',
          schema: route.schema,
          validate,
        });
      }
      return requestValidatorCompiler(route);
    };
    probe.setValidatorCompiler(recording);
    probe.setSerializerCompiler(serializerCompiler);
    probe.decorateRequest('principal', null);
    probe.decorateRequest('trace', null);
    await registerRoutes(probe, gw.ctx);
    await probe.ready();
    await probe.close();
  });
  afterAll(async () => {
    await gw?.close();
  });

  it('includes the hot decision route', () => {
    expect(compiled.map((c) => `${c.operation} ${c.httpPart}`)).toContain('POST /v1/decisions body');
    expect(compiled.length).toBeGreaterThan(10);
  });

  it('agrees with zod on the generated hostile bodies and parameters, and on mutations of them', () => {
    const requests = malformedRequests(doc, 'Bearer x', 7);
    const rand = prng(7);
    const disagreements: string[] = [];
    let checked = 0;
    for (const { operation, httpPart, schema, validate } of compiled) {
      const inputs: unknown[] = [];
      if (httpPart === 'body') {
        for (const r of requests.filter((q) => q.operation === operation && q.payload !== undefined)) {
          try {
            inputs.push(JSON.parse(r.payload as string));
          } catch {
            /* raw junk never reaches a validator */
          }
        }
      } else {
        const names = Object.keys(
          (z.toJSONSchema(schema, { io: 'input' }) as { properties?: object }).properties ?? {},
        );
        for (const value of REPLACEMENTS) inputs.push(Object.fromEntries(names.map((n) => [n, value])));
      }
      for (const input of [...inputs]) for (let i = 0; i < 5; i++) inputs.push(mutate(input, rand));
      for (const input of inputs) {
        if (validate(input) !== zodAccepts(schema, input))
          disagreements.push(`${operation} ${httpPart}: ${JSON.stringify(input).slice(0, 200)}`);
        checked++;
      }
    }
    expect(disagreements).toEqual([]);
    expect(checked).toBeGreaterThan(2_000);
  });
});
