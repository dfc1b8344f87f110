// Verifies a sealgate receipt (or every receipt of a subject's proofs file from the compliance console), with
// --status a status proof, with --statement a signed statement such as a lift certificate with its audit receipt, or
// with --listing a listing against the package registry, against an EVM chain, needing nothing from the gateway
// (DESIGN.md §1.4, docs/receipts.md, docs/exchange.md, docs/console.md):
//   node contracts/verify-cli.ts [--status|--statement|--listing] FILE.json --rpc URL [--anchor ADDR]
//     [--registry ADDR] [--timeout-ms N]
// The anchor address defaults to the file's anchor.contract and the registry to ConsentAnchor.registry().
// Exit 0 when every check passes, 1 when one fails (named on stderr), 2 on a usage error.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { verifyStatementProof } from '../consent/anchored-statement.ts';
import { openPackageReader, verifyListingAnchor } from './package-verifier.ts';
import { verifyReceipt, type ChainReader } from '../consent/receipt-verifier.ts';
import { verifyStatusProof } from '../consent/status-proof-verifier.ts';
import { GatewayError } from '../core/errors.ts';
import { openChainReader } from './ledger-port-adapter.ts';

const USAGE =
  'usage: node contracts/verify-cli.ts [--status|--statement|--listing] FILE.json --rpc URL [--anchor ADDRESS] ' +
  '[--registry ADDRESS] [--timeout-ms N]';

/** A subject's proofs in one file, as the compliance console downloads them (gateway/http/console/). */
export const SUBJECT_PROOFS_KIND = 'sealgate/subject-proofs/v1';
const SubjectProofs = z.object({
  kind: z.literal(SUBJECT_PROOFS_KIND),
  subject: z.string(),
  links: z
    .array(z.object({ kind: z.string(), type: z.string(), recordId: z.string(), receipt: z.unknown() }))
    .min(1)
    .max(10_000),
});

/** Where output goes, and the directory a relative receipt path is read from (the caller's, not the repository's). */
type Io = { out(line: string): void; err(line: string): void; cwd?: string };

