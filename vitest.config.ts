import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Child-process and loopback tests start real servers; give them room on a 2-core machine.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // One worker process runs every file in turn, keeping its module cache: a fresh process per file spent about
    // 1.8 s importing fastify, ethers, DuckDB and node-seal again, 275 of the suite's 930 s on this 2-core machine.
    // Tests share no state through modules: each starts its own gateways, chains and temporary directories.
    isolate: false,
  },
});
