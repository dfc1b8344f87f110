// The demo's three gateways (docs/demo.md): each in its own data directory with its own keys, listening on loopback,
// anchoring on one shared chain as consortium partners share one ledger. The dealer's gateway runs the embedded chain
// and owns its registry; the insurer and the charging network connect to it as to an external chain, and the dealer
// registers them and funds their accounts, as a consortium's registry owner and operator do. They run in this
// process, so the demo can start and stop them together; each is a whole gateway (the same context and HTTP app
// `sealgate serve` starts).
import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { loadConfig } from '../config.ts';
import { startGateway, type RunningGateway } from '../server.ts';
import { DEMO_PARTIES, type DemoParty } from './population.ts';

/**
 * The passphrase every demo gateway seals its keys with. A demo's keys guard synthetic data in a throwaway directory;
 * a real gateway takes its own from SEALGATE_PASSPHRASE.
 */
export const DEMO_PASSPHRASE = 'sealgate demo passphrase: synthetic data only';

export type DemoGateway = RunningGateway & { party: DemoParty; dataDir: string; logFile: string };

export type DemoGateways = {
  gateways: Record<DemoParty, DemoGateway>;
  /** The shared chain's JSON-RPC URL, for `npm run verify`. */
  rpcUrl: string;
  close(): Promise<void>;
};

const discard = new Writable({ write: (_chunk, _encoding, done) => done() });

async function startOne(party: DemoParty, root: string, ledgerEnv: Record<string, string>): Promise<DemoGateway> {
  const dataDir = join(root, party);
  mkdirSync(dataDir, { recursive: true });
  const logFile = join(root, `${party}.log`);
  const config = loadConfig({
    SEALGATE_DATA_DIR: dataDir,
    SEALGATE_PARTY_ID: party,
    SEALGATE_PASSPHRASE: DEMO_PASSPHRASE,
    SEALGATE_LOG_LEVEL: 'info',
    SEALGATE_RATE_LIMIT_MAX: '1000000',
    SEALGATE_PEER_RATE_LIMIT_MAX: '1000000',
    // Batches every second: a receipt is anchored by the time the demo asks for it.
    SEALGATE_ANCHOR_INTERVAL_MS: '1000',
    PORT: '0',
    HOST: '127.0.0.1',
    ...ledgerEnv,
  });
  const running = await startGateway(config, { stdout: discard, logDestination: createWriteStream(logFile) });
  return { ...running, party, dataDir, logFile };
}

/** Starts the dealer (with the chain), then the two partners on its chain, registered by the dealer. */
export async function startDemoGateways(root: string): Promise<DemoGateways> {
  const started: DemoGateway[] = [];
  const close = async () => {
    // Partners first: the chain they anchor on stops with the dealer.
    for (const gw of [...started].reverse()) await gw.close().catch(() => undefined);
  };
  try {
    const dealer = await startOne('dealer-4s', root, { SEALGATE_LEDGER: 'local' });
    started.push(dealer);
    const chain = dealer.ctx.ledger.ledger;
    if (chain === null) throw new Error('the dealer gateway started without its chain');
    const shared = {
      SEALGATE_LEDGER: 'external',
      SEALGATE_RPC_URL: chain.rpcUrl,
      SEALGATE_LEDGER_ADDRESSES: JSON.stringify(chain.addresses),
    };
    for (const party of DEMO_PARTIES.slice(1)) {
      const gw = await startOne(party, root, shared);
      started.push(gw);
      await chain.client.registerGateway({
        id: party,
        ed25519PublicKey: gw.ctx.identity.ed25519.publicKeyRaw,
        evmAccount: gw.ctx.identity.evm.address,
      });
      // Its account pays for its anchors: on the embedded chain the operator tops it up, as a consortium funds members.
      await chain.localChain?.fund(gw.ctx.identity.evm.address);
    }
    const [d, i, c] = started as [DemoGateway, DemoGateway, DemoGateway];
    return { gateways: { 'dealer-4s': d, 'insurer-a': i, 'charging-net': c }, rpcUrl: chain.rpcUrl, close };
  } catch (error) {
    await close();
    throw error;
  }
}
