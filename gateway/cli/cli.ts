#!/usr/bin/env node
// The `sealgate` command line: serve, token create/list/revoke, keys show, and jobs watch and models against a
// running gateway's API. Exit codes: 0 success, 1 failure (bad configuration, locked keys, unknown token, a refusal
// or an unreachable gateway), 2 usage error.
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { loadConfig, type GatewayConfig } from '../config.ts';
import { DATABASE_FILE } from '../services/context.ts';
import { openDatabase } from '../../core/database.ts';
import { isGatewayError } from '../../core/errors.ts';
import { describeIdentity, loadOrCreateIdentity } from '../identity/identity.ts';
import { loggerOptions } from '../http/logger.ts';
import { startGateway } from '../server.ts';
import { Role, createTokenStore, type TokenStore } from '../identity/token-store.ts';
import { systemClock } from '../../core/clock.ts';
import { watchJob } from './job-watch.ts';
import { rotateIdentityKey } from './keys-rotate.ts';
import { listModels, showModel } from './models.ts';
import { listValuations, showValuation } from './valuations.ts';
import { showCertificate } from './lift-certificates.ts';
import { runDemoCommand } from './demo.ts';

export const USAGE = `usage: sealgate <command>

commands:
  serve                                   start the gateway (configuration from the environment)
  demo [--small] [--keep] [--customers N] [--seed S] [--dir D]
                                          the three-partner CLV story on three local gateways
                                          (docs/demo.md); --keep leaves them running
  token create --role ROLE [--label L]    issue a bearer token; it is printed once
  token list                              list issued tokens (ids, roles, labels; never the tokens)
  token revoke ID                         revoke a token
  keys show                               print the public party identity as JSON
  keys rotate                             give the gateway a new Ed25519 key, registered on the ledger with
                                          the current key's signature (gateway stopped; resumes if cut short)
  jobs watch ID [--url U] [--token T]     follow a job with a progress bar until it ends
                                          (SEALGATE_URL, SEALGATE_TOKEN; exit 0 when completed)
  models [--limit N]                      list this party's model parts as a table, newest first
  models NAME [VERSION]                   print a model card as JSON (the latest version by default);
                                          both take --url U --token T (SEALGATE_URL, SEALGATE_TOKEN)
  valuations PACKAGE                      list a data package's valuations as a table, newest first
  valuation ID                            print a valuation's headline figures as a table;
  certificate ID                          print a lift certificate's errors per subset as a table;
                                          all three take --url U --token T (SEALGATE_URL, SEALGATE_TOKEN)
  help                                    show this text

roles: ${Role.options.join(', ')}
environment: see README.md "Configuration" (SEALGATE_DATA_DIR, SEALGATE_PASSPHRASE, PORT, ...)
token commands need the data directory unlocked: stop a running gateway first, or use its
/v1/tokens API.`;

/** Where `jobs watch` and `models` find the gateway without --url or SEALGATE_URL: `npm start` on this host. */
const DEFAULT_URL = 'http://127.0.0.1:8080';
/** What GET /v1/models takes (model.routes.ts); checked here so a typo is a usage error, not a refusal. */
const MAX_MODEL_LIST = 500;

export type CliIo = { stdout: (line: string) => void; stderr: (line: string) => void };

const defaultIo: CliIo = {
  stdout: (line) => process.stdout.write(`${line}\n`),
  stderr: (line) => process.stderr.write(`${line}\n`),
};

class UsageError extends Error {}

