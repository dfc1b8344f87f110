// Starting and stopping one gateway process: context, first-start admin token, listen, and a
// graceful shutdown on SIGTERM/SIGINT (in-flight requests finish, then the database closes).
import type { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { buildApp } from './http/app.ts';
import type { GatewayConfig } from './config.ts';
import { createContext, type ContextOptions, type GatewayContext } from './services/context.ts';

export type RunningGateway = {
  app: FastifyInstance;
  ctx: GatewayContext;
  /** The base URL actually bound (port 0 resolved). */
  url: string;
  /** Stops accepting, drains in-flight requests, closes the database. Idempotent. */
  close(): Promise<void>;
};

export type StartOptions = ContextOptions & {
  /** Where the one-time admin token and the listening line go; stdout by default. */
  stdout?: Writable;
  /** Install SIGTERM/SIGINT handlers that close the gateway (the CLI does; tests do not). */
  isHandlingSignals?: boolean;
};

const FORCED_EXIT_MS = 10_000;

export async function startGateway(config: GatewayConfig, options: StartOptions = {}): Promise<RunningGateway> {
  const out = options.stdout ?? process.stdout;
  const ctx = await createContext(config, options);
  let app: FastifyInstance;
  try {
    app = await buildApp(ctx);
    await app.listen({ port: config.port, host: config.host });
  } catch (error) {
    await ctx.close();
    throw error;
  }

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      try {
        await app.close();
      } finally {
        await ctx.close();
      }
    })();
    return closing;
  };

  try {
    // Created only once the port is bound, so a failed start does not burn the one-time display.
    if ((await ctx.tokens.countTokens()) === 0) {
      const admin = await ctx.tokens.createToken('admin', 'bootstrap');
      out.write(`SEALGATE_ADMIN_TOKEN=${admin.token}\n`);
      out.write(
        `(first start: this admin token (${admin.id}) is shown once and will not be shown again; store it now)\n`,
      );
    }
  } catch (error) {
    await close();
    throw error;
  }

  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  const url = `http://${host}:${port}`;
  out.write(`sealgate listening on ${url}\n`);

  if (options.isHandlingSignals === true) {
    const onSignal = (signal: NodeJS.Signals) => {
      ctx.log.info({ signal }, 'shutting down');
      // A stuck connection must not keep a stopped gateway half-alive forever.
      setTimeout(() => process.exit(1), FORCED_EXIT_MS).unref();
      close().then(
        () => {
          process.exitCode = 0;
        },
        (error: unknown) => {
          ctx.log.error({ err: error }, 'shutdown failed');
          process.exitCode = 1;
        },
      );
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  }
  return { app, ctx, url, close };
}
