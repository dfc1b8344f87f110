// The upgrade path of commit a3403aa (docs/receipts.md §8): a data directory from before it has its embedded chain
// with the previous contracts deployed (GatewayRegistry without key history, ConsentAnchor.anchor(root, count,
// prevRoot)), a deployment record naming them, and anchor_batches rows anchored there without key id or status root.
// The current gateway started on it deploys the current contracts beside the old ones, registers again and anchors
// every batch again, in order, with key ids and status roots, losing nothing; the old contracts stay as they were.
// On an external chain the same old deployment fails the start with LEDGER_UNAVAILABLE (contracts-outdated).
//
// The previous version is imitated, not run: its compiled contracts are committed as fixtures
// (test/fixtures/ledger-v1/*.json = `git show d999f75:contracts/compiled/<Name>.json`), and the steps the previous
// gateway took on its chain (deploy, register, anchor, record the deployment) are replayed here with those artifacts,
// from the gateway's own EVM account, on its own embedded chain (the same anvil, data dir and chain id). Everything
// else is the current code: consent writes, the anchor store (rows are built with its insertBatch and marked with its
// markAnchored), and the whole second start.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Contract, ContractFactory, type Signer } from 'ethers';
import { afterAll, describe, expect, it } from 'vitest';
import { countOf, type AnchorBatch } from '../../consent/anchor-store.ts';
import { ZERO_ROOT } from '../../consent/ledger-port.ts';
import { buildMerkleTree } from '../../consent/merkle.ts';
import { buildStatusTree } from '../../consent/status-tree.ts';
import { loadCompiledContract } from '../../contracts/artifacts.ts';
import { startLedger } from '../../contracts/ledger-bootstrap.ts';
import { openLedgerConnection, type LedgerConnection } from '../../contracts/ledger-connection.ts';
import { deployLedger } from '../../contracts/ledger-deploy.ts';
import { DEPLOYMENT_FILE, deploymentOf, readDeployment, writeDeployment } from '../../contracts/ledger-deployment.ts';
import { ledgerPortOf } from '../../contracts/ledger-port-adapter.ts';
import { gatewayIdToBytes32, type LedgerAddresses } from '../../contracts/ledger-values.ts';
import { LOCAL_CHAIN_ID, chainDirOf, startLocalChain } from '../../contracts/local-chain.ts';
import { buildApp } from '../../gateway/http/app.ts';
import { loadConfig } from '../../gateway/config.ts';
import { createContext, type GatewayContext } from '../../gateway/services/context.ts';
import { decisionBody, grantBody } from '../fixtures/consent-bodies.ts';
import { bearer, captureLog, makeDataDir, TEST_PASSPHRASE } from '../fixtures/gateway-fixture.ts';
import { captureChainLog, makeChainDataDir, makeGatewayKeys } from './local-chain-fixture.ts';

const PARTY = 'dealer-4s';
const VERIFY_CLI = fileURLToPath(new URL('../../contracts/verify-cli.ts', import.meta.url));

type V1Name = 'GatewayRegistry' | 'ConsentAnchor' | 'DataPackageRegistry';
type V1Artifact = { abi: ConstructorParameters<typeof ContractFactory>[0]; bytecode: string; deployedBytecode: string };
const v1Artifact = (name: V1Name): V1Artifact =>
  JSON.parse(readFileSync(new URL(`../fixtures/ledger-v1/${name}.json`, import.meta.url), 'utf8')) as V1Artifact;
const v1Contract = (name: V1Name, address: string, signer: Signer): Contract =>
  new Contract(address, v1Artifact(name).abi, signer);

const hexOf = (bytes: Uint8Array): string => `0x${Buffer.from(bytes).toString('hex')}`;
const same = (a: string | null | undefined, b: string): boolean => a?.toLowerCase() === b.toLowerCase();

