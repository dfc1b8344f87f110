// Import roots: the only directories connector sources may be read from (CWE-22 path traversal,
// CWE-59 link following). A path is checked lexically, then again after every symlink is resolved.
import { mkdirSync, realpathSync, statSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { GatewayError } from '../core/errors.ts';
import { quotePathLiteral } from './sql-name.ts';

/** A source file that passed confinement: `path` is canonical (no symlinks), `display` is safe to report. */
export type ConfinedPath = { path: string; display: string };

/**
 * Canonical roots: the default root first (created if missing), then the extra allowlist. Each
 * must exist and be a directory; a root that cannot be resolved is a start-up error, not a silent skip.
 */
export function openImportRoots(defaultRoot: string, extraRoots: readonly string[] = []): string[] {
  mkdirSync(defaultRoot, { recursive: true, mode: 0o750 });
  const roots: string[] = [];
  for (const root of [defaultRoot, ...extraRoots]) {
    let real: string;
    try {
      real = realpathSync(resolve(root));
    } catch (cause) {
      throw new GatewayError('BAD_INPUT', `import root ${root} does not exist`, {}, { cause });
    }
    if (!statSync(real).isDirectory()) throw new GatewayError('BAD_INPUT', `import root ${root} is not a directory`);
    // The root itself becomes a DuckDB allowed directory and part of every checked path.
    quotePathLiteral(real);
    if (!roots.includes(real)) roots.push(real);
  }
  return roots;
}

const isInside = (root: string, candidate: string): boolean => {
  const rel = relative(root, candidate);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) && !rel.split(sep).includes('..');
};

const refuse = (reason: string, display: string): GatewayError =>
  new GatewayError('CONNECTOR_PATH_REFUSED', `source path ${display} is refused: ${reason}`, { file: display, reason });

/**
 * Resolves `requested` (relative to the first root, or absolute inside any root) to a regular file.
 * Throws CONNECTOR_PATH_REFUSED for anything outside the roots or not a regular file, NOT_FOUND when
 * the file does not exist inside a root.
 */
export function confineSourcePath(roots: readonly string[], requested: string): ConfinedPath {
  const first = roots[0];
  if (first === undefined) throw new GatewayError('INTERNAL', 'no import roots configured');
  // The requested text is echoed only when it is printable and short; otherwise a placeholder.
  const shown = /^[\p{L}\p{N} ._+=,@/-]{1,256}$/u.test(requested) ? requested : '(unprintable path)';
  if (typeof requested !== 'string' || requested.length === 0 || requested.length > 1024 || /\p{Cc}/u.test(requested)) {
    throw refuse('not a usable path', shown);
  }
  const candidate = isAbsolute(requested) ? resolve(requested) : resolve(first, requested);
  const lexicalRoot = roots.find((root) => isInside(root, candidate));
  if (lexicalRoot === undefined) throw refuse('outside the import roots', shown);

  let real: string;
  try {
    real = realpathSync(candidate);
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new GatewayError('NOT_FOUND', `source file ${shown} does not exist`, { file: shown }, { cause });
    }
    throw refuse('cannot be resolved', shown);
  }
  // A symlink may point anywhere; only where it lands counts.
  const realRoot = roots.find((root) => isInside(root, real));
  if (realRoot === undefined) throw refuse('resolves outside the import roots', shown);
  if (!statSync(real).isFile()) throw refuse('not a regular file', shown);
  quotePathLiteral(real);
  return { path: real, display: relative(realRoot, real).split(sep).join('/') };
}
