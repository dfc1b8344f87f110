// A pool of worker threads for CKKS (he-worker.ts). Calls queue first in, first out; each worker keeps its own SEAL
// context per preset. A crashed worker fails only its own call and is replaced. Secret keys cross to a worker with
// the call that needs them and never leave the process; they are never written to disk (a job's keys live as long as
// one attempt of one step).
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { GatewayError, isErrorCode } from '../../core/errors.ts';
import type { DecryptArgs, EncryptArgs, HeKeys, ProductArgs } from './he-engine.ts';
import { DEFAULT_HE_PRESET, type HePresetName } from './he-presets.ts';
import { shufflePairs, type ShuffleKey } from './elgamal-shuffle.ts';
import { productCount } from './slot-layout.ts';
import type { HeReply, HeTask } from './he-worker.ts';

type TaskBody = HeTask extends infer T ? (T extends HeTask ? Omit<T, 'id'> : never) : never;

export type HePool = {
  readonly size: number;
  generateKeys(preset: HePresetName): Promise<HeKeys>;
  /** As HeEngine.encryptVectors; one call per vector, spread over the workers. */
  encryptVectors(preset: HePresetName, args: EncryptArgs): Promise<Uint8Array[][]>;
  /** As HeEngine.maskedProducts; the column groups are spread over the workers. */
  maskedProducts(preset: HePresetName, args: ProductArgs): Promise<Uint8Array[]>;
  decryptSums(preset: HePresetName, args: DecryptArgs): Promise<number[]>;
  /** The ElGamal score shuffle's three steps (elgamal-shuffle.ts), off the event loop. */
  encryptScores(key: ShuffleKey, partial: Float64Array, labels: Float64Array): Promise<Uint8Array>;
  addAndShuffle(
    publicKey: Uint8Array,
    scores: Uint8Array,
    partial: Float64Array,
    shuffle: boolean,
  ): Promise<Uint8Array>;
  decryptScores(key: ShuffleKey, scores: Uint8Array, count: number): Promise<{ score: number; label: number }[]>;
  close(): Promise<void>;
};

type Pending = { body: TaskBody; resolve: (value: unknown) => void; reject: (error: unknown) => void };
type Slot = { worker: Worker; pending: (Pending & { id: number }) | null };

const WORKER_URL = new URL('./he-worker.ts', import.meta.url);
/** Rows per score-shuffle call: about a second of elliptic-curve work. */
const SCORE_CHUNK = 512;

/** [from, to) ranges of `count` rows, SCORE_CHUNK at a time (one empty range for none). */
function scoreChunks(count: number): [number, number][] {
  const out: [number, number][] = [];
  for (let from = 0; from < count; from += SCORE_CHUNK) out.push([from, Math.min(count, from + SCORE_CHUNK)]);
  return out.length === 0 ? [[0, 0]] : out;
}

