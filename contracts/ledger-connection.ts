// A connection to an EVM JSON-RPC endpoint (ethers v6): lazy chain detection with a deadline, an
// optional signer, and one-at-a-time writes so a gateway's transactions never race for a nonce.
import { BrowserProvider, FetchRequest, JsonRpcProvider, Network, Wallet } from 'ethers';
import type { AbstractProvider, Eip1193Provider, JsonRpcApiProvider, Signer } from 'ethers';
import { z } from 'zod';
import { GatewayError } from '../core/errors.ts';
import { toLedgerError } from './ledger-error.ts';
import { EvmAddress, toAddress } from './ledger-values.ts';

const isEip1193 = (v: unknown): v is Eip1193Provider =>
  typeof v === 'object' && v !== null && typeof (v as { request?: unknown }).request === 'function';

/** How to reach the chain and who signs. Exactly one of rpcUrl / provider. */
export const LedgerEndpoint = z
  .object({
    rpcUrl: z.url({ protocol: /^https?$/ }).optional(),
    /** An in-process EIP-1193 provider (the Hardhat network in tests). */
    provider: z.custom<Eip1193Provider>(isEip1193, 'an EIP-1193 provider').optional(),
    /** secp256k1 key that signs locally; never logged or echoed. */
    privateKey: z
      .string()
      .regex(/^(0x)?[0-9a-fA-F]{64}$/, '32 bytes of hex')
      .optional(),
    /** An account the node itself holds unlocked (dev chains); alternative to privateKey. */
    account: EvmAddress.optional(),
    /** Deadline for each RPC request and for each transaction's confirmation. */
    timeoutMs: z.number().int().positive().default(30_000),
    confirmations: z.number().int().min(1).default(1),
    pollingIntervalMs: z.number().int().positive().default(1_000),
  })
  .refine((o) => (o.rpcUrl === undefined) !== (o.provider === undefined), {
    message: 'give exactly one of rpcUrl or provider',
  })
  .refine((o) => o.privateKey === undefined || o.account === undefined, {
    message: 'give privateKey or account, not both',
  });
export type LedgerEndpoint = z.input<typeof LedgerEndpoint>;
type ResolvedEndpoint = z.output<typeof LedgerEndpoint>;

/** Zod issues list only paths and messages, never the rejected values (the key must not leak). */
export function parseEndpoint(options: unknown): ResolvedEndpoint {
  const parsed = LedgerEndpoint.safeParse(options);
  if (!parsed.success) {
    const fields = parsed.error.issues.map((i) => (i.path.length > 0 ? i.path.join('.') : i.message));
    throw new GatewayError('BAD_INPUT', 'invalid ledger connection options', { fields });
  }
  return parsed.data;
}

export type LedgerConnection = {
  readonly options: ResolvedEndpoint;
  /** The provider, after the chain id was read once (with the deadline). */
  provider(): Promise<JsonRpcApiProvider>;
  chainId(): Promise<number>;
  /** The signer; LEDGER_UNAUTHORIZED when the connection is read-only. */
  signer(): Promise<Signer>;
  /** The signing account's address, or null for a read-only connection. */
  account(): Promise<string | null>;
  /** Runs a write after every earlier write of this connection has settled. */
  serialize<T>(write: () => Promise<T>): Promise<T>;
  close(): void;
};

async function readChainId(options: ResolvedEndpoint): Promise<bigint> {
  const payload = { jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] as unknown[] };
  if (options.provider !== undefined) {
    // EIP-1193 has no timeout of its own; bound it like the HTTP path.
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new GatewayError('LEDGER_UNAVAILABLE', 'ledger provider did not answer in time', { reason: 'timeout' }),
          ),
        options.timeoutMs,
      );
    });
    try {
      return BigInt((await Promise.race([options.provider.request(payload), deadline])) as string);
    } finally {
      clearTimeout(timer);
    }
  }
  const req = new FetchRequest(options.rpcUrl!);
  req.timeout = options.timeoutMs;
  req.setHeader('content-type', 'application/json');
  req.body = JSON.stringify(payload);
  const response = await req.send();
  response.assertOk();
  const body = response.bodyJson as { result?: unknown };
  if (typeof body.result !== 'string')
    throw new GatewayError('LEDGER_UNAVAILABLE', 'ledger endpoint did not return a chain id', {
      reason: 'bad-response',
    });
  return BigInt(body.result);
}

