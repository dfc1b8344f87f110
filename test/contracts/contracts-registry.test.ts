// GatewayRegistry invariants on the in-process Hardhat network (DESIGN.md §3 Partner registry).
import { describe, expect, it } from 'vitest';
import type { LedgerClient } from '../../contracts/ledger-client.ts';
import { bytes32Of, codeOf } from '../fixtures/contracts-fixture.ts';
import { useFreshLedger } from '../fixtures/fresh-ledger.ts';
import type { Ledger, SimulatedChain } from '../fixtures/contracts-fixture.ts';

const hex = (b: Uint8Array): string => `0x${Buffer.from(b).toString('hex')}`;

let chain: SimulatedChain;
let ledger: Ledger;
let dealer: LedgerClient;

useFreshLedger({ 'dealer-4s': 1 }, (fresh) => {
  ({ chain, ledger } = fresh);
  dealer = fresh.gateways['dealer-4s']!;
});

describe('GatewayRegistry', () => {
  it('key rotation keeps the gateway id and changes the key', async () => {
    const before = await ledger.admin.getGateway('dealer-4s');
    expect(before?.ed25519PublicKey).toBe(hex(bytes32Of('ed25519:dealer-4s')));
    await chain.provider.request({ method: 'evm_setNextBlockTimestamp', params: [2_100_000_000] });
    await dealer.rotateGatewayKey('dealer-4s', bytes32Of('new-key'));
    const after = await ledger.admin.getGateway('dealer-4s');
    expect(after).toEqual({
      ...before,
      ed25519PublicKey: hex(bytes32Of('new-key')),
      updatedAt: 2_100_000_000,
    });
    // The owner may rotate too (a gateway that lost its key cannot sign the rotation itself).
    await ledger.admin.rotateGatewayKey('dealer-4s', bytes32Of('owner-set-key'));
    expect((await dealer.getGateway('dealer-4s'))?.ed25519PublicKey).toBe(hex(bytes32Of('owner-set-key')));
    expect(await dealer.gatewayOfAccount(chain.accounts[1]!)).toBe('dealer-4s');
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
    expect(await codeOf(insurer.rotateGatewayKey('dealer-4s', bytes32Of('hijack')))).toBe('LEDGER_UNAUTHORIZED');
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
    expect(await codeOf(ledger.admin.rotateGatewayKey('dealer-4s', bytes32Of('k2')))).toBe('CONFLICT');
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
