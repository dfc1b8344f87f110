// Compiled validation of plain-data zod schemas: the zod schema stays the one definition, and where it is plain data
// constraints it is also compiled to a JSON Schema validator (ajv, the compiler Fastify itself uses) that accepts
// valid input without zod. The shell hands whatever it refuses to zod (gateway/http/request-validator.ts).
//
// Why: zod walks a schema generically, allocating as it goes; on the decision route that was about 40 µs of the
// request thread per request, a sixth of it, measured over HTTP with validation on and off. The compiled validator
// is straight-line code for one schema and allocates nothing on success (in process: 2.4 µs against 8 µs for the
// decision body).
//
// A schema is compiled only when its JSON Schema says all that zod would check and zod's output would equal its
// input (`isPlainDataSchema`): strict objects; strings with lengths, unflagged patterns and the formats zod checks
// by pattern alone (date-time, date, time, uuid); safe integers and bounded numbers; booleans, literals, enums,
// arrays, records, unions, optional, nullable and unknown. Anything else (a transform, a default, a coercion, a
// format checked in code, a refinement, an object that strips unknown keys) keeps plain zod. A refinement may be
// declared equivalent by giving the JSON Schema keyword it enforces in `.meta()`, such as `maxProperties`; the tests
// check every compiled route schema against zod on generated input.
import { Ajv } from 'ajv';
import { z } from 'zod';

type ZodNode = { _zod: { def: Record<string, unknown> & { type: string; checks?: ZodCheckNode[] } } };
type ZodCheckNode = { _zod: { def: Record<string, unknown> & { check: string } } };

/** JSON Schema keywords that a `.meta()` may declare as what a refinement enforces. */
const DECLARABLE_KEYWORDS = ['maxProperties', 'minProperties'] as const;

const STRING_CHECKS = new Set(['min_length', 'max_length', 'length_equals', 'string_format']);
const NUMBER_CHECKS = new Set(['greater_than', 'less_than']);
const ARRAY_CHECKS = new Set(['min_length', 'max_length', 'length_equals']);

/**
 * Formats zod 4 checks with its pattern alone (`$ZodCheckStringFormat`, nothing else), which z.toJSONSchema writes
 * as the JSON Schema `pattern` beside the `format`; ajv here checks the pattern and ignores the format.
 */
const PATTERN_FORMATS = new Set(['datetime', 'date', 'time', 'uuid', 'guid']);

/** A regular expression with flags (i, u, s...) means something else as a JSON Schema pattern. */
const isUnflaggedPattern = (pattern: unknown): boolean => pattern instanceof RegExp && pattern.flags === '';

function isPatternFormat(def: Record<string, unknown>): boolean {
  return typeof def.format === 'string' && PATTERN_FORMATS.has(def.format) && isUnflaggedPattern(def.pattern);
}

function declaresKeyword(node: ZodNode): boolean {
  const meta = z.globalRegistry.get(node as unknown as z.ZodType) as Record<string, unknown> | undefined;
  return meta !== undefined && DECLARABLE_KEYWORDS.some((keyword) => typeof meta[keyword] === 'number');
}

function checksAllowed(node: ZodNode, allowed: ReadonlySet<string>): boolean {
  for (const check of node._zod.def.checks ?? []) {
    const def = check._zod.def;
    if (def.check === 'custom' && declaresKeyword(node)) continue;
    if (!allowed.has(def.check)) return false;
    // A format other than a pattern is checked by code the JSON Schema does not carry.
    if (def.check === 'string_format' && !(def.format === 'regex' && isUnflaggedPattern(def.pattern))) return false;
  }
  return true;
}

