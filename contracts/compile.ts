// Compiles contracts/*.sol with Hardhat 3, using the pinned npm `solc` build (hardhat.config.ts sets
// `solidity.path` to its soljson.js, so no compiler is downloaded), and writes the committed
// artifacts contracts/compiled/<Name>.json. Usage: node contracts/compile.ts [--check]
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHardhatRuntimeEnvironment } from 'hardhat/hre';
import hardhatConfig from '../hardhat.config.ts';
import { CompiledContract, LEDGER_CONTRACT_NAMES, compiledArtifactUrl } from './artifacts.ts';

const PROJECT_ROOT = fileURLToPath(new URL('../', import.meta.url));

/**
 * Builds every ledger contract in a throwaway artifacts/cache directory (so concurrent runs and the
 * repository's own artifacts/ never interfere) and returns the runtime artifacts.
 */
export async function compileLedgerContracts(): Promise<CompiledContract[]> {
  const workDir = await mkdtemp(join(tmpdir(), 'sealgate-solc-'));
  try {
    const hre = await createHardhatRuntimeEnvironment(
      {
        ...hardhatConfig,
        paths: { ...hardhatConfig.paths, artifacts: join(workDir, 'artifacts'), cache: join(workDir, 'cache') },
      },
      {},
      PROJECT_ROOT,
    );
    await hre.tasks.getTask('build').run({ quiet: true, noTests: true });
    const compiled: CompiledContract[] = [];
    for (const name of LEDGER_CONTRACT_NAMES) {
      const artifact = await hre.artifacts.readArtifact(name);
      const buildInfoId = await hre.artifacts.getBuildInfoId(name);
      const buildInfoPath = buildInfoId === undefined ? undefined : await hre.artifacts.getBuildInfoPath(buildInfoId);
      if (buildInfoPath === undefined) throw new Error(`no build info for ${name}`);
      const buildInfo = JSON.parse(await readFile(buildInfoPath, 'utf8')) as {
        solcVersion: string;
        solcLongVersion: string;
        input: { settings: { optimizer: unknown; evmVersion: unknown } };
      };
      const source = await readFile(join(PROJECT_ROOT, artifact.sourceName));
      compiled.push(
        CompiledContract.parse({
          contractName: name,
          sourceName: artifact.sourceName,
          sourceSha256: createHash('sha256').update(source).digest('hex'),
          compiler: {
            version: buildInfo.solcVersion,
            longVersion: buildInfo.solcLongVersion,
            settings: {
              optimizer: buildInfo.input.settings.optimizer,
              evmVersion: buildInfo.input.settings.evmVersion,
            },
          },
          abi: artifact.abi,
          bytecode: artifact.bytecode.toLowerCase(),
          deployedBytecode: artifact.deployedBytecode.toLowerCase(),
        }),
      );
    }
    return compiled;
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

export const serializeCompiledContract = (c: CompiledContract): string => JSON.stringify(c, null, 2) + '\n';

async function main(args: string[]): Promise<number> {
  const isCheck = args.includes('--check');
  const compiled = await compileLedgerContracts();
  let stale = 0;
  for (const c of compiled) {
    const url = compiledArtifactUrl(c.contractName);
    const text = serializeCompiledContract(c);
    if (isCheck) {
      const committed = await readFile(url, 'utf8').catch(() => '');
      if (committed !== text) {
        stale += 1;
        console.error(`stale: ${fileURLToPath(url)}`);
      }
    } else {
      await mkdir(new URL('./', url), { recursive: true });
      await writeFile(url, text);
      console.log(`wrote ${fileURLToPath(url)}`);
    }
  }
  return stale === 0 ? 0 : 1;
}

if (import.meta.main) process.exitCode = await main(process.argv.slice(2));
