// Worker thread of the HE pool: runs one CKKS operation of he-engine.ts at a time, so encryption and evaluation never
// block the gateway's event loop (health checks and consent requests keep being answered while a job computes).
import { parentPort } from 'node:worker_threads';
import { GatewayError } from '../../core/errors.ts';
import { createHeEngine, type DecryptArgs, type EncryptArgs, type HeEngine, type ProductArgs } from './he-engine.ts';
import { HE_PRESETS, type HePresetName } from './he-presets.ts';
import { addAndShuffle, decryptScores, encryptScores, type ShuffleKey } from './elgamal-shuffle.ts';

export type HeTask = { id: number; preset: HePresetName } & (
  | { op: 'generate-keys' }
  | ({ op: 'encrypt' } & EncryptArgs)
  | ({ op: 'products' } & ProductArgs)
  | ({ op: 'decrypt' } & DecryptArgs)
  | { op: 'shuffle-encrypt'; key: ShuffleKey; partial: Float64Array; labels: Float64Array }
  | { op: 'shuffle-add'; publicKey: Uint8Array; scores: Uint8Array; partial: Float64Array; shuffle: boolean }
  | { op: 'shuffle-decrypt'; key: ShuffleKey; scores: Uint8Array; count: number }
);

export type HeReply =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; code: string; message: string; detail: Record<string, unknown> };

const engines = new Map<HePresetName, Promise<HeEngine>>();
const engineFor = (name: HePresetName) => {
  let engine = engines.get(name);
  if (engine === undefined) {
    engine = createHeEngine(HE_PRESETS[name]);
    engines.set(name, engine);
  }
  return engine;
};

async function run(task: HeTask): Promise<unknown> {
  // The ElGamal score shuffle needs no SEAL context.
  if (task.op === 'shuffle-encrypt') return encryptScores(task.key, task.partial, task.labels);
  if (task.op === 'shuffle-add') return addAndShuffle(task.publicKey, task.scores, task.partial, task.shuffle);
  if (task.op === 'shuffle-decrypt') return decryptScores(task.key, task.scores, task.count);
  const engine = await engineFor(task.preset);
  switch (task.op) {
    case 'generate-keys':
      return engine.generateKeys();
    case 'encrypt':
      return engine.encryptVectors(task);
    case 'products':
      return engine.maskedProducts(task);
    case 'decrypt':
      return engine.decryptSums(task);
  }
}

parentPort?.on('message', (task: HeTask) => {
  run(task).then(
    (value) => parentPort?.postMessage({ id: task.id, ok: true, value } satisfies HeReply),
    (error: unknown) => {
      const reply: HeReply =
        error instanceof GatewayError
          ? { id: task.id, ok: false, code: error.code, message: error.message, detail: error.detail }
          : {
              id: task.id,
              ok: false,
              code: 'INTERNAL',
              message: error instanceof Error ? error.message : 'HE worker failed',
              detail: {},
            };
      parentPort?.postMessage(reply);
    },
  );
});
