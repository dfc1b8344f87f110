// Client for AttestationBaseline.sol, the EAS-style one-attestation-per-record baseline. Exists only
// so benchmarks can compare its gas with ConsentAnchor's one root per batch; the gateway never uses it.
import { GatewayError } from '../core/errors.ts';
import { openLedgerConnection } from './ledger-connection.ts';
import type { LedgerEndpoint } from './ledger-connection.ts';
import { bindLedgerContract, txSummaryOf } from './ledger-contract.ts';
import { toAddress, toBytes32Hex } from './ledger-values.ts';
import type { Bytes32Input, TxSummary } from './ledger-values.ts';

export type BaselineAttestation = { uid: string; schema: string; time: number; attester: string; data: string };

export type AttestationBaselineClient = {
  /** One attestation whose data is the 32-byte record hash. */
  attestRecord(schema: Bytes32Input, recordHash: Bytes32Input): Promise<TxSummary & { uid: string }>;
  /** EAS multiAttest analogue: one transaction, still one stored attestation per record. */
  attestRecords(schema: Bytes32Input, recordHashes: readonly Bytes32Input[]): Promise<TxSummary & { uids: string[] }>;
  getAttestation(uid: Bytes32Input): Promise<BaselineAttestation | null>;
  close(): void;
};

export function connectAttestationBaseline(
  options: LedgerEndpoint & { address: string; chainId: number },
): AttestationBaselineClient {
  const { address, chainId, ...endpoint } = options;
  const conn = openLedgerConnection(endpoint);
  const baseline = bindLedgerContract(conn, 'AttestationBaseline', toAddress(address, 'address'), chainId);
  const uidsOf = (receipt: Parameters<typeof txSummaryOf>[0]): string[] =>
    receipt.logs.flatMap((log) => {
      if (log.address.toLowerCase() !== baseline.address.toLowerCase()) return [];
      return [String(baseline.parseLog(log).getValue('uid'))];
    });

  return {
    async attestRecord(schema, recordHash) {
      const args = [
        toBytes32Hex(schema, 'schema'),
        `0x${'00'.repeat(20)}`,
        0,
        true,
        toBytes32Hex(new Uint8Array(32), 'refUID'),
        toBytes32Hex(recordHash, 'recordHash'),
      ];
      const receipt = await baseline.write('attest', args, 'attestRecord');
      const [uid] = uidsOf(receipt);
      if (uid === undefined) throw new GatewayError('INTERNAL', 'attestation receipt lacks the Attested event', {});
      return { ...txSummaryOf(receipt), uid };
    },
    async attestRecords(schema, recordHashes) {
      const data = recordHashes.map((h, i) => toBytes32Hex(h, `recordHashes[${i}]`));
      const receipt = await baseline.write('multiAttest', [toBytes32Hex(schema, 'schema'), data], 'attestRecords');
      return { ...txSummaryOf(receipt), uids: uidsOf(receipt) };
    },
    async getAttestation(uidInput) {
      const [a] = await baseline.read('getAttestation', [toBytes32Hex(uidInput, 'uid')], 'getAttestation');
      if (/^0x0{64}$/.test(String(a.uid))) return null;
      return {
        uid: String(a.uid),
        schema: String(a.schema),
        time: Number(a.time),
        attester: String(a.attester),
        data: String(a.data),
      };
    },
    close: () => conn.close(),
  };
}