/** True when the JSON Schema of `schema` checks everything zod checks, and zod would return its input unchanged. */
export function isPlainDataSchema(schema: unknown, depth = 0): boolean {
  if (depth > 64 || typeof schema !== 'object' || schema === null || !('_zod' in schema)) return false;
  const node = schema as ZodNode;
  const def = node._zod.def;
  const inner = (child: unknown) => isPlainDataSchema(child, depth + 1);
  switch (def.type) {
    case 'string':
      if (def.coerce === true) return false;
      // A string with a format of its own (z.url(), z.email()...) is checked in code, except the formats below.
      if (def.check !== undefined && !(def.check === 'string_format' && isPatternFormat(def))) return false;
      return checksAllowed(node, STRING_CHECKS);
    case 'number': {
      if (def.coerce === true) return false;
      // z.int() is a number whose own check is a safe-integer format, which the JSON Schema states as bounds.
      if (def.check !== undefined && !(def.check === 'number_format' && def.format === 'safeint')) return false;
      return checksAllowed(node, NUMBER_CHECKS);
    }
    case 'boolean':
    case 'null':
      return def.coerce !== true && checksAllowed(node, new Set());
    case 'unknown':
    case 'any':
      // Any JSON value, returned as it is: the JSON Schema {}.
      return checksAllowed(node, new Set());
    case 'literal':
      return (
        (def.values as unknown[]).every((v) => ['string', 'number', 'boolean'].includes(typeof v)) &&
        checksAllowed(node, new Set())
      );
    case 'enum':
      return (
        Object.values(def.entries as Record<string, unknown>).every((v) => typeof v === 'string') &&
        checksAllowed(node, new Set())
      );
    case 'object': {
      // Only strict objects: zod strips unknown keys from a plain object, which a validator that passes its input
      // through would not.
      const catchall = def.catchall as ZodNode | undefined;
      if (catchall?._zod.def.type !== 'never' || !checksAllowed(node, new Set())) return false;
      return Object.values(def.shape as Record<string, unknown>).every(inner);
    }
    case 'optional':
    case 'nullable':
      return checksAllowed(node, new Set()) && inner(def.innerType);
    case 'array':
      return checksAllowed(node, ARRAY_CHECKS) && inner(def.element);
    case 'record': {
      // String keys only: a zod record keyed by an enum requires every key, which propertyNames does not say.
      const key = def.keyType as ZodNode;
      if (key._zod.def.type !== 'string') return false;
      return checksAllowed(node, new Set()) && inner(key) && inner(def.valueType);
    }
    case 'union':
      return (
        def.discriminator === undefined && checksAllowed(node, new Set()) && (def.options as unknown[]).every(inner)
      );
    default:
      return false;
  }
}

type Validate = ((data: unknown) => boolean) & { errors?: unknown };

// One compiler for every schema: an ajv instance costs about half a millisecond to make, and a gateway compiles
// dozens of route schemas at start. The generated JSON Schemas carry no $id, so they cannot collide in it.
let sharedAjv: Ajv | undefined;
const ajv = (): Ajv =>
  (sharedAjv ??= new Ajv({ unicodeRegExp: false, strict: true, allErrors: false, validateFormats: false }));

// Each zod schema is compiled once per process, and ajv is told to forget it: a process that builds many apps (the
// tests, the two-gateway demo) would otherwise keep one more compiled copy of every route schema per build. Keyed
// weakly, so a schema made at run time and dropped takes its validator with it.
const compiledBySchema = new WeakMap<object, Validate | null>();

/**
 * The JSON Schema validator for a plain-data zod schema, or null for any other. Patterns are read without the `u`
 * flag, as zod reads them; lengths count code points, as both zod and ajv do by default.
 */
export function compilePlainDataValidator(schema: unknown): Validate | null {
  if (typeof schema !== 'object' || schema === null) return null;
  const known = compiledBySchema.get(schema);
  if (known !== undefined) return known;
  const compiled = compileOnce(schema);
  compiledBySchema.set(schema, compiled);
  return compiled;
}

function compileOnce(schema: object): Validate | null {
  if (!isPlainDataSchema(schema)) return null;
  try {
    const jsonSchema = z.toJSONSchema(schema as z.ZodType, {
      target: 'draft-07',
      io: 'input',
      unrepresentable: 'throw',
    });
    const validate = ajv().compile(jsonSchema) as Validate;
    // The function keeps working once ajv's cache lets go of it; only this module holds it from here on.
    ajv().removeSchema(jsonSchema);
    return validate;
  } catch {
    // Something the JSON Schema or ajv's strict mode cannot take: zod alone validates, which is only slower.
    return null;
  }
}
