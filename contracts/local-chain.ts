// The embedded local EVM chain that `sealgate serve` owns (DESIGN.md §5): Foundry's anvil, from the
// pinned npm package @foundry-rs/anvil (binary in its platform package; nothing is downloaded), run
// on 127.0.0.1 with `--state <dataDir>/chain/state.json` so its blocks survive restarts.
//
// Durability, i.e. what survives which failure:
//   - Graceful stop, SIGTERM/SIGINT of the gateway, and SIGKILL of the gateway: nothing is lost.
//     anvil runs under a small /bin/sh supervisor whose stdin is a pipe from the gateway; when the
//     pipe closes (stop(), or the kernel closing it because the gateway died) the supervisor sends
//     anvil SIGTERM, and anvil writes its full state before it exits.
//   - SIGKILL (or OOM kill, or crash) of anvil itself: at most the last `stateIntervalSeconds` of blocks
//     are lost, because anvil also rewrites the state file on that interval. The gateway starts anvil
//     again from that file on the same port (see startLocalChain), and the anchoring service, told of
//     the restart, finds the lost anchors missing on chain and sends them again (consent/anchoring.ts).
//     The rewrite is the whole file, idle or not, at about 7 KB per anchor transaction (measured:
//     300 anchors, 2.0 MB), so the interval trades loss window against disk and CPU; long-lived
//     deployments belong on an external chain.
//   - anvil killed while it rewrites the file, or power loss (anvil truncates the file in place and
//     never fsyncs it): the file may be torn. The next start refuses with LEDGER_UNAVAILABLE
//     (reason state-corrupt) instead of starting an empty chain; state.backup.json, copied
//     atomically after every clean stop, is the last state known to be complete.
//
// The chain is the gateway's own: anyone who can reach 127.0.0.1 can call anvil's cheat methods
// (anvil_setStorageAt, anvil_impersonateAccount), so anchors on it are only as trustworthy as the
// host. Third-party verifiability needs an external chain (SEALGATE_RPC_URL).
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { accessSync, constants, closeSync, openSync } from 'node:fs';
import { mkdir, open, readFile, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { GatewayError } from '../core/errors.ts';
import { fsyncPath } from '../core/fsync.ts';
import { copyFileDurably, writeFileDurably } from '../core/durable-file.ts';

/** The conventional id of local development chains (Hardhat, anvil): no public network uses it. */
export const LOCAL_CHAIN_ID = 31_337;
export const DEFAULT_STATE_INTERVAL_SECONDS = 5;
const FUNDED_WEI = 10n ** 24n; // 1,000,000 ETH: gas on the own chain must never run out
const MIN_BALANCE_WEI = 10n ** 21n;

/** A pino logger satisfies this; the chain logs only public facts (never keys). */
export type ChainLog = {
  info(detail: Record<string, unknown>, message: string): void;
  warn(detail: Record<string, unknown>, message: string): void;
  error(detail: Record<string, unknown>, message: string): void;
};

export type LocalChainOptions = {
  /** The chain lives in <dataDir>/chain/ (state.json, state.backup.json, anvil.log). */
  dataDir: string;
  log: ChainLog;
  chainId?: number;
  /** anvil's periodic state dump (--state-interval): the most a SIGKILL of anvil can lose. */
  stateIntervalSeconds?: number;
  /** Deadline for anvil to load its state and answer RPC. */
  startTimeoutMs?: number;
  /** Deadline for anvil to write its state and exit before it is killed. */
  stopTimeoutMs?: number;
  /** Pause before restarting an anvil that died on its own; doubles (up to 30 s) while restarts fail. */
  restartDelayMs?: number;
  /**
   * The loopback port anvil listens on. Without it, the port of the last start (kept in <dataDir>/chain/port), or
   * one the kernel picks on a first start: either way the RPC URL stays the same across restarts.
   */
  port?: number;
};

export type LocalChain = {
  readonly rpcUrl: string;
  readonly chainId: number;
  /** anvil's own process id (the supervisor's child); a new one after each restart. */
  readonly pid: number;
  /** How many times anvil was started again after dying on its own. */
  readonly restarts: number;
  /** Calls `listener` after each restart: blocks after the last state dump are gone from the chain. */
  onRestarted(listener: () => void): void;
  readonly statePath: string;
  /** False on a first start, when no state file existed. */
  readonly hasLoadedState: boolean;
  isRunning(): boolean;
  /** Tops the account up with anvil_setBalance: the gateway's key is its own, not a dev mnemonic's. */
  fund(address: string): Promise<void>;
  /** anvil writes its state and exits; then the file is fsynced and backed up. Idempotent. */
  stop(): Promise<void>;
  /** Kills anvil without writing state: for a start that was refused, so it leaves no trace. */
  abort(): Promise<void>;
};

export const chainDirOf = (dataDir: string): string => join(dataDir, 'chain');

/** The port the chain listened on at its last start, or null (first start, or a file that is not a port). */
async function readRememberedPort(path: string): Promise<number | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return null;
  }
  const port = Number(text.trim());
  return Number.isInteger(port) && port > 0 && port < 65_536 ? port : null;
}

