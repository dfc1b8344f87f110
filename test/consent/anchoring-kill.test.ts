// Killing the real gateway process while it anchors loses nothing and anchors nothing twice. The
// gateway runs as a child process with its embedded chain; it is SIGKILLed mid-stream twice (the chain,
// supervised by the gateway, stops with it and keeps its state), restarted, and then the batches on
// disk are compared with the chain itself: one on-chain anchor per batch, linked in order, every
// acknowledged record inside exactly one anchored batch, and every receipt verifying.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { connectLedger } from '../../contracts/ledger-client.ts';
import { openChainReader } from '../../contracts/ledger-port-adapter.ts';
import { verifyReceipt } from '../../consent/receipt-verifier.ts';
import { startChildGateway, type ChildGateway } from '../fixtures/child-gateway.ts';
import { grantBody } from '../fixtures/consent-bodies.ts';
import { callJson, issueTokens } from './gateway-http.ts';

const LEDGER_ENV = {
  SEALGATE_LEDGER: 'local',
  SEALGATE_ANCHOR_INTERVAL_MS: '100',
  SEALGATE_ANCHOR_BATCH_MAX: '25',
  SEALGATE_CHAIN_STATE_INTERVAL_S: '1',
  SEALGATE_RATE_LIMIT_MAX: '100000',
  SEALGATE_PARTY_ID: 'dealer-4s',
};
const ZERO_ROOT = `0x${'0'.repeat(64)}`;

type Batch = {
  batchNo: number;
  eventsFrom: number;
  eventsTo: number;
  auditFrom: number;
  auditTo: number;
  root: string;
  prevRoot: string;
  status: string;
};

describe('killing the gateway during anchoring', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'sealgate-anchor-kill-'));
  let gateway: ChildGateway | undefined;
  afterAll(async () => {
    await gateway?.kill();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('loses nothing and anchors nothing twice', async () => {
    gateway = await startChildGateway({ dataDir, env: LEDGER_ENV });
    const admin = gateway.adminToken ?? '';
    const { collector, 'compliance-officer': officer } = await issueTokens(gateway.url, admin, [
      'collector',
      'compliance-officer',
    ] as const);
    const acknowledged = new Map<string, string>();
    let next = 0;

    for (let cycle = 0; cycle < 2; cycle++) {
      const url = gateway.url;
      const inFlight: Promise<void>[] = [];
      for (let i = 0; i < 120; i++) {
        const n = next++;
        inFlight.push(
          callJson({
            baseUrl: url,
            method: 'POST',
            path: '/v1/consents',
            token: collector,
            body: grantBody(`kill-anchor-${n}`),
          }).then(
            (res) => {
              if (res.status === 201) {
                const record = res.body.record as { recordId: string };
                const events = res.body.events as { hash: string }[];
                acknowledged.set(record.recordId, events.at(-1)?.hash ?? '');
              }
            },
            () => undefined,
          ),
        );
        // Let anchoring batches form and be sent while writes keep arriving.
        if (i % 20 === 19) await new Promise((r) => setTimeout(r, 60));
      }
      await Promise.race([Promise.all(inFlight), new Promise((r) => setTimeout(r, 400))]);
      await gateway.kill('SIGKILL');
      await Promise.allSettled(inFlight);
      gateway = await startChildGateway({ dataDir, env: LEDGER_ENV });
    }
    expect(acknowledged.size).toBeGreaterThan(100);

    // Drain: the restarted gateway reconciles with the chain and anchors the backlog.
    let status: Record<string, unknown> = {};
    for (let i = 0; i < 100; i++) {
      status = (await callJson({ baseUrl: gateway.url, method: 'GET', path: '/v1/ledger/status', token: officer }))
        .body;
      if (status.state === 'ok' && status.pendingRecords === 0) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(status).toMatchObject({ state: 'ok', pendingRecords: 0 });

    const report = (await callJson({ baseUrl: gateway.url, method: 'GET', path: '/v1/audit/report', token: officer }))
      .body as {
      batches: Batch[];
      verification: { ok: boolean };
    };
    expect(report.verification.ok).toBe(true);
    const batches = report.batches;
    // Contiguous, non-overlapping ranges: every record lies in exactly one batch.
    batches.forEach((b, i) => {
      expect(b.status).toBe('anchored');
      const prev = batches[i - 1];
      expect(b.eventsFrom).toBe(prev === undefined ? 1 : prev.eventsTo + 1);
      expect(b.auditFrom).toBe(prev === undefined ? 1 : prev.auditTo + 1);
      expect(b.prevRoot).toBe(prev === undefined ? ZERO_ROOT : prev.root);
    });

    // The chain holds exactly these roots, linked in the same order, and nothing else for this gateway.
    const contracts = status.contracts as { registry: string; anchor: string; packages: string };
    const rpcUrl = String(status.rpcUrl);
    const chainId = Number(status.chainId);
    const client = connectLedger({ rpcUrl, addresses: { ...contracts, chainId, deployBlock: 0 } });
    try {
      let root = await client.lastRootOf('dealer-4s');
      const onChain: string[] = [];
      while (root !== ZERO_ROOT) {
        onChain.unshift(root);
        const anchor = await client.findAnchorTx(root);
        expect(anchor).not.toBeNull();
        root = anchor?.prevRoot ?? ZERO_ROOT;
      }
      expect(onChain).toEqual(batches.map((b) => b.root));
    } finally {
      client.close();
    }

    // Every acknowledged record is present with its hash, and its receipt verifies against the chain.
    const { reader, close } = await openChainReader({ rpcUrl, chainId, anchor: contracts.anchor });
    try {
      const sample = [...acknowledged].filter((_, i) => i % 10 === 0);
      for (const [recordId, hash] of acknowledged) {
        const proof = await callJson({
          baseUrl: gateway.url,
          method: 'GET',
          path: `/v1/consents/${recordId}/proof`,
          token: officer,
        });
        expect(proof.status).toBe(200);
        const receipts = proof.body.receipts as { status: string; record: { hash: string } }[];
        expect(receipts.map((r) => r.record.hash)).toContain(hash);
        expect(receipts.every((r) => r.status === 'anchored')).toBe(true);
        if (sample.some(([id]) => id === recordId)) {
          for (const receipt of receipts) expect((await verifyReceipt(receipt, reader)).ok).toBe(true);
        }
      }
    } finally {
      close();
    }
  }, 180_000);
});
