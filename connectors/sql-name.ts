// SQL identifiers and literals for DuckDB text (SQL:2016 §5.2 delimited identifiers, §5.3 character
// string literals). Values always travel as parameters; only names and file paths are ever spliced
// into SQL, and only after they pass a strict allowlist here.
import { z } from 'zod';
import { GatewayError } from '../core/errors.ts';

/**
 * A view, stream or column name: a letter, then letters, digits and `_`. Narrow on purpose: it is
 * also a purpose `FieldName`, a DuckDB identifier and a JSON key, and must be safe as all three.
 */
const NAME = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;
export const SqlName = z.string().regex(NAME, 'names are a letter, then letters, digits and _ (at most 64)');
export type SqlName = z.infer<typeof SqlName>;

/** Catalogue objects (views, streams) are lower case so that DuckDB's case folding cannot alias two of them. */
export const ObjectName = z
  .string()
  .regex(/^[a-z][a-z0-9_]{0,47}$/, 'names are a lowercase letter, then a-z, 0-9 and _ (at most 48)');
export type ObjectName = z.infer<typeof ObjectName>;

/** `"name"`, after re-checking the allowlist: a caller that skipped the schema still cannot inject. */
export function quoteName(name: string): string {
  if (!NAME.test(name))
    throw new GatewayError('BAD_INPUT', 'not a valid SQL name', { name: String(name).slice(0, 64) });
  return `"${name}"`;
}

/** A checked name as a string literal: keys of the `columns={...}` struct that DuckDB readers take. */
export function nameLiteral(name: string): string {
  return `'${quoteName(name).slice(1, -1)}'`;
}

/** Internal names we generate (staging tables, reject tables, attach aliases): the same rule, lower case. */
export function quoteGeneratedName(name: string): string {
  if (!/^[a-z][a-z0-9_]{0,95}$/.test(name)) throw new GatewayError('INTERNAL', 'generated SQL name is malformed');
  return `"${name}"`;
}

// Absolute paths only, from a conservative character set. Excluded on purpose: quotes and backslash
// (literal syntax), `* ? [ ] { }` (DuckDB expands globs in file readers), `~` and `$` (home and
// variable expansion), `:` (URL schemes such as s3:// or http://) and every control character.
const PATH = /^\/[\p{L}\p{N} ._+=,@/-]*$/u;

/** A file path as a single-quoted literal for a DuckDB table function or ATTACH. Throws CONNECTOR_PATH_REFUSED. */
export function quotePathLiteral(path: string): string {
  if (!PATH.test(path) || path.includes('/../') || path.endsWith('/..') || path.length > 4096) {
    throw new GatewayError(
      'CONNECTOR_PATH_REFUSED',
      'source path contains characters the gateway does not pass to DuckDB',
    );
  }
  // The allowlist already excludes quotes; doubling them is kept so this stays correct if it widens.
  return `'${path.replaceAll("'", "''")}'`;
}

/** A string from our own fixed vocabulary (a DuckDB type, an option value) as a literal. */
export function quoteLiteral(text: string): string {
  if (!/^[A-Za-z0-9_ ,.()-]{0,128}$/.test(text))
    throw new GatewayError('INTERNAL', 'literal outside the fixed vocabulary');
  return `'${text}'`;
}
