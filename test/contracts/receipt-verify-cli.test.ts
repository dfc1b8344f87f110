// The verifier CLI, run as a child process against an HTTP JSON-RPC endpoint (Hardhat 3's
// network.createServer over its in-process EDR chain): a third party with a receipt file and an RPC URL.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { network } from 'hardhat';
import type { JsonRpcServer } from 'hardhat/types/network';
import type { EthereumProvider } from 'hardhat/types/providers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Receipt } from '../../consent/receipt.ts';
import { signReceipt, type UnsignedReceipt } from '../../consent/receipt.ts';
import { CHECK_NAMES } from '../../consent/receipt-verifier.ts';
import { runVerifyCli } from '../../contracts/verify-cli.ts';
import { signStatement, statementHash, type AnchoredStatement } from '../../consent/anchored-statement.ts';
import { canonicalHash } from '../../consent/canonical.ts';
import { gatewayIdToBytes32 } from '../../contracts/ledger-values.ts';
import { deployFreshLedger, type SimulatedChain } from '../fixtures/contracts-fixture.ts';
import { openAnchoringHarness, writeGrants, type AnchoringHarness } from '../fixtures/anchoring-fixture.ts';

const REPO = fileURLToPath(new URL('../..', import.meta.url));

let server: JsonRpcServer;
let rpcUrl: string;
let h: AnchoringHarness;
let registry: string;
let statement: AnchoredStatement;
let statementSeq: number;

/** EIP-1193 over plain HTTP JSON-RPC, so the fixtures drive the same chain the CLI reads. */
function httpProvider(url: string): EthereumProvider {
  let id = 0;
  const request = async ({ method, params }: { method: string; params?: unknown }): Promise<unknown> => {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: ++id, method, params: params ?? [] }),
    });
    const body = (await response.json()) as {
      result?: unknown;
      error?: { message: string; code: number; data?: unknown };
    };
    if (body.error !== undefined)
      throw Object.assign(new Error(body.error.message), { code: body.error.code, data: body.error.data });
    return body.result;
  };
  return { request } as unknown as EthereumProvider;
}

type Run = { code: number | null; stdout: string; stderr: string };
/** Asynchronous on purpose: the JSON-RPC server lives in this process and must keep answering. */
function runCli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['contracts/verify-cli.ts', ...args], {
      cwd: REPO,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('verify-cli did not finish'));
    }, 30_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const save = (name: string, receipt: unknown): string => {
  const file = join(h.dir, name);
  writeFileSync(file, JSON.stringify(receipt, null, 2));
  return file;
};

beforeAll(async () => {
  server = await network.createServer('default', '127.0.0.1');
  const { address, port } = await server.listen();
  rpcUrl = `http://${address}:${port}`;
  const provider = httpProvider(rpcUrl);
  const chain: SimulatedChain = {
    provider,
    accounts: (await provider.request({ method: 'eth_accounts' })) as string[],
    close: async () => undefined,
  };
  const ledger = await deployFreshLedger(chain);
  registry = ledger.addresses.registry;
  h = await openAnchoringHarness(chain, ledger);
  await writeGrants(h, 4);
  statement = signStatement('sealgate/lift-certificate/v1', { issuer: 'dealer', certificateId: 'c-1' }, h.signer);
  const recorded = await h.log.appendAudit({
    kind: 'valuation',
    actor: 'token:t1',
    action: 'lift-certificate-issue',
    outcome: 'ok',
    refs: ['c-1'],
    detail: { statementHash: statementHash(statement.context, statement.body) },
  });
  statementSeq = recorded.seq;
  expect((await h.anchoring().flushNow()).error).toBeNull();
});
afterAll(async () => {
  await h?.dispose();
  await server?.close();
});