export function createHePool(options: { size?: number } = {}): HePool {
  const size = options.size ?? Math.max(1, availableParallelism());
  if (!Number.isInteger(size) || size < 1) throw new RangeError('pool size must be a positive integer');
  const queue: Pending[] = [];
  const slots: Slot[] = [];
  let nextId = 0;
  let isClosed = false;

  const spawn = (): Slot => {
    const slot: Slot = { worker: new Worker(WORKER_URL), pending: null };
    slot.worker.on('message', (reply: HeReply) => {
      const pending = slot.pending;
      slot.pending = null;
      if (pending !== null && pending.id === reply.id) {
        if (reply.ok) pending.resolve(reply.value);
        else
          pending.reject(
            new GatewayError(isErrorCode(reply.code) ? reply.code : 'INTERNAL', reply.message, reply.detail),
          );
      }
      dispatch();
    });
    const replace = (error: unknown) => {
      const index = slots.indexOf(slot);
      if (index === -1) return;
      const pending = slot.pending;
      slot.pending = null;
      pending?.reject(new GatewayError('INTERNAL', 'HE worker failed', {}, { cause: error }));
      if (isClosed) return;
      slots[index] = spawn();
      dispatch();
    };
    slot.worker.on('error', replace);
    slot.worker.on('exit', (code) => replace(new Error(`HE worker exited with ${code}`)));
    slot.worker.unref();
    return slot;
  };

  const dispatch = () => {
    for (const slot of slots) {
      if (slot.pending !== null) continue;
      const next = queue.shift();
      if (next === undefined) break;
      const id = nextId++;
      slot.pending = { ...next, id };
      slot.worker.postMessage({ ...next.body, id });
    }
    // Keep the process alive only while work is out, so a forgotten close() cannot hang shutdown.
    for (const slot of slots) {
      if (slot.pending !== null) slot.worker.ref();
      else slot.worker.unref();
    }
  };

  const call = <T>(body: TaskBody): Promise<T> => {
    if (isClosed) return Promise.reject(new GatewayError('INTERNAL', 'HE pool is closed'));
    return new Promise<T>((resolve, reject) => {
      queue.push({ body, resolve: resolve as (value: unknown) => void, reject });
      dispatch();
    });
  };

  for (let i = 0; i < size; i++) slots.push(spawn());

  return {
    size,
    generateKeys: (preset) => call({ op: 'generate-keys', preset }),
    encryptVectors: (preset, { keys, layout, vectors }) =>
      Promise.all(vectors.map((v) => call<Uint8Array[][]>({ op: 'encrypt', preset, keys, layout, vectors: [v] }))).then(
        (parts) => parts.map((p) => p[0] as Uint8Array[]),
      ),
    async maskedProducts(preset, { publicKey, layout, chunks, columns, masks }) {
      const groups = productCount(layout, columns.length);
      if (masks.length !== groups) throw new RangeError('one mask per product ciphertext');
      // One call per share of the groups, so both workers multiply at once; each share keeps whole tiles.
      const shares = Math.min(size, groups);
      const per = Math.ceil(groups / shares);
      const calls: Promise<Uint8Array[]>[] = [];
      for (let from = 0; from < groups; from += per) {
        const to = Math.min(groups, from + per);
        calls.push(
          call({
            op: 'products',
            preset,
            publicKey,
            layout,
            chunks: [...chunks],
            columns: columns.slice(from * layout.tiles, to * layout.tiles),
            masks: masks.slice(from, to),
          }),
        );
      }
      return (await Promise.all(calls)).flat();
    },
    decryptSums: (preset, args) => call({ op: 'decrypt', preset, ...args, products: [...args.products] }),
    // The score shuffle's rows are independent: cut into chunks so that every worker takes a share; the permutation,
    // which needs the whole list, is applied here afterwards (a cheap byte copy).
    async encryptScores(key, partial, labels) {
      const parts = await Promise.all(
        scoreChunks(partial.length).map(([from, to]) =>
          call<Uint8Array>({
            op: 'shuffle-encrypt',
            preset: DEFAULT_HE_PRESET,
            key,
            partial: partial.slice(from, to),
            labels: labels.slice(from, to),
          }),
        ),
      );
      return Buffer.concat(parts);
    },
    async addAndShuffle(publicKey, scores, partial, shuffle) {
      if (scores.length !== partial.length * 64)
        throw new GatewayError('JOB_BAD_MESSAGE', 'score ciphertexts refused: wrong number of score ciphertexts', {
          reason: 'wrong number of score ciphertexts',
        });
      const parts = await Promise.all(
        scoreChunks(partial.length).map(([from, to]) =>
          call<Uint8Array>({
            op: 'shuffle-add',
            preset: DEFAULT_HE_PRESET,
            publicKey,
            scores: Uint8Array.from(scores.subarray(from * 64, to * 64)),
            partial: partial.slice(from, to),
            shuffle: false,
          }),
        ),
      );
      const added = Buffer.concat(parts);
      return shuffle ? shufflePairs(added) : added;
    },
    async decryptScores(key, scores, count) {
      if (scores.length !== count * 64)
        throw new GatewayError('JOB_BAD_MESSAGE', 'score ciphertexts refused: wrong number of score ciphertexts', {
          reason: 'wrong number of score ciphertexts',
        });
      const parts = await Promise.all(
        scoreChunks(count).map(([from, to]) =>
          call<{ score: number; label: number }[]>({
            op: 'shuffle-decrypt',
            preset: DEFAULT_HE_PRESET,
            key,
            scores: Uint8Array.from(scores.subarray(from * 64, to * 64)),
            count: to - from,
          }),
        ),
      );
      return parts.flat();
    },
    async close() {
      isClosed = true;
      for (const pending of queue.splice(0)) pending.reject(new GatewayError('INTERNAL', 'HE pool is closed'));
      await Promise.all(slots.map((s) => s.worker.terminate()));
    },
  };
}