/**
 * The previous deployLedger (d999f75:contracts/ledger-deploy.ts), with the previous artifacts: registry (owned by its
 * deployer; the old constructor took no owner), then anchor and package registry, both wired to it.
 */
async function deployV1(signer: Signer, chainId: number): Promise<LedgerAddresses> {
  const deploy = async (name: V1Name, args: unknown[]) => {
    const { abi, bytecode } = v1Artifact(name);
    const contract = await new ContractFactory(abi, bytecode, signer).deploy(...args);
    const receipt = await contract.deploymentTransaction()!.wait();
    return { address: await contract.getAddress(), blockNumber: receipt!.blockNumber };
  };
  const registry = await deploy('GatewayRegistry', []);
  const anchor = await deploy('ConsentAnchor', [registry.address]);
  const packages = await deploy('DataPackageRegistry', [registry.address]);
  return {
    registry: registry.address,
    anchor: anchor.address,
    packages: packages.address,
    chainId,
    deployBlock: registry.blockNumber,
  };
}

/** The previous registry's register(id, ed25519PublicKey, evmAccount), which only its owner may call. */
async function registerV1(registry: Contract, partyId: string, ed25519PublicKey: Uint8Array, account: string) {
  const tx = await registry.getFunction('register')(gatewayIdToBytes32(partyId), hexOf(ed25519PublicKey), account);
  await tx.wait();
}

async function startGateway(dataDir: string, ledger: 'off' | 'local') {
  const log = captureLog();
  const config = loadConfig({
    SEALGATE_DATA_DIR: dataDir,
    SEALGATE_PASSPHRASE: TEST_PASSPHRASE,
    SEALGATE_PARTY_ID: PARTY,
    SEALGATE_LEDGER: ledger,
    SEALGATE_ANCHOR_INTERVAL_MS: '100',
    SEALGATE_CHAIN_STATE_INTERVAL_S: '1',
  });
  const ctx = await createContext(config, { logDestination: log.stream });
  const app = await buildApp(ctx);
  const token = async (role: Parameters<GatewayContext['tokens']['createToken']>[0]) =>
    (await ctx.tokens.createToken(role, 'test')).token;
  const tokens = { admin: await token('admin'), officer: await token('compliance-officer') };
  const steward = await token('data-steward');
  return {
    ctx,
    app,
    log,
    async grant(subjectId: string): Promise<{ recordId: string; subject: string }> {
      const res = await app.inject({
        method: 'POST',
        url: '/v1/consents',
        headers: bearer(tokens.admin),
        payload: grantBody(subjectId),
      });
      expect(res.statusCode, res.body).toBe(201);
      return { recordId: res.json().record.recordId, subject: res.json().record.subject };
    },
    async withdraw(recordId: string): Promise<void> {
      const res = await app.inject({
        method: 'POST',
        url: `/v1/consents/${recordId}/withdraw`,
        headers: bearer(tokens.admin),
        payload: { reason: 'no longer' },
      });
      expect(res.statusCode, res.body).toBe(200);
    },
    /** A policy decision: one audit entry. */
    async decide(subject: string): Promise<void> {
      const res = await app.inject({
        method: 'POST',
        url: '/v1/decisions',
        headers: bearer(steward),
        payload: decisionBody(subject),
      });
      expect(res.statusCode, res.body).toBe(200);
    },
    get: (url: string) => app.inject({ method: 'GET', url, headers: bearer(tokens.officer) }),
    messages: (): string[] => log.lines.map((line) => String((JSON.parse(line) as { msg?: unknown }).msg)),
    async close() {
      await app.close();
      await ctx.close();
    },
  };
}

const runCli = (document: unknown, rpcUrl: string, dir: string, flags: string[] = []) => {
  const file = join(dir, `document-${flags.join('')}.json`);
  writeFileSync(file, JSON.stringify(document));
  return spawnSync(process.execPath, [VERIFY_CLI, ...flags, file, '--rpc', rpcUrl], {
    encoding: 'utf8',
    timeout: 60_000,
  });
};

