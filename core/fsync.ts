// fsync for a path: makes a file's data, or a directory's entries (a file just created or renamed), durable.
import { open } from 'node:fs/promises';

/** Flushes a file's data (or a directory's entries) to stable storage. */
export async function fsyncPath(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
