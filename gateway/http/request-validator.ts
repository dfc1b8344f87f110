// Request validation for Fastify routes: the compiled validator (core/plain-data-validator.ts) accepts a valid
// request without zod; a request it refuses is handed to zod, so every 400 reads exactly as zod writes it.
import type { FastifySchemaCompiler } from 'fastify';
import { validatorCompiler as zodValidatorCompiler } from 'fastify-type-provider-zod';
import type { z } from 'zod';
import { compilePlainDataValidator } from '../../core/plain-data-validator.ts';

/**
 * Fastify's validator compiler for the gateway: the compiled validator accepts; zod explains every refusal (and
 * is the only validator for schemas that are not plain data). A request the compiled validator refused and zod
 * accepted gets zod's answer, so compiling can never narrow what a route accepts.
 */
export const requestValidatorCompiler: FastifySchemaCompiler<z.ZodType> = (route) => {
  const zodValidate = zodValidatorCompiler(route);
  const compiled = compilePlainDataValidator(route.schema);
  if (compiled === null) return zodValidate;
  return (data) => (compiled(data) ? { value: data } : zodValidate(data));
};
