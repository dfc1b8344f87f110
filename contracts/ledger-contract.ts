// One ledger contract bound to a connection: view calls, and writes that are serialized, confirmed
// within the deadline and mapped to catalogue errors (ethers v6 Contract over the committed ABI).
import { Contract } from 'ethers';
import type { Log, Result, TransactionReceipt } from 'ethers';
import { GatewayError } from '../core/errors.ts';
import { loadCompiledContract } from './artifacts.ts';
import type { LedgerContractName } from './artifacts.ts';
import type { LedgerConnection } from './ledger-connection.ts';
import { toLedgerError } from './ledger-error.ts';
import type { TxSummary } from './ledger-values.ts';

export const txSummaryOf = (receipt: TransactionReceipt): TxSummary => ({
  txHash: receipt.hash,
  blockNumber: receipt.blockNumber,
  gasUsed: Number(receipt.gasUsed),
});

/** Which logs to fetch; failures become catalogue errors named after `operation`. */
export type LogQuery = {
  event: string;
  topics: readonly (string | null)[];
  fromBlock: number;
  toBlock: number | 'latest';
  operation: string;
};

export type LedgerContract = {
  readonly name: LedgerContractName;
  readonly address: string;
  /** eth_call of a view; failures become catalogue errors named after `operation`. */
  read(method: string, args: readonly unknown[], operation: string): Promise<Result>;
  /** Sends a transaction and waits for its receipt; a revert becomes the mapped custom error. */
  write(method: string, args: readonly unknown[], operation: string): Promise<TransactionReceipt>;
  /** The named event among the receipt's logs emitted by this contract. */
  eventIn(receipt: TransactionReceipt, event: string): Result;
  /** Logs of `event` whose indexed topics match, in the given block range. */
  logs(query: LogQuery): Promise<Log[]>;
  parseLog(log: Log): Result;
};

export function bindLedgerContract(
  conn: LedgerConnection,
  name: LedgerContractName,
  address: string,
  expectedChainId: number,
): LedgerContract {
  const { abi } = loadCompiledContract(name);
  const readOnly = new Contract(address, abi);

  // Fail closed when the endpoint serves another chain or the address holds no contract: a
  // transaction to an empty address would "succeed" as a plain transfer and anchor nothing.
  let hasCode = false;
  const checkedProvider = async () => {
    const provider = await conn.provider();
    const chainId = await conn.chainId();
    if (chainId !== expectedChainId) {
      throw new GatewayError('LEDGER_UNAVAILABLE', 'ledger endpoint serves a different chain', {
        reason: 'wrong-chain',
        chainId,
        expectedChainId,
      });
    }
    if (!hasCode) {
      if ((await provider.getCode(address)) === '0x') {
        throw new GatewayError('LEDGER_UNAVAILABLE', `no ${name} contract at the configured address`, {
          reason: 'no-contract',
          contract: name,
        });
      }
      hasCode = true;
    }
    return provider;
  };

  return {
    name,
    address,
    async read(method, args, operation) {
      try {
        const contract = readOnly.connect(await checkedProvider()) as Contract;
        return await contract.getFunction(method).staticCallResult(...args);
      } catch (error) {
        throw toLedgerError(error, operation);
      }
    },
    write(method, args, operation) {
      return conn.serialize(async () => {
        try {
          await checkedProvider();
          const contract = readOnly.connect(await conn.signer()) as Contract;
          const tx = await contract.getFunction(method).send(...args);
          const receipt = await tx.wait(conn.options.confirmations, conn.options.timeoutMs);
          if (receipt === null)
            throw new GatewayError('LEDGER_UNAVAILABLE', `no receipt for ${operation}`, {
              operation,
              reason: 'no-receipt',
            });
          return receipt;
        } catch (error) {
          throw toLedgerError(error, operation);
        }
      });
    },
    eventIn(receipt, event) {
      for (const log of receipt.logs) {
        if (log.address.toLowerCase() !== address.toLowerCase()) continue;
        const parsed = readOnly.interface.parseLog(log);
        if (parsed?.name === event) return parsed.args;
      }
      throw new GatewayError('INTERNAL', `receipt lacks the ${event} event`, { contract: name, event });
    },
    async logs({ event, topics, fromBlock, toBlock, operation }) {
      try {
        const provider = await checkedProvider();
        const fragment = readOnly.interface.getEvent(event);
        if (fragment === null) throw new GatewayError('INTERNAL', `unknown event ${event}`, { contract: name, event });
        return await provider.getLogs({ address, fromBlock, toBlock, topics: [fragment.topicHash, ...topics] });
      } catch (error) {
        throw toLedgerError(error, operation);
      }
    },
    parseLog(log) {
      const parsed = readOnly.interface.parseLog(log);
      if (parsed === null)
        throw new GatewayError('INTERNAL', 'log does not belong to this contract', { contract: name });
      return parsed.args;
    },
  };
}
