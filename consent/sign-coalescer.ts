// Signing requests made in one turn of the event loop, such as the receipts for every write of one group commit,
// go to the bulk signer (a worker thread) as one batch, so their Ed25519 signatures leave the request thread.
import type { Signer } from './signer.ts';

/** Returns an async sign: batched through `signer.signBatch` when it has one, otherwise `signer.sign` at once. */
export function coalescingSign(signer: Signer): (message: Uint8Array) => Promise<Uint8Array> {
  const signBatch = signer.signBatch?.bind(signer);
  if (signBatch === undefined) return async (message) => signer.sign(message);
  let waiting: { message: Uint8Array; resolve: (s: Uint8Array) => void; reject: (e: unknown) => void }[] = [];

  const flush = () => {
    const batch = waiting;
    waiting = [];
    signBatch(batch.map((w) => w.message)).then(
      (signatures) => batch.forEach((w, i) => w.resolve(signatures[i] as Uint8Array)),
      // The worker is gone (it crashed, or the gateway is closing): sign here. The writes these signatures are for
      // are already committed, and a failed answer would invite a client to repeat a write that happened.
      () => {
        for (const w of batch) {
          try {
            w.resolve(signer.sign(w.message));
          } catch (error) {
            w.reject(error);
          }
        }
      },
    );
  };

  return (message) =>
    new Promise<Uint8Array>((resolve, reject) => {
      // setImmediate runs after the current I/O callbacks and their promise continuations: one batch per turn.
      if (waiting.length === 0) setImmediate(flush);
      waiting.push({ message, resolve, reject });
    });
}