const ANVIL_PLATFORMS: Record<string, Record<string, string>> = {
  linux: { x64: 'linux-amd64', arm64: 'linux-arm64' },
  darwin: { x64: 'darwin-amd64', arm64: 'darwin-arm64' },
};

/** The anvil binary inside its npm platform package (its postinstall download is never needed). */
export function resolveAnvilBinary(): string {
  const platform = ANVIL_PLATFORMS[process.platform]?.[process.arch];
  if (platform === undefined) {
    throw new GatewayError(
      'LEDGER_UNAVAILABLE',
      'the embedded chain does not run on this platform; set an external RPC URL',
      { reason: 'unsupported-platform' },
    );
  }
  try {
    const manifest = createRequire(import.meta.url).resolve(`@foundry-rs/anvil-${platform}/package.json`);
    const binary = join(dirname(manifest), 'bin', 'anvil');
    accessSync(binary, constants.X_OK);
    return binary;
  } catch (cause) {
    throw new GatewayError(
      'LEDGER_UNAVAILABLE',
      'the anvil binary is not installed (npm package @foundry-rs/anvil)',
      { reason: 'anvil-missing' },
      { cause },
    );
  }
}

/**
 * A complete dump is compact JSON whose last member is historical_states (anvil 1.7 field order), so
 * the tail tells a finished write from a torn one without parsing a file that may be large.
 */
async function checkStateFile(statePath: string): Promise<'absent' | 'complete'> {
  const info = await stat(statePath).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return null;
    throw error;
  });
  if (info === null) return 'absent';
  const handle = await open(statePath, 'r');
  try {
    const tailBytes = Math.min(info.size, 64);
    const { buffer } = await handle.read(Buffer.alloc(tailBytes), 0, tailBytes, info.size - tailBytes);
    if (/"historical_states":(null|\{\})\}\s*$/.test(buffer.toString('utf8'))) return 'complete';
  } finally {
    await handle.close();
  }
  try {
    JSON.parse(await readFile(statePath, 'utf8'));
    return 'complete';
  } catch (cause) {
    throw new GatewayError(
      'LEDGER_UNAVAILABLE',
      'the local chain state file is torn; restore chain/state.backup.json or an external copy',
      { reason: 'state-corrupt' },
      { cause },
    );
  }
}

async function callRpc(rpcUrl: string, method: string, params: unknown[], timeoutMs: number): Promise<unknown> {
  let body: { result?: unknown; error?: unknown };
  try {
    const response = await fetch(rpcUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    body = (await response.json()) as typeof body;
  } catch (cause) {
    throw new GatewayError(
      'LEDGER_UNAVAILABLE',
      `local chain did not answer ${method}`,
      { reason: 'unreachable', method },
      { cause },
    );
  }
  if (body.error !== undefined)
    throw new GatewayError('LEDGER_UNAVAILABLE', `local chain refused ${method}`, { reason: 'rpc-error', method });
  return body.result;
}

// $0 is anvil, "$@" its arguments. fd 0 is the lifeline pipe from the gateway: a background reader
// waits for EOF and then asks anvil to shut down (SIGTERM makes anvil dump its state). anvil stays
// this shell's child, so its pid cannot be reused before `wait` reaps it. fd 2 is the log file.
const SUPERVISOR = [
  'exec 3<&0 0</dev/null',
  '"$0" "$@" 1>&2 3<&- &',
  'chain=$!',
  'echo "$chain"',
  '( while read -r _; do :; done; kill -TERM "$chain" 2>/dev/null ) <&3 &',
  'lifeline=$!',
  'exec 3<&-',
  'wait "$chain"',
  'status=$?',
  'kill "$lifeline" 2>/dev/null',
  'exit "$status"',
].join('\n');

const LISTENING = /Listening on 127\.0\.0\.1:(\d+)/;
const MAX_RESTART_DELAY_MS = 30_000;
/** An anvil that ran this long before dying was not crash-looping. */
const STABLE_AFTER_MS = 60_000;

/** Reads the first line the supervisor prints: anvil's pid. */
function readPid(child: ChildProcess, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const fail = (message: string, reason: string) => () =>
      reject(new GatewayError('LEDGER_UNAVAILABLE', message, { reason }));
    const timer = setTimeout(fail('the local chain supervisor did not start in time', 'timeout'), timeoutMs);
    let text = '';
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      text += chunk;
      const newline = text.indexOf('\n');
      if (newline < 0) return;
      clearTimeout(timer);
      const pid = Number(text.slice(0, newline).trim());
      if (Number.isSafeInteger(pid) && pid > 0) resolve(pid);
      else
        reject(
          new GatewayError('LEDGER_UNAVAILABLE', 'the local chain supervisor misbehaved', { reason: 'start-failed' }),
        );
    });
    child.once('exit', () => {
      clearTimeout(timer);
      fail('the local chain supervisor exited', 'start-failed')();
    });
  });
}