// ethers shares identical requests made within 250 ms by default. A local signer reads its nonce with
// eth_getTransactionCount, so two writes confirmed within 250 ms (any fast node, e.g. anvil) would
// reuse a stale nonce and fail with "nonce too low"; -1 turns that cache off.
const NO_CACHE = -1;

/**
 * Opens a connection without touching the network: the chain id is read on first use, so a gateway
 * starts (and keeps accepting writes) while the chain is down. ethers' own start-up probing would
 * retry forever in the background; reading the id once and pinning a static network avoids that.
 */
export function openLedgerConnection(endpoint: LedgerEndpoint): LedgerConnection {
  const options = parseEndpoint(endpoint);
  let ready: Promise<{ provider: JsonRpcApiProvider; chainId: number }> | undefined;
  let queue: Promise<unknown> = Promise.resolve();

  const connect = async (): Promise<{ provider: JsonRpcApiProvider; chainId: number }> => {
    const id = await readChainId(options);
    const network = Network.from(id);
    const provider: JsonRpcApiProvider =
      options.provider !== undefined
        ? new BrowserProvider(options.provider, network, {
            staticNetwork: network,
            pollingInterval: options.pollingIntervalMs,
            cacheTimeout: NO_CACHE,
          })
        : (() => {
            const req = new FetchRequest(options.rpcUrl!);
            req.timeout = options.timeoutMs;
            return new JsonRpcProvider(req, network, {
              staticNetwork: network,
              pollingInterval: options.pollingIntervalMs,
              cacheTimeout: NO_CACHE,
            });
          })();
    return { provider, chainId: Number(id) };
  };

  const get = (): Promise<{ provider: JsonRpcApiProvider; chainId: number }> => {
    ready ??= connect().catch((error: unknown) => {
      ready = undefined; // a later call retries instead of caching the failure
      throw toLedgerError(error, 'connect');
    });
    return ready;
  };

  // The address of a local key needs no network, so account() works while the chain is down.
  let wallet: Wallet | undefined;
  if (options.privateKey !== undefined) {
    try {
      wallet = new Wallet(options.privateKey.startsWith('0x') ? options.privateKey : `0x${options.privateKey}`);
    } catch {
      // No cause attached: ethers' error would carry the key.
      throw new GatewayError('BAD_INPUT', 'privateKey is not a valid secp256k1 private key', {
        fields: ['privateKey'],
      });
    }
  }
  const account = options.account === undefined ? undefined : toAddress(options.account, 'account');

  const signerOf = async (): Promise<Signer | null> => {
    if (wallet === undefined && account === undefined) return null;
    const { provider } = await get();
    if (wallet !== undefined) return wallet.connect(provider as AbstractProvider);
    return provider.getSigner(account);
  };

  return {
    options,
    provider: async () => (await get()).provider,
    chainId: async () => (await get()).chainId,
    async signer() {
      const signer = await signerOf();
      if (signer === null)
        throw new GatewayError('LEDGER_UNAUTHORIZED', 'ledger connection has no signing account', {
          reason: 'read-only',
        });
      return signer;
    },
    async account() {
      return wallet?.address ?? account ?? null;
    },
    serialize<T>(write: () => Promise<T>): Promise<T> {
      const run = queue.then(write, write);
      queue = run.catch(() => undefined);
      return run;
    },
    close() {
      void ready?.then(
        ({ provider }) => provider.destroy(),
        () => undefined,
      );
      ready = undefined;
    },
  };
}
