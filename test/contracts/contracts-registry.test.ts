// GatewayRegistry invariants on the in-process Hardhat network (DESIGN.md §3 Partner registry).
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createSigner, type Signer } from '../../consent/signer.ts';
import { keyRotationMessage } from '../../contracts/key-rotation.ts';
import type { LedgerClient } from '../../contracts/ledger-client.ts';
import { bytes32Of, codeOf } from '../fixtures/contracts-fixture.ts';
import { useFreshLedger } from '../fixtures/fresh-ledger.ts';
import type { Ledger, SimulatedChain } from '../fixtures/contracts-fixture.ts';

const hex = (b: Uint8Array): string => `0x${Buffer.from(b).toString('hex')}`;
const newSigner = (): Signer => createSigner(generateKeyPairSync('ed25519').privateKey);

let chain: SimulatedChain;
let ledger: Ledger;
let dealer: LedgerClient;

useFreshLedger({ 'dealer-4s': 1 }, (fresh) => {
  ({ chain, ledger } = fresh);
  dealer = fresh.gateways['dealer-4s']!;
});

describe('GatewayRegistry', () => {
  it("a key rotation needs the current key's signature, and the registry keeps every key with its blocks", async () => {
    const keys = [newSigner(), newSigner(), newSigner()];
    const account = chain.accounts[5]!;
    await ledger.admin.registerGateway({ id: 'rotator', ed25519PublicKey: keys[0]!.publicKey, evmAccount: account });
    const rotator = ledger.clientFor(account);
    const handOver = (from: Signer, to: Signer): Uint8Array =>
      from.sign(
        keyRotationMessage({
          chainId: ledger.addresses.chainId,
          registry: ledger.addresses.registry,
          gatewayId: 'rotator',
          currentKey: from.publicKey,
          newKey: to.publicKey,
        }),
      );
    // The EVM account alone cannot name a key: no signature, another key's, or the new key's own are refused.
    for (const signature of [new Uint8Array(64), handOver(keys[1]!, keys[1]!), handOver(keys[2]!, keys[1]!)])
      expect(await codeOf(rotator.rotateGatewayKey('rotator', keys[1]!.publicKey, signature))).toBe(
        'LEDGER_UNAUTHORIZED',
      );
    // A signature names exactly one successor: replaying it for another key fails.
    expect(await codeOf(rotator.rotateGatewayKey('rotator', keys[2]!.publicKey, handOver(keys[0]!, keys[1]!)))).toBe(
      'LEDGER_UNAUTHORIZED',
    );
    const first = await rotator.rotateGatewayKey('rotator', keys[1]!.publicKey, handOver(keys[0]!, keys[1]!));
    const second = await rotator.rotateGatewayKey('rotator', keys[2]!.publicKey, handOver(keys[1]!, keys[2]!));
    const entry = await ledger.admin.getGateway('rotator');
    expect(entry).toMatchObject({ ed25519PublicKey: hex(keys[2]!.publicKey), keyId: keys[2]!.keyId });
    const history = await rotator.keyHistory('rotator');
    expect(history.map((k) => [k.keyId, k.untilBlock === null ? null : k.untilBlock - k.fromBlock >= 0])).toEqual([
      [keys[0]!.keyId, true],
      [keys[1]!.keyId, true],
      [keys[2]!.keyId, null],
    ]);
    expect(history[0]!.untilBlock).toBe(first.blockNumber);
    expect(history[1]).toMatchObject({ fromBlock: first.blockNumber, untilBlock: second.blockNumber });
    expect(history[2]).toMatchObject({ fromBlock: second.blockNumber, isRecovery: false });
    // A key that ever served is burned, here or for another gateway.
    const back = handOver(keys[2]!, keys[0]!);
    expect(await codeOf(rotator.rotateGatewayKey('rotator', keys[0]!.publicKey, back))).toBe('CONFLICT');
  });

  it('the owner recovers a lost key without its signature, and the period says so', async () => {
    const lost = newSigner();
    const replacement = newSigner();
    const account = chain.accounts[6]!;
    await ledger.admin.registerGateway({ id: 'forgetful', ed25519PublicKey: lost.publicKey, evmAccount: account });
    expect(await codeOf(ledger.clientFor(account).recoverGatewayKey('forgetful', replacement.publicKey))).toBe(
      'LEDGER_UNAUTHORIZED',
    );
    await ledger.admin.recoverGatewayKey('forgetful', replacement.publicKey);
    const history = await ledger.admin.keyHistory('forgetful');
    expect(history.map((k) => [k.keyId, k.isRecovery])).toEqual([
      [lost.keyId, false],
      [replacement.keyId, true],
    ]);
  });

  it('account rotation moves anchoring rights to the new account and burns the old one', async () => {
    await dealer.anchorRoot(bytes32Of('A'), 1, null);
    await dealer.rotateGatewayAccount('dealer-4s', chain.accounts[3]!);
    const rotated = ledger.clientFor(chain.accounts[3]!);
    expect(await codeOf(dealer.anchorRoot(bytes32Of('B'), 1, bytes32Of('A')))).toBe('LEDGER_UNAUTHORIZED');
    // Same gateway id, so the new account continues the same anchor chain.
    await rotated.anchorRoot(bytes32Of('B'), 1, bytes32Of('A'));
    expect(await rotated.lastRootOf('dealer-4s')).toBe(hex(bytes32Of('B')));
    expect(await rotated.gatewayOfAccount(chain.accounts[1]!)).toBeNull();
    expect(
      await codeOf(
        ledger.admin.registerGateway({ id: 'other', ed25519PublicKey: bytes32Of('k'), evmAccount: chain.accounts[1]! }),
      ),
    ).toBe('CONFLICT');
  });

  it('only the owner registers and revokes, and only the gateway or owner rotates', async () => {
    const insurer = await ledger.registerGateway('insurer', 2);
    expect(
      await codeOf(
        dealer.registerGateway({ id: 'mallory', ed25519PublicKey: bytes32Of('m'), evmAccount: chain.accounts[4]! }),
      ),
    ).toBe('LEDGER_UNAUTHORIZED');
    expect(await codeOf(dealer.revokeGateway('insurer'))).toBe('LEDGER_UNAUTHORIZED');
    expect(await codeOf(insurer.rotateGatewayKey('dealer-4s', bytes32Of('hijack'), new Uint8Array(64)))).toBe(
      'LEDGER_UNAUTHORIZED',
    );
    expect(await codeOf(insurer.rotateGatewayAccount('dealer-4s', chain.accounts[4]!))).toBe('LEDGER_UNAUTHORIZED');
    expect((await ledger.admin.getGateway('dealer-4s'))?.ed25519PublicKey).toBe(hex(bytes32Of('ed25519:dealer-4s')));
  });

  it('a gateway id and an account are registered at most once', async () => {
    expect(await codeOf(ledger.registerGateway('dealer-4s', 2))).toBe('CONFLICT');
    expect(await codeOf(ledger.registerGateway('second-id', 1))).toBe('CONFLICT');
  });

  it('revocation is final: the gateway stays revoked, unbound and unrotatable', async () => {
    await ledger.admin.revokeGateway('dealer-4s');
    expect((await ledger.admin.getGateway('dealer-4s'))?.status).toBe('Revoked');
    expect(await ledger.admin.gatewayOfAccount(chain.accounts[1]!)).toBeNull();
    expect(await codeOf(ledger.admin.revokeGateway('dealer-4s'))).toBe('CONFLICT');
    expect(await codeOf(ledger.admin.rotateGatewayKey('dealer-4s', bytes32Of('k2'), new Uint8Array(64)))).toBe(
      'CONFLICT',
    );
    expect((await ledger.admin.getGateway('dealer-4s'))?.revokedAtBlock).toBeGreaterThan(0);
    expect(await codeOf(ledger.registerGateway('dealer-4s', 5))).toBe('CONFLICT');
  });

  it('unknown gateways read as null and cannot be revoked', async () => {
    expect(await ledger.admin.getGateway('nobody')).toBeNull();
    expect(await codeOf(ledger.admin.revokeGateway('nobody'))).toBe('NOT_FOUND');
    expect(await ledger.admin.gatewayOfAccount(chain.accounts[7]!)).toBeNull();
  });

  it('malformed ids, keys and accounts are refused before any transaction', async () => {
    const pending = await chain.provider.request({ method: 'eth_blockNumber' });
    expect(
      await codeOf(
        ledger.admin.registerGateway({
          id: 'x'.repeat(32),
          ed25519PublicKey: bytes32Of('k'),
          evmAccount: chain.accounts[4]!,
        }),
      ),
    ).toBe('BAD_INPUT');
    expect(
      await codeOf(
        ledger.admin.registerGateway({
          id: 'has space',
          ed25519PublicKey: bytes32Of('k'),
          evmAccount: chain.accounts[4]!,
        }),
      ),
    ).toBe('BAD_INPUT');
    expect(
      await codeOf(
        ledger.admin.registerGateway({
          id: 'ok',
          ed25519PublicKey: bytes32Of('k').subarray(0, 31),
          evmAccount: chain.accounts[4]!,
        }),
      ),
    ).toBe('BAD_INPUT');
    expect(
      await codeOf(ledger.admin.registerGateway({ id: 'ok', ed25519PublicKey: bytes32Of('k'), evmAccount: '0x1234' })),
    ).toBe('BAD_INPUT');
    expect(await chain.provider.request({ method: 'eth_blockNumber' })).toBe(pending);
    // Zero values pass the client's shape checks and are refused by the contract itself.
    expect(
      await codeOf(
        ledger.admin.registerGateway({
          id: 'ok',
          ed25519PublicKey: new Uint8Array(32),
          evmAccount: chain.accounts[4]!,
        }),
      ),
    ).toBe('BAD_INPUT');
  });
});