/** One anvil under its supervisor: the first at start, then one per restart. */
type Launch = {
  /** anvil's own pid (the supervisor's child). */
  pid: number;
  rpcUrl: string;
  /** Resolves when the supervisor (and so anvil) has exited. */
  exited: Promise<number | null>;
  /** undefined while running, then the supervisor's exit code (null when killed or never spawned). */
  exitCode(): number | null | undefined;
  /** Closes the lifeline: anvil gets SIGTERM and writes its state. */
  endLifeline(): void;
  /** SIGKILL for anvil (or the supervisor, before anvil's pid is known). */
  kill(): void;
};

type LaunchContext = {
  binary: string;
  args: string[];
  chainDir: string;
  logPath: string;
  chainId: number;
  startTimeoutMs: number;
  log: ChainLog;
};

/**
 * Spawns the supervisor and anvil on `port` (0: the kernel picks one) and waits until anvil listens and serves
 * `chainId`. The log is truncated on the first launch and appended to on a restart, so the crash stays readable;
 * the port is read only from what this launch wrote. On failure anvil is killed and the error is thrown.
 */
async function launchAnvil(ctx: LaunchContext, port: number, isRestart: boolean): Promise<Launch> {
  const { log, logPath } = ctx;
  const logFd = openSync(logPath, isRestart ? 'a' : 'w', 0o600);
  const logOffset = isRestart ? (await stat(logPath)).size : 0;
  let child: ChildProcess;
  try {
    child = spawn('/bin/sh', ['-c', SUPERVISOR, ctx.binary, ...ctx.args, '--port', String(port)], {
      stdio: ['pipe', 'pipe', logFd],
      // Own process group: a terminal's Ctrl-C reaches the gateway only, which stops the chain last.
      detached: true,
      // HOME inside the chain dir keeps anvil's caches there; nothing else of ours is inherited.
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: ctx.chainDir, NO_COLOR: '1' },
    });
  } finally {
    closeSync(logFd);
  }
  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      exitCode = code;
      resolve(code);
    });
    // A failed spawn emits 'error' and no 'exit'; an unhandled 'error' event would crash the gateway.
    child.once('error', (cause) => {
      log.error({ err: cause }, 'local chain supervisor failed');
      exitCode ??= null;
      resolve(null);
    });
  });
  child.stdin?.on('error', () => {
    /* EPIPE after the supervisor died: exit is handled above */
  });
  let pid: number | undefined;
  // Kills anvil only: the supervisor then reaps it and exits, so `exited` means anvil is gone too.
  // Before anvil's pid is known the supervisor goes, and the closed lifeline stops anvil.
  const kill = (): void => {
    child.stdin?.end();
    try {
      process.kill(pid ?? child.pid!, 'SIGKILL');
    } catch {
      /* already gone */
    }
  };
  try {
    const deadline = Date.now() + ctx.startTimeoutMs;
    pid = await readPid(child, ctx.startTimeoutMs);
    let listening: string | undefined;
    while (listening === undefined) {
      if (exitCode !== undefined)
        throw new GatewayError('LEDGER_UNAVAILABLE', 'the local chain exited during start; see chain/anvil.log', {
          reason: 'start-failed',
        });
      if (Date.now() > deadline)
        throw new GatewayError('LEDGER_UNAVAILABLE', 'the local chain did not start in time', { reason: 'timeout' });
      listening = LISTENING.exec((await readFile(logPath)).subarray(logOffset).toString('utf8'))?.[1];
      if (listening === undefined) await delay(20);
    }
    const rpcUrl = `http://127.0.0.1:${listening}`;
    const servedId = Number(await callRpc(rpcUrl, 'eth_chainId', [], Math.max(deadline - Date.now(), 1_000)));
    if (servedId !== ctx.chainId)
      throw new GatewayError('LEDGER_UNAVAILABLE', 'the local chain serves another chain id', {
        reason: 'wrong-chain',
        chainId: servedId,
        expectedChainId: ctx.chainId,
      });
    // anvil logs every RPC method by default; the log file would grow without bound.
    await callRpc(rpcUrl, 'anvil_setLoggingEnabled', [false], 5_000);
    const anvilPid = pid;
    return { pid: anvilPid, rpcUrl, exited, exitCode: () => exitCode, endLifeline: () => child.stdin?.end(), kill };
  } catch (error) {
    kill();
    await exited;
    log.error(
      { logPath, tail: (await readFile(logPath, 'utf8').catch(() => '')).slice(-2_000) },
      'local chain failed to start',
    );
    throw error;
  }
}

