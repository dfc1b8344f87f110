// Hardhat 3 configuration: compiles contracts/*.sol with the pinned npm `solc` (its soljson.js WASM
// build) through `solidity.path`, so Hardhat never downloads a compiler; tests use the in-process
// EDR network. Runtime never compiles: contracts/compile.ts writes contracts/compiled/*.json.
import { createRequire } from 'node:module';
import hardhatEthers from '@nomicfoundation/hardhat-ethers';
import { defineConfig } from 'hardhat/config';

// Hardhat treats a `path` that is not a native binary as a solcjs build and runs it in a child
// process (documented in Hardhat's "Using a custom Solidity compiler" guide).
const soljsonPath = createRequire(import.meta.url).resolve('solc/soljson.js');

export default defineConfig({
  plugins: [hardhatEthers],
  solidity: {
    version: '0.8.37',
    path: soljsonPath,
    settings: {
      optimizer: { enabled: true, runs: 200 },
      // Paris (no PUSH0/MCOPY) so the same bytecode deploys on consortium chains (Besu, Quorum)
      // that lag mainnet forks, as well as on anvil and Hardhat's EDR.
      evmVersion: 'paris',
    },
  },
  paths: { sources: 'contracts' },
  networks: {
    default: { type: 'edr-simulated', chainType: 'l1' },
  },
});
