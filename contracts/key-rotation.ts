// The hand-over a gateway's current Ed25519 key signs so GatewayRegistry.rotateKey accepts its successor
// (docs/receipts.md, "Key rotation"). The same bytes as GatewayRegistry.rotationMessage, built off chain so the
// key never meets the RPC: the context, a zero byte, the chain id (uint256), the registry (20 bytes), the gateway
// id (bytes32), the current key and the new key.
import { solidityPacked } from 'ethers';
import { gatewayIdToBytes32, toAddress, toBytes32Hex, type Bytes32Input } from './ledger-values.ts';

export const KEY_ROTATION_CONTEXT = 'sealgate/registry/rotate-key/v1';

export type KeyRotation = {
  chainId: number;
  registry: string;
  gatewayId: string;
  currentKey: Bytes32Input;
  newKey: Bytes32Input;
};

export function keyRotationMessage(rotation: KeyRotation): Uint8Array {
  const packed = solidityPacked(
    ['bytes', 'bytes1', 'uint256', 'address', 'bytes32', 'bytes32', 'bytes32'],
    [
      Buffer.from(KEY_ROTATION_CONTEXT, 'ascii'),
      '0x00',
      rotation.chainId,
      toAddress(rotation.registry, 'registry'),
      gatewayIdToBytes32(rotation.gatewayId),
      toBytes32Hex(rotation.currentKey, 'currentKey'),
      toBytes32Hex(rotation.newKey, 'newKey'),
    ],
  );
  return Buffer.from(packed.slice(2), 'hex');
}
