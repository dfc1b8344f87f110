// Typed calls to GatewayRegistry.sol: register, rotate and revoke partner gateways, and read them.
import { GatewayError } from '../core/errors.ts';
import { txSummaryOf } from './ledger-contract.ts';
import type { LedgerContract } from './ledger-contract.ts';
import type { Bytes32Input, GatewayEntry, TxSummary } from './ledger-values.ts';
import { ZERO_BYTES32, gatewayIdFromBytes32, gatewayIdToBytes32, toAddress, toBytes32Hex } from './ledger-values.ts';

/** Solidity enum GatewayRegistry.Status: 0 None, 1 Active, 2 Revoked. */
const STATUS_NAMES = { 1: 'Active', 2: 'Revoked' } as const;

export type GatewayRegistration = { id: string; ed25519PublicKey: Bytes32Input; evmAccount: string };

export type GatewayRegistryClient = {
  /** Owner only. CONFLICT if the id or account was ever used; LEDGER_UNAUTHORIZED for non-owners. */
  registerGateway(input: GatewayRegistration): Promise<TxSummary>;
  /** Owner or the gateway's own account. The id and account stay; only the Ed25519 key changes. */
  rotateGatewayKey(id: string, newKey: Bytes32Input): Promise<TxSummary>;
  /** Owner or the gateway's own account. The old account is burned and can never be reused. */
  rotateGatewayAccount(id: string, newAccount: string): Promise<TxSummary>;
  /** Owner only; final. The gateway's next anchor or package write fails with LEDGER_UNAUTHORIZED. */
  revokeGateway(id: string): Promise<TxSummary>;
  /** null if the id was never registered. */
  getGateway(id: string): Promise<GatewayEntry | null>;
  /** The id an account currently writes for, or null if it is not an active gateway account. */
  gatewayOfAccount(account: string): Promise<string | null>;
};

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
    async rotateGatewayKey(id, newKey) {
      const args = [gatewayIdToBytes32(id), toBytes32Hex(newKey, 'ed25519PublicKey')];
      return txSummaryOf(await registry.write('rotateKey', args, 'rotateGatewayKey'));
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
        registeredAt: Number(g.registeredAt),
        updatedAt: Number(g.updatedAt),
      };
    },
    async gatewayOfAccount(account) {
      const [id] = await registry.read('gatewayOf', [toAddress(account, 'account')], 'gatewayOfAccount');
      return id === ZERO_BYTES32 ? null : gatewayIdFromBytes32(String(id));
    },
  };
}