/** Runs the CLI on `argv` (without node and script) and returns the exit code. */
export async function runVerifyCli(argv: readonly string[], io: Io): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        'rpc': { type: 'string' },
        'anchor': { type: 'string' },
        'registry': { type: 'string' },
        'timeout-ms': { type: 'string' },
        'status': { type: 'boolean' },
        'statement': { type: 'boolean' },
        'listing': { type: 'boolean' },
        'help': { type: 'boolean' },
      },
    });
  } catch (error) {
    io.err(`verify: ${(error as Error).message}`);
    io.err(USAGE);
    return 2;
  }
  if (args.values.help === true) {
    io.out(USAGE);
    return 0;
  }
  const [file, ...extra] = args.positionals;
  const rpcUrl = args.values.rpc;
  const timeoutMs = args.values['timeout-ms'] === undefined ? 15_000 : Number(args.values['timeout-ms']);
  if (
    file === undefined ||
    extra.length > 0 ||
    rpcUrl === undefined ||
    !/^https?:\/\//.test(rpcUrl) ||
    !Number.isSafeInteger(timeoutMs) ||
    timeoutMs <= 0 ||
    [args.values.status, args.values.statement, args.values.listing].filter((v) => v === true).length > 1
  ) {
    io.err(USAGE);
    return 2;
  }
  let receipt: unknown;
  const path = resolve(io.cwd ?? process.cwd(), file);
  try {
    receipt = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    const why = (error as NodeJS.ErrnoException).code ?? (error instanceof SyntaxError ? 'not JSON' : 'unreadable');
    io.err(`verify: cannot read a JSON receipt from ${path} (${why})`);
    return 2;
  }

  // Every check in order, then the verdict: exit 0 with `ok`, or 1 naming the first failure.
  const report = (
    checks: readonly { name: string; ok: boolean; detail: string }[],
    failure: { name: string; detail: string } | null,
    ok: string | null,
  ): number => {
    for (const check of checks) io.out(`${check.ok ? '✓' : '✗'} ${check.name.padEnd(21)} ${check.detail}`);
    if (failure !== null || ok === null) {
      io.err(`verify: FAILED at ${failure?.name ?? 'unknown'}: ${failure?.detail ?? ''}`);
      return 1;
    }
    io.out(`verify: OK: ${ok}`);
    return 0;
  };
  if (args.values.listing === true) {
    const closers: (() => void)[] = [];
    try {
      const result = await verifyListingAnchor(receipt, (registry, chainId) => {
        const opened = openPackageReader({ rpcUrl, chainId, registry, timeoutMs });
        closers.push(opened.close);
        return opened.read;
      });
      return report(
        result.checks,
        result.failure,
        "the package registry's current revision carries this listing's hash and consent root",
      );
    } finally {
      for (const close of closers) close();
    }
  }

  /** Verifies one receipt, status proof or statement proof, printing its checks; 0 when every one passes. */
  const verifyOne = async (value: unknown): Promise<number> => {
    // Only an anchored receipt names a chain; a pending one fails 'not-anchored' before any chain read. A statement
    // proof carries its receipt inside.
    const receiptPart = args.values.statement === true ? (value as { receipt?: unknown } | null)?.receipt : value;
    const anchorBlock = (receiptPart as { anchor?: { chainId?: unknown; contract?: unknown } } | null)?.anchor;
    let reader: ChainReader | null = null;
    let close = (): void => undefined;
    if (anchorBlock !== undefined && typeof anchorBlock.chainId === 'number') {
      const anchor =
        args.values.anchor ?? (typeof anchorBlock.contract === 'string' ? anchorBlock.contract : undefined);
      if (anchor === undefined) {
        io.err('verify: the receipt names no anchor contract; pass --anchor');
        return 2;
      }
      try {
        const opened = await openChainReader({
          rpcUrl,
          chainId: anchorBlock.chainId,
          anchor,
          timeoutMs,
          ...(args.values.registry === undefined ? {} : { registry: args.values.registry }),
        });
        reader = opened.reader;
        close = opened.close;
        io.out(`chain ${anchorBlock.chainId}, anchor ${anchor}, registry ${opened.registry}`);
      } catch (error) {
        if (error instanceof GatewayError && error.code === 'BAD_INPUT') {
          io.err(`verify: ${error.message}`);
          return 2;
        }
        // The registry getter could not be read: every chain check fails below with the reason.
        const reason =
          error instanceof GatewayError
            ? `${error.code}${typeof error.detail['reason'] === 'string' ? ` (${error.detail['reason']})` : ''}`
            : 'unknown';
        io.err(`verify: cannot read the anchor contract: ${reason}`);
        reader = unreachable(error);
      }
    }
    try {
      if (args.values.status === true) {
        const result = await verifyStatusProof(value, reader, { timeoutMs });
        const { verdict } = result;
        return report(result.checks, result.failure, verdict && `record ${verdict.recordId} is ${verdict.summary}`);
      }
      if (args.values.statement === true) {
        const result = await verifyStatementProof(value, reader, { timeoutMs });
        return report(
          result.checks,
          result.failure,
          'the statement is signed, and the audit entry that recorded its hash is anchored on chain',
        );
      }
      const result = await verifyReceipt(value, reader, { timeoutMs });
      return report(result.checks, result.failure, 'the receipt is signed, the record is intact and anchored on chain');
    } finally {
      close();
    }
  };

  // A subject's proofs as the compliance console downloads them: every receipt of the subject's chain in one file.
  const bundle = SubjectProofs.safeParse(receipt);
  if (args.values.status !== true && args.values.statement !== true && bundle.success) {
    let failed = 0;
    for (const [i, link] of bundle.data.links.entries()) {
      io.out(`link ${i + 1} of ${bundle.data.links.length}: ${link.kind} ${link.type} of record ${link.recordId}`);
      if ((await verifyOne(link.receipt)) !== 0) failed++;
    }
    if (failed > 0) {
      io.err(`verify: FAILED: ${failed} of ${bundle.data.links.length} links of subject ${bundle.data.subject}`);
      return 1;
    }
    io.out(`verify: OK: all ${bundle.data.links.length} links of subject ${bundle.data.subject} verify`);
    return 0;
  }
  return verifyOne(receipt);
}

/** A reader whose every call fails with `error`, so the report still lists each chain check. */
function unreachable(error: unknown): ChainReader {
  const fail = async (): Promise<never> => {
    throw error;
  };
  return {
    getAnchor: fail,
    findAnchorTx: fail,
    getGateway: fail,
    verifyInclusion: fail,
    getBlock: fail,
    lastRootOf: fail,
  };
}

if (import.meta.main) {
  const code = await runVerifyCli(process.argv.slice(2), {
    out: (l) => process.stdout.write(`${l}\n`),
    err: (l) => process.stderr.write(`${l}\n`),
    // `npm run verify` runs in the repository root; npm names the directory it was called from in INIT_CWD.
    cwd: process.env.INIT_CWD ?? process.cwd(),
  });
  process.exitCode = code;
}
