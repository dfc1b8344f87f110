// An Ed25519 (RFC 8032) signer whose bulk path runs on a worker thread: the consent log signs each group-commit
// batch there while the event loop goes on parsing and hashing the next requests.
import type { KeyObject } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { GatewayError } from '../core/errors.ts';
import { createSigner, type Signer } from './signer.ts';

export type WorkerSigner = Signer & {
  signBatch(messages: readonly Uint8Array[]): Promise<Uint8Array[]>;
  /** Stops the worker; later batches are signed on the calling thread. */
  close(): Promise<void>;
};

// Plain CommonJS so the worker needs no loader; the key arrives as a KeyObject, never as exported bytes.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { sign } = require('node:crypto');
parentPort.on('message', ({ id, messages }) => {
  try {
    const out = new Uint8Array(messages.length * 64);
    messages.forEach((m, i) => out.set(sign(null, m, workerData.key), i * 64));
    parentPort.postMessage({ id, signatures: out }, [out.buffer]);
  } catch (error) {
    parentPort.postMessage({ id, error: String(error && error.message) });
  }
});`;

type Pending = { resolve: (s: Uint8Array[]) => void; reject: (e: unknown) => void };

/** Creates the signer; `sign` stays synchronous on the calling thread for single messages. */
export function createWorkerSigner(privateKey: KeyObject): WorkerSigner {
  const local = createSigner(privateKey);
  let worker: Worker | null = new Worker(WORKER_SOURCE, { eval: true, workerData: { key: privateKey } });
  const pending = new Map<number, Pending>();
  let nextId = 0;

  // Keep the process alive only while a batch is out, so a forgotten close() cannot hang shutdown.
  const updateRef = () => {
    if (pending.size > 0) worker?.ref();
    else worker?.unref();
  };
  updateRef();

  const fail = (error: unknown) => {
    worker = null;
    for (const p of pending.values())
      p.reject(new GatewayError('INTERNAL', 'signing worker failed', {}, { cause: error }));
    pending.clear();
  };
  worker.on('message', (m: { id: number; signatures?: Uint8Array; error?: string }) => {
    const p = pending.get(m.id);
    if (p === undefined) return;
    pending.delete(m.id);
    updateRef();
    if (m.signatures === undefined) {
      p.reject(new GatewayError('INTERNAL', 'signing worker rejected a batch', { reason: m.error }));
      return;
    }
    const all = m.signatures;
    p.resolve(Array.from({ length: all.length / 64 }, (_, i) => all.subarray(i * 64, i * 64 + 64)));
  });
  worker.on('error', fail);
  worker.on('exit', (code) => {
    if (worker !== null) fail(new Error(`signing worker exited with ${code}`));
  });

  return {
    keyId: local.keyId,
    publicKey: local.publicKey,
    sign: local.sign,
    signBatch(messages) {
      // Without a live worker (closed or crashed), sign here: slower, never wrong.
      if (worker === null || messages.length === 0) return Promise.resolve(messages.map((m) => local.sign(m)));
      const id = nextId++;
      const w = worker;
      return new Promise<Uint8Array[]>((resolve, reject) => {
        pending.set(id, { resolve, reject });
        updateRef();
        w.postMessage({ id, messages });
      });
    },
    async close() {
      const w = worker;
      worker = null;
      if (w !== null) await w.terminate();
      for (const p of pending.values()) p.reject(new GatewayError('STORE_UNAVAILABLE', 'signer is closed'));
      pending.clear();
    },
  };
}