/**
 * Starts anvil (loading state.json if present) and waits until it answers with the right chain id. If anvil then
 * dies on its own (a crash, an OOM kill), it is started again on the same port, so every client's URL stays good,
 * from its last state dump, after a pause that doubles from `restartDelayMs` up to 30 s while restarts fail or it
 * keeps dying within a minute of one.
 * Anchors in blocks after that dump are gone from the chain; the anchoring service finds them missing and sends
 * them again (consent/anchoring.ts). A state file that is absent or torn by then is not restarted from: an empty
 * chain would be a different ledger, so it stays down and says why, as a gateway start would.
 */
export async function startLocalChain(options: LocalChainOptions): Promise<LocalChain> {
  const { log } = options;
  const chainId = options.chainId ?? LOCAL_CHAIN_ID;
  const stateInterval = options.stateIntervalSeconds ?? DEFAULT_STATE_INTERVAL_SECONDS;
  const startTimeoutMs = options.startTimeoutMs ?? 20_000;
  const stopTimeoutMs = options.stopTimeoutMs ?? 30_000;
  const restartDelayMs = options.restartDelayMs ?? 1_000;
  if (!Number.isSafeInteger(stateInterval) || stateInterval < 1) {
    throw new GatewayError('BAD_INPUT', 'stateIntervalSeconds must be a positive integer', {
      field: 'stateIntervalSeconds',
    });
  }
  const binary = resolveAnvilBinary();
  const chainDir = chainDirOf(options.dataDir);
  await mkdir(chainDir, { recursive: true, mode: 0o700 });
  const statePath = join(chainDir, 'state.json');
  const backupPath = join(chainDir, 'state.backup.json');
  const logPath = join(chainDir, 'anvil.log');
  const hasLoadedState = (await checkStateFile(statePath)) === 'complete';

  const args = [
    '--host',
    '127.0.0.1', // explicit, so ANVIL_IP_ADDR can never widen it
    '--chain-id',
    String(chainId),
    '--accounts',
    '0', // no well-known dev keys: the gateway's own key is funded instead
    '--state',
    statePath,
    '--state-interval',
    String(stateInterval),
    '--color',
    'never',
  ];
  const ctx: LaunchContext = { binary, args, chainDir, logPath, chainId, startTimeoutMs, log };
  // A saved RPC URL (a verifier's command line, a wallet, a script) keeps working only if the port does not move.
  const portPath = join(chainDir, 'port');
  const remembered = await readRememberedPort(portPath);
  const wanted = options.port ?? remembered ?? 0;
  let current: Launch;
  try {
    current = await launchAnvil(ctx, wanted, false);
  } catch (error) {
    if (wanted === 0) throw error;
    const source = options.port === undefined ? `the port of its last start (${portPath})` : 'SEALGATE_CHAIN_PORT';
    throw new GatewayError(
      'LEDGER_UNAVAILABLE',
      `the local chain could not start on port ${wanted}, ${source}: free the port, or set SEALGATE_CHAIN_PORT to ` +
        `another one (clients then need the new RPC URL); see chain/anvil.log`,
      { reason: 'port', port: wanted },
      { cause: error },
    );
  }
  const rpcUrl = current.rpcUrl;
  const port = Number(new URL(rpcUrl).port);
  if (port !== remembered) await writeFileDurably(portPath, `${port}\n`);
  log.info(
    { rpcUrl, chainId, chainPid: current.pid, statePath, stateIntervalSeconds: stateInterval, hasLoadedState },
    'local chain started',
  );

  let isStopping = false;
  let restartTimer: ReturnType<typeof setTimeout> | undefined;
  let restarting: Promise<void> | undefined;
  let restarts = 0;
  const restartListeners: (() => void)[] = [];
  const backoffMs = (n: number) => Math.min(MAX_RESTART_DELAY_MS, restartDelayMs * 2 ** n);

  const restart = async (attempt: number): Promise<void> => {
    try {
      // Refused like a start would be: a chain without its state is another ledger, and a torn file stays torn.
      const state = await checkStateFile(statePath).catch((error: unknown) => error);
      if (state !== 'complete') {
        const why =
          state === 'absent'
            ? 'it never wrote its state'
            : 'its state file is torn (chain/state.backup.json is the last clean copy)';
        log.error({ statePath }, `local chain not restarted: ${why}; restart the gateway to recover`);
        return;
      }
      const next = await launchAnvil(ctx, port, true);
      if (isStopping) {
        next.kill();
        await next.exited;
        return;
      }
      current = next;
      restarts++;
      watch(next);
      log.warn({ rpcUrl, chainPid: next.pid, restarts }, 'local chain restarted from its last state dump');
      for (const listener of restartListeners) listener();
    } catch (error) {
      if (isStopping) return;
      const delayMs = backoffMs(attempt);
      log.error({ err: error, attempt, retryInMs: delayMs }, 'local chain restart failed');
      schedule(attempt + 1, delayMs);
    }
  };
  const schedule = (attempt: number, delayMs: number) => {
    // Unref'd: a pending restart must not keep a gateway that is exiting alive.
    restartTimer = setTimeout(() => {
      restartTimer = undefined;
      if (!isStopping) restarting = restart(attempt);
    }, delayMs);
    restartTimer.unref();
  };
  // A chain that dies again soon after a restart is crash-looping: its pauses keep doubling instead of starting over.
  let crashes = 0;
  const watch = (launch: Launch) => {
    const startedAt = Date.now();
    void launch.exited.then((code) => {
      if (isStopping || launch !== current) return;
      crashes = Date.now() - startedAt < STABLE_AFTER_MS ? crashes + 1 : 0;
      log.error({ code, logPath }, 'local chain exited unexpectedly');
      schedule(crashes, backoffMs(crashes));
    });
  };
  watch(current);

  let stopping: Promise<void> | undefined;
  const halt = (isGraceful: boolean): Promise<void> => {
    stopping ??= (async () => {
      isStopping = true;
      if (restartTimer !== undefined) clearTimeout(restartTimer);
      await restarting;
      const running = current;
      if (running.exitCode() === undefined) {
        if (isGraceful)
          running.endLifeline(); // anvil gets SIGTERM and dumps its state
        else running.kill();
        // Unref'd: a pending deadline must not keep a gateway that is exiting alive for stopTimeoutMs.
        const isLate = await Promise.race([
          running.exited.then(() => false),
          delay(stopTimeoutMs, true, { ref: false }),
        ]);
        if (isLate) {
          log.error({ stopTimeoutMs }, 'local chain did not exit in time; killed');
          running.kill();
          await running.exited;
        }
      }
      const exitCode = running.exitCode();
      if (isGraceful && exitCode === 0 && (await checkStateFile(statePath).catch(() => 'absent')) === 'complete') {
        // anvil never fsyncs; a clean stop is the moment the file is known complete, so keep it durable.
        await fsyncPath(statePath);
        await copyFileDurably(statePath, backupPath);
      }
      log.info({ code: exitCode }, 'local chain stopped');
    })();
    return stopping;
  };

  return {
    rpcUrl,
    chainId,
    get pid() {
      return current.pid;
    },
    statePath,
    hasLoadedState,
    get restarts() {
      return restarts;
    },
    isRunning: () => current.exitCode() === undefined,
    onRestarted: (listener) => {
      restartListeners.push(listener);
    },
    async fund(address) {
      const balance = BigInt(String(await callRpc(rpcUrl, 'eth_getBalance', [address, 'latest'], 5_000)));
      if (balance < MIN_BALANCE_WEI)
        await callRpc(rpcUrl, 'anvil_setBalance', [address, `0x${FUNDED_WEI.toString(16)}`], 5_000);
    },
    stop: () => halt(true),
    abort: () => halt(false),
  };
}
