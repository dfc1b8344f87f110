// `sealgate keys rotate`: gives the gateway a new Ed25519 identity key, with the gateway stopped (docs/trust-model.md,
// "Recovery"). Steps, each safe to repeat after a crash (the command resumes where it stopped):
//   1. the successor's seed is sealed beside the current key (identity.ts beginKeyRotation);
//   2. everything signed with the current key is anchored, since the anchor contract takes only the current key;
//   3. the registry gets the successor, with the current key's signature over the hand-over (rotateKey);
//   4. the key store makes the successor the key and keeps the old public key as retired (finishKeyRotation), so the
//      old events still verify and get receipts.
// Partners check this gateway's peer requests against the key they registered for it: they register the new one.
import type { Logger } from 'pino';
import { openAnchorStore } from '../../consent/anchor-store.ts';
import { createAnchoring } from '../../consent/anchoring.ts';
import { openConsentStore } from '../../consent/consent-store.ts';
import { createSigner } from '../../consent/signer.ts';
import { openDatabase } from '../../core/database.ts';
import { GatewayError } from '../../core/errors.ts';
import { keyRotationMessage } from '../../contracts/key-rotation.ts';
import { startLedger } from '../../contracts/ledger-bootstrap.ts';
import { readLedgerAddresses } from '../../contracts/ledger-deployment.ts';
import { ledgerPortOf } from '../../contracts/ledger-port-adapter.ts';
import type { GatewayConfig } from '../config.ts';
import { beginKeyRotation, finishKeyRotation, loadOrCreateIdentity, type Identity } from '../identity/identity.ts';
import { DATABASE_FILE } from '../services/context.ts';
import { join } from 'node:path';

export type KeyRotationResult = { previousKeyId: string; keyId: string; txHash: string | null };

/** Runs the whole rotation; throws a GatewayError naming the step that failed (rerunning resumes from it). */
export async function rotateIdentityKey(config: GatewayConfig, log: Logger): Promise<KeyRotationResult> {
  if (config.ledger.mode === 'off')
    throw new GatewayError('BAD_INPUT', 'a key rotation needs the ledger: SEALGATE_LEDGER is off', {
      reason: 'ledger-off',
    });
  const identity = await loadOrCreateIdentity(config, log);
  const { current, next } = await beginKeyRotation(config, log);
  // The database is locked by a running gateway: opening it here is also the check that the gateway is stopped.
  const db = await openDatabase(join(config.dataDir, DATABASE_FILE), { threads: 1 }).catch((cause: unknown) => {
    throw new GatewayError(
      'CONFLICT',
      'the gateway database is in use: stop the gateway, then run `sealgate keys rotate` again',
      { reason: 'gateway-running' },
      { cause },
    );
  });
  try {
    const consentStore = await openConsentStore(db);
    const anchors = await openAnchorStore(db);
    const isExternal = config.ledger.mode === 'external';
    const addresses =
      isExternal && config.ledger.addresses !== undefined ? await readLedgerAddresses(config.ledger.addresses) : null;
    const start = async (publicKey: Uint8Array) =>
      startLedger({
        dataDir: config.dataDir,
        partyId: config.partyId,
        ed25519PublicKey: publicKey,
        evmPrivateKeyHex: identity.evm.privateKeyHex,
        ...(isExternal && config.ledger.rpcUrl !== undefined && addresses !== null
          ? { rpcUrl: config.ledger.rpcUrl, addresses }
          : {}),
        hasRecordedAnchors: await anchors.hasRecordedAnchors(),
        stateIntervalSeconds: config.ledger.stateIntervalSeconds,
        ...(config.ledger.chainPort === undefined ? {} : { chainPort: config.ledger.chainPort }),
        log: log.child({ component: 'ledger' }),
      });
    const isMismatch = (error: unknown): boolean =>
      error instanceof GatewayError && error.detail['reason'] === 'registration-mismatch';
    // Resuming after step 3, the registry lists the successor already: start-up with it then succeeds, and steps 2
    // and 3 are done.
    const ledger = await start(current.publicKeyRaw).catch(async (error: unknown) => {
      if (!isMismatch(error)) throw error;
      const resumed = await start(next.publicKeyRaw);
      await resumed.stop();
      return null;
    });
    let txHash: string | null = null;
    if (ledger !== null) {
      try {
        const anchoring = createAnchoring({
          store: anchors,
          ledger: ledgerPortOf(ledger.client, config.partyId),
          keyId: () => current.keyId,
          readHeads: () => consentStore.settledHeads(),
          log: log.child({ component: 'anchoring' }),
        });
        const flushed = await anchoring.flushNow();
        await anchoring.stop();
        if (flushed.error !== null) throw flushed.error;
        const { pendingRecords } = await anchors.readBacklog(await consentStore.settledHeads());
        if (pendingRecords > 0)
          throw new GatewayError('LEDGER_UNAVAILABLE', 'records signed with the current key are not all anchored', {
            reason: 'backlog',
            pendingRecords,
          });
        const message = keyRotationMessage({
          chainId: ledger.chainId,
          registry: ledger.addresses.registry,
          gatewayId: config.partyId,
          currentKey: current.publicKeyRaw,
          newKey: next.publicKeyRaw,
        });
        const signature = createSigner(current.privateKey).sign(message);
        txHash = (await ledger.client.rotateGatewayKey(config.partyId, next.publicKeyRaw, signature)).txHash;
      } finally {
        await ledger.stop();
      }
    }
    await consentStore.close();
    const finished: Identity = await finishKeyRotation(config, log);
    return { previousKeyId: current.keyId, keyId: finished.ed25519.keyId, txHash };
  } finally {
    await db.close();
  }
}
