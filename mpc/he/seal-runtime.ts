// The one place node-seal (Microsoft SEAL compiled to WebAssembly) is loaded. Every thread that computes with CKKS
// calls `loadSeal()` once and gets the module for that thread.
//
// node-seal 7 is built with WebAssembly exception handling (exnref). Node 24's V8 still keeps that behind a flag, so
// the flag is set from code before the module compiles: a flag in the npm scripts would not reach worker threads or
// a test runner. It changes nothing else.
import { readFile } from 'node:fs/promises';
import v8 from 'node:v8';
import type { MainModule } from 'node-seal/throws';

export type Seal = MainModule;

export type SealRuntime = {
  seal: Seal;
  /** Bytes of the module's linear memory: it grows on demand and never shrinks, so a leak shows as growth. */
  memoryBytes(): number;
  /** The message of a C++ exception SEAL threw (a `WebAssembly.Exception`), or the error's own message. */
  messageOf(error: unknown): string;
};

// The project compiles without the DOM library, where the WebAssembly types live; these are the parts used here.
type WasmMemory = { buffer: ArrayBuffer };
type WasmInstance = { exports: Record<string, unknown> };
type WasmApi = {
  Memory: abstract new (...args: never[]) => WasmMemory;
  Exception?: abstract new (...args: never[]) => unknown;
  instantiate(bytes: Uint8Array, imports: unknown): Promise<{ instance: WasmInstance }>;
};
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

let loading: Promise<SealRuntime> | null = null;

export function loadSeal(): Promise<SealRuntime> {
  loading ??= load();
  return loading;
}

async function load(): Promise<SealRuntime> {
  v8.setFlagsFromString('--experimental-wasm-exnref');
  // The "throws" build refuses to produce a transparent ciphertext (one that encrypts nothing) from any operation.
  const { default: initialize } = await import('node-seal/throws');
  const wasmUrl = new URL('./seal_throws.wasm', import.meta.resolve('node-seal/throws'));
  const bytes = await readFile(wasmUrl);
  let memory: WasmMemory | null = null;
  const seal = (await initialize({
    // Instantiated here rather than by the loader, so the memory export can be read for the leak check.
    instantiateWasm(imports: unknown, receive: (instance: WasmInstance) => void) {
      void wasm.instantiate(bytes, imports).then(({ instance }) => {
        memory = (Object.values(instance.exports).find((e) => e instanceof wasm.Memory) as WasmMemory) ?? null;
        receive(instance);
      });
      return {};
    },
  })) as Seal & { getExceptionMessage?: (e: unknown) => [string, string] };
  return {
    seal,
    memoryBytes: () => memory?.buffer.byteLength ?? 0,
    messageOf(error) {
      if (wasm.Exception !== undefined && error instanceof wasm.Exception) {
        try {
          const [type, message] = seal.getExceptionMessage?.(error) ?? ['', ''];
          return `${type}: ${message}`.slice(0, 300);
        } catch {
          return 'SEAL exception';
        }
      }
      return error instanceof Error ? error.message.slice(0, 300) : 'SEAL exception';
    },
  };
}
