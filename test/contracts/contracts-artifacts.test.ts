// The committed runtime artifacts (contracts/compiled/*.json) are exactly what Hardhat 3 with the
// pinned npm solc produces from the current Solidity sources.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { LEDGER_CONTRACT_NAMES, compiledArtifactUrl, loadCompiledContract } from '../../contracts/artifacts.ts';
import { compileLedgerContracts, serializeCompiledContract } from '../../contracts/compile.ts';

describe('compiled ledger artifacts', () => {
  it('committed artifacts were compiled from the current Solidity sources', () => {
    for (const name of LEDGER_CONTRACT_NAMES) {
      const artifact = loadCompiledContract(name);
      const source = readFileSync(new URL(`../../${artifact.sourceName}`, import.meta.url));
      expect(createHash('sha256').update(source).digest('hex'), `${name}: run npm run contracts:compile`).toBe(
        artifact.sourceSha256,
      );
      expect(artifact.compiler).toMatchObject({
        version: '0.8.37',
        settings: { optimizer: { enabled: true }, evmVersion: 'paris' },
      });
    }
  });

  it('a fresh Hardhat build with the npm solc reproduces the committed artifacts byte for byte', async () => {
    const compiled = await compileLedgerContracts();
    expect(compiled.map((c) => c.contractName)).toEqual([...LEDGER_CONTRACT_NAMES]);
    for (const c of compiled) {
      expect(serializeCompiledContract(c), c.contractName).toBe(
        readFileSync(compiledArtifactUrl(c.contractName), 'utf8'),
      );
    }
  });
});
