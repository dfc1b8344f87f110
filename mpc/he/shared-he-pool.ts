// One HE worker pool for every protocol of a gateway, started at the first use and closed once: the CKKS protocols
// (joint statistics, vertical models) share the cores rather than each holding threads of its own.
import { createHePool, type HePool } from './he-pool.ts';

export type SharedHePool = { get(): HePool; close(): Promise<void> };

export function sharedHePool(options: { size?: number } = {}): SharedHePool {
  let pool: HePool | null = null;
  return {
    get: () => (pool ??= createHePool(options)),
    async close() {
      const open = pool;
      pool = null;
      await open?.close();
    },
  };
}
