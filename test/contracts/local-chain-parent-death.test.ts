// The embedded chain never outlives its gateway: when the gateway process dies, even by SIGKILL,
// the supervisor's lifeline pipe closes and anvil shuts down, writing its state first.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { startLedger } from '../../contracts/ledger-bootstrap.ts';
import type { StartedLedger } from '../../contracts/ledger-bootstrap.ts';
import {
  captureChainLog,
  hex,
  isProcessAlive,
  makeChainDataDir,
  makeGatewayKeys,
  waitUntil,
} from './local-chain-fixture.ts';

const CHILD = fileURLToPath(new URL('./local-chain-child.ts', import.meta.url));

let child: ChildProcess | undefined;
let anvilPid: number | undefined;
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  child?.kill('SIGKILL');
  // Never leave an anvil behind, even when an assertion failed first.
  if (anvilPid !== undefined && isProcessAlive(anvilPid)) process.kill(anvilPid, 'SIGKILL');
  child = undefined;
  anvilPid = undefined;
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

type ChildReport = { pid: number; root: string; recordHash: string; proof: string[] };

function readReport(proc: ChildProcess): Promise<ChildReport> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    proc.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      const newline = out.indexOf('\n');
      if (newline >= 0) resolve(JSON.parse(out.slice(0, newline)) as ChildReport);
    });
    proc.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      err += chunk;
    });
    proc.once('exit', (code) => reject(new Error(`child exited early (${code}): ${err.slice(-2_000)}`)));
  });
}

describe('embedded chain lifetime', () => {
  it('anvil exits when its parent gateway process dies', async () => {
    const dir = makeChainDataDir();
    cleanups.push(dir.remove);
    const keys = makeGatewayKeys('insurer');
    child = spawn(process.execPath, [CHILD], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        CHAIN_DATA_DIR: dir.dataDir,
        CHAIN_PARTY_ID: keys.partyId,
        CHAIN_ED25519_HEX: Buffer.from(keys.ed25519PublicKey).toString('hex'),
        CHAIN_EVM_KEY: keys.evmPrivateKeyHex,
      },
    });
    const report = await readReport(child);
    anvilPid = report.pid;
    expect(isProcessAlive(report.pid)).toBe(true);

    child.kill('SIGKILL');
    await waitUntil('anvil to exit after its parent died', () => !isProcessAlive(report.pid), 10_000);

    // The shutdown was graceful: with a one-hour dump interval, only anvil's exit dump holds the anchor.
    const ledger: StartedLedger = await startLedger({
      dataDir: dir.dataDir,
      partyId: keys.partyId,
      ed25519PublicKey: keys.ed25519PublicKey,
      evmPrivateKeyHex: keys.evmPrivateKeyHex,
      log: captureChainLog(),
    });
    cleanups.push(() => ledger.stop());
    expect(await ledger.client.verifyInclusionOnChain(report.root, report.recordHash, report.proof)).toBe(true);
    expect(await ledger.client.lastRootOf('insurer')).toBe(report.root);
    expect(hex(keys.ed25519PublicKey)).toBe((await ledger.client.getGateway('insurer'))?.ed25519PublicKey);
  });
});
