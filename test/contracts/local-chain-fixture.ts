// Fixtures for the embedded-chain tests: throwaway data dirs, fresh gateway keys, a log that records
// entries, bounded polling for real child processes, and a Merkle batch to anchor.
import { createHash, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { buildMerkleTree } from '../../consent/merkle.ts';
import type { MerkleTree } from '../../consent/merkle.ts';
import type { ChainLog } from '../../contracts/local-chain.ts';
import { generateEvmPrivateKey, evmAddressOf } from '../../gateway/identity/evm-account.ts';

export function makeChainDataDir(): { dataDir: string; remove(): void } {
  const dataDir = mkdtempSync(join(tmpdir(), 'sealgate-chain-'));
  return { dataDir, remove: () => rmSync(dataDir, { recursive: true, force: true }) };
}

export type GatewayKeys = {
  partyId: string;
  ed25519PublicKey: Uint8Array;
  evmPrivateKeyHex: string;
  evmAddress: string;
};

/** A gateway identity as gateway/identity/identity.ts creates it: Ed25519 (RFC 8032) plus a random secp256k1 key. */
export function makeGatewayKeys(partyId: string): GatewayKeys {
  const { publicKey } = generateKeyPairSync('ed25519');
  const raw = Buffer.from(String(publicKey.export({ format: 'jwk' }).x), 'base64url');
  const evmKey = generateEvmPrivateKey();
  return {
    partyId,
    ed25519PublicKey: new Uint8Array(raw),
    evmPrivateKeyHex: `0x${Buffer.from(evmKey).toString('hex')}`,
    evmAddress: evmAddressOf(evmKey),
  };
}

export type LogEntry = { level: 'info' | 'warn' | 'error'; message: string; detail: Record<string, unknown> };

export function captureChainLog(): ChainLog & { entries: LogEntry[]; messages(level: LogEntry['level']): string[] } {
  const entries: LogEntry[] = [];
  const at = (level: LogEntry['level']) => (detail: Record<string, unknown>, message: string) => {
    entries.push({ level, message, detail });
  };
  return {
    entries,
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    messages: (level) => entries.filter((e) => e.level === level).map((e) => e.message),
  };
}

/** Polls `check` until it returns true or the deadline passes (real processes cannot use fake clocks). */
export async function waitUntil(
  what: string,
  check: () => boolean | Promise<boolean>,
  deadlineMs = 10_000,
): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await delay(25);
  }
}

/** True while `pid` is a live process; a zombie (exited, not yet reaped) counts as gone. */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    // /proc/<pid>/stat: "pid (comm) S ..."; the state letter follows the last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** The highest block anvil has written to its state file so far (-1 if none yet). */
export function dumpedBlockNumber(statePath: string): number {
  try {
    const state = JSON.parse(readFileSync(statePath, 'utf8')) as { best_block_number?: string | number };
    return Number(state.best_block_number ?? -1);
  } catch {
    return -1; // absent, or caught mid-write
  }
}

/** A batch of `n` record hashes and its Merkle tree, as the consent log would anchor it. */
export function makeBatch(label: string, n: number): { recordHashes: Uint8Array[]; tree: MerkleTree } {
  const recordHashes = Array.from(
    { length: n },
    (_, i) => new Uint8Array(createHash('sha256').update(`${label}:${i}`).digest()),
  );
  return { recordHashes, tree: buildMerkleTree(recordHashes) };
}

export const hex = (b: Uint8Array): string => `0x${Buffer.from(b).toString('hex')}`;