/** Runs one command and resolves to its exit code. `serve` resolves once listening. */
export async function main(
  argv: string[],
  env: Record<string, string | undefined> = process.env,
  io: CliIo = defaultIo,
): Promise<number> {
  try {
    return await run(argv, env, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr(`sealgate: ${error.message}`);
      io.stderr(`run "sealgate help" for usage`);
      return 2;
    }
    if (isGatewayError(error)) {
      io.stderr(`sealgate: ${error.message}`);
      if (error.code === 'STORE_UNAVAILABLE')
        io.stderr('hint: is a gateway running on this data directory? stop it, or use its /v1/tokens API');
      return 1;
    }
    io.stderr(`sealgate: unexpected failure: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}

async function run(argv: string[], env: Record<string, string | undefined>, io: CliIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        role: { type: 'string' },
        label: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        url: { type: 'string' },
        token: { type: 'string' },
        interval: { type: 'string' },
        limit: { type: 'string' },
        keep: { type: 'boolean' },
        small: { type: 'boolean' },
        customers: { type: 'string' },
        seed: { type: 'string' },
        dir: { type: 'string' },
      },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const { values, positionals } = parsed;
  const [command, sub, ...rest] = positionals;
  if (values.help === true || command === 'help') {
    io.stdout(USAGE);
    return 0;
  }
  if (command === undefined) throw new UsageError('missing command');

  switch (command) {
    case 'serve': {
      expectNoMore([sub, ...rest]);
      const config = loadConfig(env);
      await startGateway(config, { isHandlingSignals: true });
      return 0;
    }
    case 'demo': {
      expectNoMore([sub, ...rest]);
      try {
        return await runDemoCommand(values, {
          stdout: io.stdout,
          isTty: process.stdout.isTTY,
          rewrite: (line) => process.stdout.write(`\r\x1b[2K${line}`),
          untilInterrupted: () => new Promise((resolve) => process.once('SIGINT', () => resolve())),
        });
      } catch (error) {
        if (error instanceof RangeError) throw new UsageError(error.message);
        throw error;
      }
    }
    case 'token':
      return runToken({ sub, rest, values, env, io });
    case 'keys': {
      if (sub !== 'show' && sub !== 'rotate')
        throw new UsageError(
          sub === undefined ? 'missing keys subcommand (show, rotate)' : `unknown keys subcommand "${sub}"`,
        );
      expectNoMore(rest);
      const config = loadConfig(env);
      // Warnings (the development passphrase) go to stderr, keeping stdout pure JSON.
      const log = pino(
        { ...loggerOptions(config), level: config.logLevel === 'silent' ? 'silent' : 'warn' },
        pino.destination(2),
      );
      if (sub === 'rotate') {
        const rotated = await rotateIdentityKey(config, log);
        io.stdout(JSON.stringify(rotated, null, 2));
        io.stderr(
          `key ${rotated.previousKeyId} retired, ${rotated.keyId} registered: partners register the new key for ` +
            `${config.partyId} (its public identity: sealgate keys show)`,
        );
        return 0;
      }
      const identity = await loadOrCreateIdentity(config, log);
      io.stdout(JSON.stringify(describeIdentity(identity), null, 2));
      return 0;
    }
    case 'jobs': {
      const [id, ...extra] = rest;
      if (sub !== 'watch')
        throw new UsageError(
          sub === undefined ? 'missing jobs subcommand (watch)' : `unknown jobs subcommand "${sub}"`,
        );
      if (id === undefined) throw new UsageError('jobs watch needs a job id');
      expectNoMore(extra);
      const token = values.token ?? env.SEALGATE_TOKEN;
      if (token === undefined)
        throw new UsageError(
          'jobs watch needs --token or SEALGATE_TOKEN (a data-steward, compliance-officer or admin token)',
        );
      const intervalMs = Number(values.interval ?? 500);
      if (!Number.isInteger(intervalMs) || intervalMs < 50)
        throw new UsageError('--interval is milliseconds, at least 50');
      return watchJob(id, {
        url: values.url ?? env.SEALGATE_URL ?? DEFAULT_URL,
        token,
        intervalMs,
        io: { ...io, isTty: process.stdout.isTTY === true, rewrite: (line) => process.stdout.write(`\r${line}`) },
      });
    }
    case 'models': {
      // `sub` is the model's name, when one is given.
      const [version, ...extra] = rest;
      expectNoMore(extra);
      const token = values.token ?? env.SEALGATE_TOKEN;
      if (token === undefined)
        throw new UsageError(
          'models needs --token or SEALGATE_TOKEN (a data-steward, compliance-officer or admin token)',
        );
      if (version !== undefined && !/^[1-9][0-9]{0,9}$/.test(version))
        throw new UsageError(`a model version is a positive integer, not "${version}"`);
      const limit = Number(values.limit ?? 50);
      if (!Number.isInteger(limit) || limit < 1 || limit > MAX_MODEL_LIST)
        throw new UsageError(`--limit is a number of models, 1 to ${MAX_MODEL_LIST}`);
      const options = { url: values.url ?? env.SEALGATE_URL ?? DEFAULT_URL, token, io };
      return sub === undefined
        ? listModels(limit, options)
        : showModel(sub, version === undefined ? undefined : Number(version), options);
    }
    case 'valuations':
    case 'valuation':
    case 'certificate': {
      if (sub === undefined)
        throw new UsageError(command === 'valuations' ? 'valuations needs a package id' : `${command} needs an id`);
      expectNoMore(rest);
      const token = values.token ?? env.SEALGATE_TOKEN;
      if (token === undefined)
        throw new UsageError(
          `${command} needs --token or SEALGATE_TOKEN (a data-steward, compliance-officer or admin token)`,
        );
      const options = { url: values.url ?? env.SEALGATE_URL ?? DEFAULT_URL, token, io };
      if (command === 'certificate') return showCertificate(sub, options);
      return command === 'valuations' ? listValuations(sub, options) : showValuation(sub, options);
    }
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

async function runToken({
  sub,
  rest,
  values,
  env,
  io,
}: {
  sub: string | undefined;
  rest: string[];
  values: { role?: string | undefined; label?: string | undefined };
  env: Record<string, string | undefined>;
  io: CliIo;
}): Promise<number> {
  switch (sub) {
    case 'create': {
      expectNoMore(rest);
      if (values.role === undefined)
        throw new UsageError(`token create needs --role (one of ${Role.options.join(', ')})`);
      const role = Role.safeParse(values.role);
      if (!role.success)
        throw new UsageError(`unknown role "${values.role}"; expected one of ${Role.options.join(', ')}`);
      const config = loadConfig(env);
      return withTokens(config, async (tokens) => {
        const created = await tokens.createToken(role.data, values.label);
        io.stdout(JSON.stringify(created));
        io.stderr(`token ${created.id} (${created.role}) created; it is shown once and will not be shown again`);
        return 0;
      });
    }
    case 'list': {
      expectNoMore(rest);
      return withTokens(loadConfig(env), async (tokens) => {
        io.stdout(JSON.stringify(await tokens.listTokens(), null, 2));
        return 0;
      });
    }
    case 'revoke': {
      const [id, ...extra] = rest;
      if (id === undefined) throw new UsageError('token revoke needs a token id');
      expectNoMore(extra);
      return withTokens(loadConfig(env), async (tokens) => {
        const revoked = await tokens.revokeToken(id);
        io.stdout(JSON.stringify(revoked));
        return 0;
      });
    }
    default:
      throw new UsageError(
        sub === undefined ? 'missing token subcommand (create, list, revoke)' : `unknown token subcommand "${sub}"`,
      );
  }
}

/** Token commands touch only the database, so they need no passphrase. */
async function withTokens(config: GatewayConfig, work: (tokens: TokenStore) => Promise<number>): Promise<number> {
  const db = await openDatabase(join(config.dataDir, DATABASE_FILE));
  try {
    return await work(await createTokenStore(db, systemClock));
  } finally {
    await db.close();
  }
}

function expectNoMore(extra: (string | undefined)[]): void {
  const unexpected = extra.filter((x) => x !== undefined);
  if (unexpected.length > 0) throw new UsageError(`unexpected argument "${unexpected[0]}"`);
}

if (import.meta.main) {
  process.exitCode = await main(process.argv.slice(2));
}
