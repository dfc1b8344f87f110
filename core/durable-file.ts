// Crash-safe replacement of small ledger files (deployment.json, the chain state backup): write a
// temp file, fsync it, rename it over the target, fsync the directory (POSIX rename(2) is atomic,
// so a reader sees the old or the new file, never a torn one).
import { randomBytes } from 'node:crypto';
import { copyFile, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fsyncPath } from './fsync.ts';

// The temp file sits next to the target so the rename never crosses a file system.
const tempPathFor = (path: string): string =>
  join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);

async function replaceWith(path: string, temp: string): Promise<void> {
  try {
    await fsyncPath(temp);
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  // Without this the rename itself may be lost on power failure, leaving the old file in place.
  await fsyncPath(dirname(path));
}

/** Atomically replaces `path` with `data` (file mode 0600: ledger files are the gateway's own). */
export async function writeFileDurably(path: string, data: string | Uint8Array): Promise<void> {
  const temp = tempPathFor(path);
  const handle = await open(temp, 'wx', 0o600);
  try {
    await handle.writeFile(data);
  } finally {
    await handle.close();
  }
  await replaceWith(path, temp);
}

/** Atomically replaces `to` with a copy of `from`. */
export async function copyFileDurably(from: string, to: string): Promise<void> {
  const temp = tempPathFor(to);
  await copyFile(from, temp);
  await replaceWith(to, temp);
}