/** Number of Anchored events of `root` on the anchor contract at `address` (either version: the root is topic 2). */
async function anchoredEvents(conn: LedgerConnection, address: string, root: string): Promise<number> {
  const provider = await conn.provider();
  const logs = await provider.getLogs({ address, fromBlock: 0, toBlock: 'latest', topics: [null, null, root] });
  return logs.length;
}

describe('ledger upgrade from the contracts before key history and status roots', () => {
  const removals: (() => void)[] = [];
  afterAll(() => removals.splice(0).forEach((remove) => remove()));

  it('an embedded chain with the previous contracts gets the current ones, and every batch is anchored again on them with nothing lost', async () => {
    const dir = makeDataDir();
    removals.push(dir.remove);
    const { dataDir } = dir;
    const deploymentPath = join(chainDirOf(dataDir), DEPLOYMENT_FILE);

    // ---- The data directory as the previous version left it --------------------------------------------------------
    // The gateway creates its identity, database and consent log; with the ledger off, nothing touches a chain, so the
    // chain's history below is written by the previous contracts only.
    let gw = await startGateway(dataDir, 'off');
    const old = { roots: [] as string[], code: {} as Record<string, string> };
    let v1!: LedgerAddresses;
    let records!: { recordId: string; subject: string }[];
    try {
      const { identity, db } = gw.ctx;
      const anchors = gw.ctx.ledger.anchors;
      // The gateway's own embedded chain, as the previous version ran it: same data dir, chain id, anvil.
      const chain = await startLocalChain({ dataDir, log: captureChainLog(), chainId: LOCAL_CHAIN_ID });
      const conn = openLedgerConnection({
        rpcUrl: chain.rpcUrl,
        privateKey: identity.evm.privateKeyHex,
        pollingIntervalMs: 50,
      });
      try {
        await chain.fund(identity.evm.address);
        const signer = await conn.signer();
        // Deployed from the gateway's EVM account, so its account owns the old registry (what inspectContracts
        // checks before it calls the deployment outdated rather than foreign); the gateway registered itself there
        // with its Ed25519 key; and the record written is what the previous bootstrap wrote (the format is unchanged).
        v1 = await deployV1(signer, LOCAL_CHAIN_ID);
        await registerV1(
          v1Contract('GatewayRegistry', v1.registry, signer),
          PARTY,
          identity.ed25519.publicKeyRaw,
          identity.evm.address,
        );
        await writeDeployment(deploymentPath, deploymentOf(v1, identity.evm.address, new Date()));
        const v1Anchor = v1Contract('ConsentAnchor', v1.anchor, signer);

        // A batch as the previous anchoring service built it: the same ranges, leaf order and root (with one key,
        // a3403aa changed none of those), committed through the current store, then left without key id and status
        // root, the state migration 002 leaves every earlier row in. `isSent`: anchored on the old contract with its
        // three-argument anchor() and marked anchored, as the previous service did after the transaction was mined.
        const buildBatch = async (isSent: boolean): Promise<void> => {
          // verify() settles the audit journal into the table the batch reads.
          expect((await gw.ctx.consent.verify()).ok).toBe(true);
          const heads = await anchors.readHeads();
          const upTo = await anchors.readBatchedUpTo();
          const last = await anchors.lastBatch();
          const batchNo = (last?.batchNo ?? 0) + 1;
          const range = {
            eventsFrom: upTo.events + 1,
            eventsTo: heads.events,
            auditFrom: upTo.audit + 1,
            auditTo: heads.audit,
          };
          const leaves = [
            ...(await anchors.readLeafHashes('events', range.eventsFrom, range.eventsTo)),
            ...(await anchors.readLeafHashes('audit', range.auditFrom, range.auditTo)),
          ];
          const root = hexOf(buildMerkleTree(leaves.map((h) => Buffer.from(h, 'hex'))).root);
          const prevRoot = last?.root ?? ZERO_ROOT;
          const batch = await anchors.insertBatch(
            { batchNo, ...range, root, prevRoot, keyId: identity.ed25519.keyId, stateRoot: ZERO_ROOT },
            new Date(),
          );
          await db.transaction((tx) =>
            tx.run('UPDATE anchor_batches SET key_id = NULL, state_root = NULL WHERE batch_no = $1', [batchNo]),
          );
          old.roots.push(root);
          if (!isSent) return;
          const tx = await v1Anchor.getFunction('anchor')(root, batch.count, prevRoot);
          const receipt = await tx.wait();
          const block = await (await conn.provider()).getBlock(receipt.blockNumber);
          await anchors.markAnchored(
            batchNo,
            {
              txHash: receipt.hash,
              blockNumber: receipt.blockNumber,
              blockTime: block!.timestamp,
              gasUsed: Number(receipt.gasUsed),
              chainId: LOCAL_CHAIN_ID,
              contract: v1.anchor,
            },
            new Date(),
          );
        };

        // Batch 1: three grants and a decision. Batch 2: a withdrawal, a grant, a decision. Batch 3: a grant, built
        // but never sent (the previous gateway stopped between committing and sending). Then a grant never batched.
        records = [await gw.grant('upgrade-subject-1'), await gw.grant('upgrade-subject-2')];
        records.push(await gw.grant('upgrade-subject-3'));
        await gw.decide(records[0]!.subject);
        await buildBatch(true);
        await gw.withdraw(records[1]!.recordId);
        records.push(await gw.grant('upgrade-subject-4'));
        await gw.decide(records[3]!.subject);
        await buildBatch(true);
        records.push(await gw.grant('upgrade-subject-5'));
        await buildBatch(false);
        records.push(await gw.grant('upgrade-subject-6'));

        const oldBatches = await anchors.listBatches(0, 100);
        expect(oldBatches.map((b) => [b.status, b.keyId, b.stateRoot])).toEqual([
          ['anchored', null, null],
          ['anchored', null, null],
          ['built', null, null],
        ]);
        const provider = await conn.provider();
        for (const name of ['registry', 'anchor', 'packages'] as const)
          old.code[name] = await provider.getCode(v1[name]);
        expect(old.code['registry']).toBe(v1Artifact('GatewayRegistry').deployedBytecode);
        expect(old.code['registry']).not.toBe(loadCompiledContract('GatewayRegistry').deployedBytecode);
        expect(await v1Anchor.getFunction('lastRootOf')(gatewayIdToBytes32(PARTY))).toBe(old.roots[1]);
      } finally {
        conn.close();
        await chain.stop(); // writes the chain state the next start loads
      }
    } finally {
      await gw.close();
    }

    // ---- The current gateway on that data directory -----------------------------------------------------------------
    gw = await startGateway(dataDir, 'local');
    try {
      const { ctx } = gw;
      const started = ctx.ledger.ledger!;
      const anchoring = ctx.ledger.anchoring!;
      expect(gw.messages()).toContain('ledger contracts are from an older version: deploying current ones');

      // The record names the new contracts; the registry there is the current build and holds this gateway.
      const deployment = (await readDeployment(deploymentPath))!;
      expect(deployment.deployer).toBe(ctx.identity.evm.address);
      for (const name of ['registry', 'anchor', 'packages'] as const) {
        expect(deployment.addresses[name]).toBe(started.addresses[name]);
        expect(same(deployment.addresses[name], v1[name])).toBe(false);
      }
      const conn = openLedgerConnection({ rpcUrl: started.rpcUrl, timeoutMs: 15_000 });
      try {
        const provider = await conn.provider();
        expect(await provider.getCode(deployment.addresses.registry)).toBe(
          loadCompiledContract('GatewayRegistry').deployedBytecode,
        );
        expect(await started.client.getGateway(PARTY)).toMatchObject({
          status: 'Active',
          ed25519PublicKey: hexOf(ctx.identity.ed25519.publicKeyRaw),
          evmAccount: ctx.identity.evm.address,
          keyId: ctx.identity.ed25519.keyId,
        });

        // Every batch is anchored on the new ConsentAnchor with a key id and a status root.
        const flushed = await anchoring.flushNow();
        expect(flushed.error).toBeNull();
        expect(anchoring.status()).toMatchObject({ state: 'ok', pendingRecords: 0, builtBatches: 0 });
        const messages = gw.messages();
        expect(messages).not.toContain('anchoring failed; will retry');
        expect(messages.filter((m) => m === 'recorded anchor is missing on chain; it will be sent again')).toHaveLength(
          2,
        );

        // Exactly once (as test/consent/anchoring-exactly-once.test.ts checks): every seq of both chains lies in one
        // batch, batches chain by prevRoot, each root rebuilds from its leaves and is on the new chain once, with
        // this gateway's key id and the status root over every record's last event up to the batch's end.
        const anchors = ctx.ledger.anchors;
        const port = ledgerPortOf(started.client, PARTY);
        const heads = await anchors.readHeads();
        const batches: AnchorBatch[] = await anchors.listBatches(0, 1_000);
        expect(batches.length).toBeGreaterThanOrEqual(4);
        expect(batches.slice(0, 3).map((b) => b.root)).toEqual(old.roots); // the same batches, not rebuilt
        const seen = { events: new Map<number, number>(), audit: new Map<number, number>() };
        let prevRoot: string = ZERO_ROOT;
        for (const b of batches) {
          for (let s = b.eventsFrom; s <= b.eventsTo; s++) seen.events.set(s, (seen.events.get(s) ?? 0) + 1);
          for (let s = b.auditFrom; s <= b.auditTo; s++) seen.audit.set(s, (seen.audit.get(s) ?? 0) + 1);
          expect(b).toMatchObject({ status: 'anchored', prevRoot, keyId: ctx.identity.ed25519.keyId });
          expect(same(b.contract, started.addresses.anchor)).toBe(true);
          const leaves = await anchors.readBatchLeaves(b);
          expect(hexOf(buildMerkleTree(leaves.map((x) => Buffer.from(x, 'hex'))).root)).toBe(b.root);
          expect(b.stateRoot).toBe(hexOf(buildStatusTree(await anchors.readStatusLeaves(b.eventsTo)).root));
          expect(await port.findAnchorTx(b.root)).toMatchObject({
            gatewayId: PARTY,
            count: countOf(b),
            prevRoot,
            txHash: b.txHash,
            blockNumber: b.blockNumber,
            blockTime: b.blockTime,
            keyId: ctx.identity.ed25519.keyId,
            stateRoot: b.stateRoot,
          });
          expect(await anchoredEvents(conn, started.addresses.anchor, b.root)).toBe(1);
          prevRoot = b.root;
        }
        const seqs = (n: number) => Array.from({ length: n }, (_, i) => i + 1);
        expect([...seen.events.keys()].sort((a, b) => a - b)).toEqual(seqs(heads.events));
        expect([...seen.audit.keys()].sort((a, b) => a - b)).toEqual(seqs(heads.audit));
        expect([...seen.events.values(), ...seen.audit.values()].every((n) => n === 1)).toBe(true);
        expect(heads.events).toBe(7); // six grants and a withdrawal
        expect(await port.lastRootOf(PARTY)).toBe(prevRoot);

        // The old contracts are still there, as they were: code, their last root, their two anchors and nothing more.
        for (const name of ['registry', 'anchor', 'packages'] as const) {
          expect(await provider.getCode(v1[name])).toBe(old.code[name]);
        }
        const v1Anchor = new Contract(v1.anchor, v1Artifact('ConsentAnchor').abi, provider);
        expect(await v1Anchor.getFunction('lastRootOf')(gatewayIdToBytes32(PARTY))).toBe(old.roots[1]);
        expect(await v1Anchor.getFunction('isAnchored')(old.roots[0])).toBe(true);
        expect(await v1Anchor.getFunction('isAnchored')(old.roots[2])).toBe(false);
        for (const root of old.roots) {
          expect(await anchoredEvents(conn, v1.anchor, root)).toBe(root === old.roots[2] ? 0 : 1);
        }
      } finally {
        conn.close();
      }

      // A receipt of a record first anchored on the old contract, and a status proof, verify against the chain alone.
      const proof = await gw.get(`/v1/consents/${records[0]!.recordId}/proof`);
      expect(proof.statusCode, proof.body).toBe(200);
      const receipt = proof.json().receipts[0];
      expect(receipt).toMatchObject({ status: 'anchored' });
      expect(same(receipt.anchor.contract, started.addresses.anchor)).toBe(true);
      const verified = runCli(receipt, started.rpcUrl, dataDir);
      expect(verified.status, verified.stdout + verified.stderr).toBe(0);

      const status = await gw.get(`/v1/consents/${records[1]!.recordId}/status-proof`);
      expect(status.statusCode, status.body).toBe(200);
      const statusRun = runCli(status.json(), started.rpcUrl, dataDir, ['--status']);
      expect(statusRun.status, statusRun.stdout + statusRun.stderr).toBe(0);
      expect(statusRun.stdout).toMatch(/is withdrawn at event [0-9a-f-]{36} \(seq 4, withdraw/);
    } finally {
      await gw.close();
    }
  }, 60_000);

  it('an external chain holding the previous contracts fails the start with LEDGER_UNAVAILABLE (contracts-outdated)', async () => {
    // The consortium chain: a second anvil whose registry owner (an admin key) deployed the previous contracts and
    // registered the gateway there.
    const chainDir = makeChainDataDir();
    removals.push(chainDir.remove);
    const consortium = await startLocalChain({ dataDir: chainDir.dataDir, log: captureChainLog() });
    try {
      const admin = makeGatewayKeys('admin');
      const gateway = makeGatewayKeys(PARTY);
      await consortium.fund(admin.evmAddress);
      const conn = openLedgerConnection({
        rpcUrl: consortium.rpcUrl,
        privateKey: admin.evmPrivateKeyHex,
        pollingIntervalMs: 50,
      });
      let v1: LedgerAddresses;
      try {
        const signer = await conn.signer();
        v1 = await deployV1(signer, LOCAL_CHAIN_ID);
        await registerV1(
          v1Contract('GatewayRegistry', v1.registry, signer),
          PARTY,
          gateway.ed25519PublicKey,
          gateway.evmAddress,
        );
      } finally {
        conn.close();
      }
      const gatewayDir = makeChainDataDir();
      removals.push(gatewayDir.remove);
      const options = {
        dataDir: gatewayDir.dataDir,
        partyId: PARTY,
        ed25519PublicKey: gateway.ed25519PublicKey,
        evmPrivateKeyHex: gateway.evmPrivateKeyHex,
        rpcUrl: consortium.rpcUrl,
        log: captureChainLog(),
      };
      const refused = await startLedger({ ...options, addresses: v1 }).catch((e: unknown) => e);
      expect(refused).toMatchObject({ code: 'LEDGER_UNAVAILABLE', detail: { reason: 'contracts-outdated' } });

      // The same start against the current contracts on the same chain is accepted: it is the version that is refused.
      const current = await deployLedger({
        rpcUrl: consortium.rpcUrl,
        privateKey: admin.evmPrivateKeyHex,
        pollingIntervalMs: 50,
      });
      const accepted = await startLedger({ ...options, addresses: current });
      await accepted.stop();
    } finally {
      await consortium.stop();
    }
  });
});
