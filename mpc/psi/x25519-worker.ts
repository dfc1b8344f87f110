// Worker thread of the X25519 pool (RFC 7748 scalar multiplication): multiplies a chunk of 32-byte u-coordinates,
// or hashes a packed identifier batch to points first, and transfers the result back without copying.
import { parentPort } from 'node:worker_threads';
import { hashPackedIdentifiers } from './point-hash.ts';
import { multiplyPoints, x25519PrivateKey } from './x25519.ts';

export type X25519Task =
  | { id: number; op: 'multiply'; scalar: Uint8Array; points: Uint8Array }
  | { id: number; op: 'hash-multiply'; scalar: Uint8Array; domain: Uint8Array; bytes: Uint8Array; ends: Uint32Array };

/** `smallOrderIndex` is the chunk-relative index of the first point whose product was refused or all zeros. */
export type X25519Reply =
  { id: number; points: Uint8Array } | { id: number; smallOrderIndex: number } | { id: number; error: string };

function run(task: X25519Task): X25519Reply {
  const privateKey = x25519PrivateKey(task.scalar);
  let points: Uint8Array;
  if (task.op === 'multiply') {
    points = task.points;
  } else {
    points = new Uint8Array(task.ends.length * 32);
    hashPackedIdentifiers(task.domain, task.bytes, task.ends, points);
  }
  // In place: the input chunk was copied or transferred to this thread, nobody else reads it.
  const smallOrderIndex = multiplyPoints(privateKey, points, points);
  return smallOrderIndex === -1 ? { id: task.id, points } : { id: task.id, smallOrderIndex };
}

parentPort?.on('message', (task: X25519Task) => {
  let reply: X25519Reply;
  try {
    reply = run(task);
  } catch (error) {
    reply = { id: task.id, error: error instanceof Error ? error.message : String(error) };
  }
  const transfer = 'points' in reply ? [reply.points.buffer as ArrayBuffer] : [];
  // The identifier bytes go back too: left here they would be garbage that only external-memory pressure (tens of
  // MB) makes this isolate collect, so RSS would grow with the rows hashed. Detached, they cost nothing to send.
  if (task.op === 'hash-multiply') transfer.push(task.bytes.buffer as ArrayBuffer, task.ends.buffer as ArrayBuffer);
  parentPort?.postMessage(reply, transfer);
});
