// Typed calls to GatewayRegistry.sol: register, rotate and revoke partner gateways, and read them.
import { keyIdOf } from '../consent/signer.ts';
import { GatewayError } from '../core/errors.ts';
import { txSummaryOf } from './ledger-contract.ts';
import type { LedgerContract } from './ledger-contract.ts';
import type { AccountPeriod, Bytes32Input, GatewayEntry, KeyPeriod, TxSummary } from './ledger-values.ts';
import { ZERO_BYTES32, gatewayIdFromBytes32, gatewayIdToBytes32, toAddress, toBytes32Hex } from './ledger-values.ts';

/** Solidity enum GatewayRegistry.Status: 0 None, 1 Active, 2 Revoked. */
const STATUS_NAMES = { 1: 'Active', 2: 'Revoked' } as const;

export type GatewayRegistration = { id: string; ed25519PublicKey: Bytes32Input; evmAccount: string };

export type GatewayRegistryClient = {
  /** Owner only. CONFLICT if the id or account was ever used; LEDGER_UNAUTHORIZED for non-owners. */
  registerGateway(input: GatewayRegistration): Promise<TxSummary>;
  /**
   * Owner or the gateway's own account, with `signature`: the current Ed25519 key's 64-byte signature over
   * keyRotationMessage (contracts/key-rotation.ts). LEDGER_UNAUTHORIZED without a valid one; CONFLICT for a key that
   * any gateway ever had. The id and account stay; the old key's period closes at this block.
   */
  rotateGatewayKey(id: string, newKey: Bytes32Input, signature: Uint8Array): Promise<TxSummary>;
  /** Owner only: the lost-key path, no signature; the new key's period is marked as a recovery. */
  recoverGatewayKey(id: string, newKey: Bytes32Input): Promise<TxSummary>;
  /** Owner or the gateway's own account. The old account is burned and can never be reused. */
  rotateGatewayAccount(id: string, newAccount: string): Promise<TxSummary>;
  /** Owner only; final. The gateway's next anchor or package write fails with LEDGER_UNAUTHORIZED. */
  revokeGateway(id: string): Promise<TxSummary>;
  /** null if the id was never registered. */
  getGateway(id: string): Promise<GatewayEntry | null>;
  /** Every Ed25519 key the gateway had, oldest first, with the blocks each was valid in. */
  keyHistory(id: string): Promise<KeyPeriod[]>;
  /** Every anchoring account the gateway had, oldest first. */
  accountHistory(id: string): Promise<AccountPeriod[]>;
  /** The id an account currently writes for, or null if it is not an active gateway account. */
  gatewayOfAccount(account: string): Promise<string | null>;
};

/** A bytes8 key id as the contracts return it (0x + 16 hex) in the form receipts use: 16 hex, no 0x. */
export const keyIdOfBytes8 = (value: unknown): string => String(value).toLowerCase().replace(/^0x/, '');
/** The contracts write 0 for "still current". */
const untilOf = (value: unknown): number | null => (Number(value) === 0 ? null : Number(value));

export function gatewayRegistryClient(registry: LedgerContract): GatewayRegistryClient {
  return {
    async registerGateway({ id, ed25519PublicKey, evmAccount }) {
      const args = [
        gatewayIdToBytes32(id),
        toBytes32Hex(ed25519PublicKey, 'ed25519PublicKey'),
        toAddress(evmAccount, 'evmAccount'),
      ];
      return txSummaryOf(await registry.write('register', args, 'registerGateway'));
    },
    async rotateGatewayKey(id, newKey, signature) {
      if (!(signature instanceof Uint8Array) || signature.length !== 64)
        throw new GatewayError('BAD_INPUT', 'the rotation signature must be 64 bytes', { field: 'signature' });
      const args = [
        gatewayIdToBytes32(id),
        toBytes32Hex(newKey, 'ed25519PublicKey'),
        toBytes32Hex(signature.subarray(0, 32), 'signature'),
        toBytes32Hex(signature.subarray(32), 'signature'),
      ];
      return txSummaryOf(await registry.write('rotateKey', args, 'rotateGatewayKey'));
    },
    async recoverGatewayKey(id, newKey) {
      const args = [gatewayIdToBytes32(id), toBytes32Hex(newKey, 'ed25519PublicKey')];
      return txSummaryOf(await registry.write('recoverKey', args, 'recoverGatewayKey'));
    },
    async rotateGatewayAccount(id, newAccount) {
      const args = [gatewayIdToBytes32(id), toAddress(newAccount, 'evmAccount')];
      return txSummaryOf(await registry.write('rotateAccount', args, 'rotateGatewayAccount'));
    },
    async revokeGateway(id) {
      return txSummaryOf(await registry.write('revoke', [gatewayIdToBytes32(id)], 'revokeGateway'));
    },
    async getGateway(id) {
      const [g] = await registry.read('get', [gatewayIdToBytes32(id)], 'getGateway');
      const status = Number(g.status);
      if (status === 0) return null;
      const name = STATUS_NAMES[status as keyof typeof STATUS_NAMES];
      if (name === undefined)
        throw new GatewayError('INTERNAL', 'registry returned an unknown gateway status', { status });
      return {
        id,
        ed25519PublicKey: String(g.ed25519PublicKey).toLowerCase(),
        evmAccount: String(g.evmAccount),
        status: name,
        keyId: keyIdOfBytes8(g.keyId),
        registeredAt: Number(g.registeredAt),
        updatedAt: Number(g.updatedAt),
        revokedAtBlock: Number(g.revokedAtBlock) === 0 ? null : Number(g.revokedAtBlock),
      };
    },
    async keyHistory(id) {
      const [periods] = await registry.read('keyHistory', [gatewayIdToBytes32(id)], 'keyHistory');
      return [...(periods as Iterable<Record<string, unknown>>)].map((p) => {
        const key = String(p['ed25519PublicKey']).toLowerCase();
        return {
          ed25519PublicKey: key,
          keyId: keyIdOf(Buffer.from(key.slice(2), 'hex')),
          fromBlock: Number(p['fromBlock']),
          untilBlock: untilOf(p['untilBlock']),
          isRecovery: p['isRecovery'] === true,
        };
      });
    },
    async accountHistory(id) {
      const [periods] = await registry.read('accountHistory', [gatewayIdToBytes32(id)], 'accountHistory');
      return [...(periods as Iterable<Record<string, unknown>>)].map((p) => ({
        account: String(p['account']),
        fromBlock: Number(p['fromBlock']),
        untilBlock: untilOf(p['untilBlock']),
      }));
    },
    async gatewayOfAccount(account) {
      const [id] = await registry.read('gatewayOf', [toAddress(account, 'account')], 'gatewayOfAccount');
      return id === ZERO_BYTES32 ? null : gatewayIdFromBytes32(String(id));
    },
  };
}