describe('verify-cli', () => {
  it('a receipt verifies through the CLI against an HTTP JSON-RPC endpoint', async () => {
    const eventFile = save('event.json', await h.issuer.issueAnchoredReceipt({ chain: 'events', seq: 2 }));
    const auditReceipt = await h.issuer.issueAnchoredReceipt({ chain: 'audit', seq: 4 });
    const auditFile = save('audit.json', auditReceipt);
    const [byDefault, explicit] = await Promise.all([
      runCli([eventFile, '--rpc', rpcUrl]),
      runCli([auditFile, '--rpc', rpcUrl, '--anchor', auditReceipt.anchor!.contract, '--registry', registry]),
    ]);
    for (const run of [byDefault, explicit]) {
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      for (const name of CHECK_NAMES.filter((n) => n !== 'not-anchored'))
        expect(run.stdout).toMatch(new RegExp(`✓ ${name}\\s`));
      expect(run.stdout).toContain('verify: OK');
    }
    // The registry came from ConsentAnchor.registry() when not given.
    expect(byDefault.stdout).toContain(`registry ${registry}`);
  });

  it('--statement verifies a signed statement with its receipt; a changed byte exits 1', async () => {
    const receipt = await h.issuer.issueAnchoredReceipt({ chain: 'audit', seq: statementSeq });
    const changed = { ...statement, body: { ...statement.body, certificateId: 'c-2' } };
    const [ok, bad] = await Promise.all([
      runCli(['--statement', save('statement.json', { statement, receipt }), '--rpc', rpcUrl]),
      runCli(['--statement', save('changed.json', { statement: changed, receipt }), '--rpc', rpcUrl]),
    ]);
    expect([ok.code, ok.stderr]).toEqual([0, '']);
    for (const name of ['statement-signature', 'statement-recorded', 'on-chain-inclusion'])
      expect(ok.stdout).toMatch(new RegExp(`✓ ${name}\\s`));
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('FAILED at statement-signature');
  });

  it('--listing checks a listing against the package registry; a changed byte or an unlisted hash exits 1', async () => {
    const content = { title: 'Automotive behaviour', consentBasis: { root: `0x${'cd'.repeat(32)}` } };
    const contentHash = canonicalHash(content);
    await h.client.registerPackage({
      packageId: gatewayIdToBytes32('pkg-cli'),
      listingHash: `0x${contentHash}`,
      valuationReportHash: `0x${'00'.repeat(32)}`,
      consentBasisRoot: content.consentBasis.root,
    });
    const anchor = { chainId: h.client.addresses.chainId, registry: h.client.addresses.packages };
    const listing = { listingId: 'l-1', packageId: 'pkg-cli', contentHash, content, anchor };
    const changed = { ...listing, content: { ...content, title: 'Automotive behaviour!' } };
    const rehashed = { ...changed, contentHash: canonicalHash(changed.content) };
    const [ok, bad, other] = await Promise.all([
      runCli(['--listing', save('listing.json', listing), '--rpc', rpcUrl]),
      runCli(['--listing', save('listing-changed.json', changed), '--rpc', rpcUrl]),
      runCli(['--listing', save('listing-rehashed.json', rehashed), '--rpc', rpcUrl]),
    ]);
    expect([ok.code, ok.stderr]).toEqual([0, '']);
    expect(ok.stdout).toMatch(/✓ on-chain-consent-root\s/);
    expect([bad.code, bad.stderr]).toEqual([1, expect.stringContaining('FAILED at listing-hash')]);
    expect([other.code, other.stderr]).toEqual([1, expect.stringContaining('FAILED at on-chain-listing')]);
  });

  it('a forged or pending receipt exits 1 naming the failing check', async () => {
    const receipt = await h.issuer.issueAnchoredReceipt({ chain: 'events', seq: 3 });
    const { signature: _s, ...unsigned } = structuredClone(receipt) as Receipt;
    const forged = signReceipt(
      {
        ...unsigned,
        record: { ...unsigned.record, event: { ...unsigned.record.event!, actor: 'tok_attacker' } },
      } as UnsignedReceipt,
      h.signer,
    );
    await writeGrants(h, 1, 40);
    const pending = await h.issuer.issueReceipt({ chain: 'events', seq: 5 });
    const [bad, early] = await Promise.all([
      runCli([save('forged.json', forged), '--rpc', rpcUrl]),
      runCli([save('pending.json', pending), '--rpc', rpcUrl]),
    ]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/✗ record-hash\s/);
    expect(bad.stderr).toContain('FAILED at record-hash');
    expect(early.code).toBe(1);
    expect(early.stderr).toContain('FAILED at not-anchored');
  });

  it('an unreachable RPC fails the chain checks; bad usage exits 2', async () => {
    const file = save('ok.json', await h.issuer.issueAnchoredReceipt({ chain: 'events', seq: 1 }));
    const down = await runCli([file, '--rpc', 'http://127.0.0.1:9', '--timeout-ms', '3000']);
    expect(down.code).toBe(1);
    expect(down.stdout).toMatch(/✗ on-chain-root\s+chain read failed: LEDGER_UNAVAILABLE/);
    expect(down.stdout).toMatch(/✓ merkle-path\s/);

    const io = {
      lines: [] as string[],
      out(l: string) {
        this.lines.push(l);
      },
      err(l: string) {
        this.lines.push(l);
      },
    };
    expect(await runVerifyCli([file], io)).toBe(2); // no --rpc
    expect(await runVerifyCli([file, '--rpc', 'ftp://x'], io)).toBe(2);
    expect(await runVerifyCli([join(h.dir, 'missing.json'), '--rpc', rpcUrl], io)).toBe(2);
    expect(await runVerifyCli([file, '--rpc', rpcUrl, '--bogus'], io)).toBe(2);
    expect(await runVerifyCli([file, '--rpc', rpcUrl, '--registry', 'not-an-address'], io)).toBe(2);
  });

  it("reads a relative receipt path from the caller's directory (npm's INIT_CWD), and names the path it tried", async () => {
    // `npm run verify` runs in the repository root: the receipt is where the caller stood.
    const elsewhere = mkdtempSync(join(tmpdir(), 'sealgate-verify-'));
    try {
      const missing = await runCli(['receipt.json', '--rpc', 'http://127.0.0.1:9'], { INIT_CWD: elsewhere });
      expect(missing.code).toBe(2);
      expect(missing.stderr).toContain(`${join(elsewhere, 'receipt.json')} (ENOENT)`);
      writeFileSync(join(elsewhere, 'receipt.json'), '{"not": "a receipt"');
      const broken = await runCli(['receipt.json', '--rpc', 'http://127.0.0.1:9'], { INIT_CWD: elsewhere });
      expect(broken.stderr).toContain(`${join(elsewhere, 'receipt.json')} (not JSON)`);
    } finally {
      rmSync(elsewhere, { recursive: true, force: true });
    }
  });
});
