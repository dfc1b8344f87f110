// Gateway configuration (12-factor: environment first, optional JSON file underneath). One zod
// schema is the type and the validator; every error names the exact env var or file key to fix.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { GatewayError } from '../core/errors.ts';
import { PARTY_ID_PATTERN } from '../core/party-id.ts';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const MIB = 1024 * 1024;

/** An integer range whose every failure says the same thing, so messages read "PORT: expected integer 0..65535". */
const intIn = (min: number, max: number) => {
  const error = `expected integer ${min}..${max}`;
  return z.int({ error }).min(min, { error }).max(max, { error });
};

export const RateLimitConfig = z.strictObject({
  max: intIn(1, 1_000_000).default(300),
  /** Per registered partner gateway (and its address): a PSI job's frames, progress and notices. */
  peerMax: intIn(1, 10_000_000).default(60_000),
  windowMs: intIn(1_000, 86_400_000).default(60_000),
});

/**
 * Where consent and audit roots are anchored. 'local' (the default) runs an anvil chain owned by this
 * gateway with its state in <dataDir>/chain; 'external' uses rpcUrl and the deployed addresses;
 * 'off' anchors nothing and says so in /ready: an explicit choice for tests and air-gapped trials,
 * never a silent fallback.
 */
export const LedgerConfig = z.strictObject({
  mode: z.enum(['local', 'external', 'off'], { error: 'expected local, external or off' }).default('local'),
  rpcUrl: z.url({ protocol: /^https?$/, error: 'expected an http(s) JSON-RPC URL' }).optional(),
  /** JSON `{registry, anchor, packages}` or a path to a deployment.json holding them. */
  addresses: z.string().min(1).optional(),
  batchMaxRecords: intIn(1, 1_000_000).default(10_000),
  batchIntervalMs: intIn(100, 3_600_000).default(5_000),
  /** How often the embedded chain writes its state file: the most a SIGKILL of anvil itself can lose. */
  stateIntervalSeconds: intIn(1, 3_600).default(5),
  /** The embedded chain's loopback port; unset: the port of its last start, picked by the kernel the first time. */
  chainPort: intIn(1, 65_535).optional(),
});

export const GatewayConfig = z
  .strictObject({
    /** 0 lets the OS pick a free port (tests, demos); the chosen port is printed at start-up. */
    port: intIn(0, 65_535).default(8080),
    host: z
      .string({ error: 'expected a host name or IP address' })
      .min(1, { error: 'expected a host name or IP address' })
      .default('127.0.0.1'),
    dataDir: z
      .string({ error: 'expected a directory path' })
      .min(1, { error: 'expected a directory path' })
      .default('./.sealgate'),
    partyId: z
      .string({ error: 'expected a party id' })
      .regex(PARTY_ID_PATTERN, { error: 'expected 2-31 chars of a-z, 0-9 and "-", not starting with "-"' })
      .default('sealgate-local'),
    logLevel: z.enum(LOG_LEVELS, { error: `expected one of ${LOG_LEVELS.join(', ')}` }).default('info'),
    bodyLimitBytes: intIn(1024, 64 * MIB).default(MIB),
    /**
     * DuckDB memory_limit of each database file (gateway state, connector data). DuckDB's own default is 80% of RAM,
     * and it keeps every block it scanned cached up to that: at a million consents that alone was gigabytes.
     * Beyond the limit DuckDB spills to <file>.tmp, so a job gets slower rather than failing.
     */
    dbMemoryLimit: z
      .string({ error: 'expected a size such as 512MB or 2GB' })
      .regex(/^[1-9]\d{0,5}(MB|GB)$/, { error: 'expected a size such as 512MB or 2GB' })
      .default('256MB'),
    rateLimit: RateLimitConfig.prefault({}),
    ledger: LedgerConfig.prefault({}),
    // The key-encryption passphrase guards a file an attacker may copy and attack offline, so it has a floor.
    passphrase: z
      .string({ error: 'expected a string' })
      .min(12, { error: 'must be at least 12 characters' })
      .optional(),
    env: z.enum(['development', 'production'], { error: 'expected development or production' }).default('development'),
    /**
     * Fastify trustProxy: false, true, or a comma-separated list of proxy addresses/CIDRs. Hop counts
     * are not offered: they cannot tell a proxy from a client forging X-Forwarded-For.
     */
    trustProxy: z
      .union([z.boolean(), z.string().min(1)], { error: 'expected true, false or a list of proxy addresses' })
      .default(false),
  })
  .superRefine((config, ctx) => {
    // Fail closed: production never falls back to a generated passphrase sitting next to the keys.
    if (config.env === 'production' && config.passphrase === undefined) {
      ctx.addIssue({ code: 'custom', path: ['passphrase'], message: 'required when SEALGATE_ENV=production' });
    }
    if (
      config.ledger.mode === 'external' &&
      (config.ledger.rpcUrl === undefined || config.ledger.addresses === undefined)
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['ledger', 'rpcUrl'],
        message: 'external ledger needs SEALGATE_RPC_URL and SEALGATE_LEDGER_ADDRESSES',
      });
    }
  });
export type GatewayConfig = z.infer<typeof GatewayConfig>;

/** Where each config path is read from in the environment. */
export const ENV_VARS = {
  'port': 'PORT',
  'host': 'HOST',
  'dataDir': 'SEALGATE_DATA_DIR',
  'partyId': 'SEALGATE_PARTY_ID',
  'logLevel': 'SEALGATE_LOG_LEVEL',
  'bodyLimitBytes': 'SEALGATE_BODY_LIMIT_BYTES',
  'dbMemoryLimit': 'SEALGATE_DB_MEMORY_LIMIT',
  'rateLimit.max': 'SEALGATE_RATE_LIMIT_MAX',
  'rateLimit.peerMax': 'SEALGATE_PEER_RATE_LIMIT_MAX',
  'rateLimit.windowMs': 'SEALGATE_RATE_LIMIT_WINDOW_MS',
  'passphrase': 'SEALGATE_PASSPHRASE',
  'env': 'SEALGATE_ENV',
  'trustProxy': 'SEALGATE_TRUST_PROXY',
  'ledger.mode': 'SEALGATE_LEDGER',
  'ledger.rpcUrl': 'SEALGATE_RPC_URL',
  'ledger.addresses': 'SEALGATE_LEDGER_ADDRESSES',
  'ledger.batchMaxRecords': 'SEALGATE_ANCHOR_BATCH_MAX',
  'ledger.batchIntervalMs': 'SEALGATE_ANCHOR_INTERVAL_MS',
  'ledger.stateIntervalSeconds': 'SEALGATE_CHAIN_STATE_INTERVAL_S',
  'ledger.chainPort': 'SEALGATE_CHAIN_PORT',
} as const;
type ConfigPath = keyof typeof ENV_VARS;

const NUMERIC_PATHS: ReadonlySet<ConfigPath> = new Set([
  'port',
  'bodyLimitBytes',
  'rateLimit.max',
  'rateLimit.peerMax',
  'rateLimit.windowMs',
  'ledger.batchMaxRecords',
  'ledger.batchIntervalMs',
  'ledger.stateIntervalSeconds',
  'ledger.chainPort',
]);

export type FileReader = (path: string) => string;
type Env = Record<string, string | undefined>;
type Issue = { key: string; message: string };

/**
 * Builds the configuration from `env` (normally process.env) over the JSON file named by
 * SEALGATE_CONFIG. Throws BAD_INPUT whose message names every bad key; values are never echoed,
 * because one of them may be the passphrase.
 */
export function loadConfig(
  env: Env = process.env,
  readFile: FileReader = (p) => readFileSync(p, 'utf8'),
): GatewayConfig {
  const filePath = nonEmpty(env.SEALGATE_CONFIG);
  const raw: Record<string, unknown> = filePath === undefined ? {} : readConfigFile(filePath, readFile);
  const fromEnv = new Set<string>();

  for (const [path, name] of Object.entries(ENV_VARS) as [ConfigPath, string][]) {
    const text = nonEmpty(env[name]);
    if (text === undefined) continue;
    fromEnv.add(path);
    const value = parseEnvValue(path, text);
    const [head, tail] = path.split('.') as [string, string | undefined];
    if (tail === undefined) {
      raw[head] = value;
    } else {
      const nested = raw[head];
      // A non-object here is reported by the schema against the file key; env cannot repair it.
      if (nested === undefined) raw[head] = { [tail]: value };
      else if (isPlainObject(nested)) raw[head] = { ...nested, [tail]: value };
    }
  }

  const result = GatewayConfig.safeParse(raw);
  if (!result.success) {
    const issues = result.error.issues.map((issue): Issue => {
      if (issue.code === 'unrecognized_keys') {
        const keys = issue.keys.map((k) => [...issue.path, k].join('.'));
        return { key: 'SEALGATE_CONFIG', message: `unknown key(s) in config file: ${keys.join(', ')}` };
      }
      const path = issue.path.join('.');
      const isFileValue = filePath !== undefined && !fromEnv.has(path) && hasPath(raw, path);
      const key = isFileValue || !(path in ENV_VARS) ? `${path} (config file)` : ENV_VARS[path as ConfigPath];
      return { key, message: issue.message };
    });
    throw configError(issues);
  }
  return { ...result.data, dataDir: resolve(result.data.dataDir) };
}

function readConfigFile(path: string, readFile: FileReader): Record<string, unknown> {
  let text: string;
  try {
    text = readFile(path);
  } catch (cause) {
    throw configError([{ key: 'SEALGATE_CONFIG', message: `cannot read file ${path}` }], cause);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw configError([{ key: 'SEALGATE_CONFIG', message: `file ${path} is not valid JSON` }], cause);
  }
  if (!isPlainObject(parsed))
    throw configError([{ key: 'SEALGATE_CONFIG', message: `file ${path} must hold a JSON object` }]);
  // Config files get committed and copied around; the key-encryption secret stays in the environment.
  if ('passphrase' in parsed) {
    throw configError([
      { key: 'passphrase (config file)', message: 'secrets are not read from files; set SEALGATE_PASSPHRASE instead' },
    ]);
  }
  return { ...parsed };
}

function parseEnvValue(path: ConfigPath, text: string): unknown {
  if (NUMERIC_PATHS.has(path)) return /^-?\d+$/.test(text) ? Number(text) : text;
  if (path === 'trustProxy' && (text === 'true' || text === 'false')) return text === 'true';
  return text;
}

function configError(issues: Issue[], cause?: unknown): GatewayError {
  const message = `invalid configuration: ${issues.map((i) => `${i.key}: ${i.message}`).join('; ')}`;
  return new GatewayError('BAD_INPUT', message, { errors: issues }, cause === undefined ? undefined : { cause });
}

const nonEmpty = (value: string | undefined): string | undefined =>
  value === undefined || value === '' ? undefined : value;

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function hasPath(root: Record<string, unknown>, path: string): boolean {
  let node: unknown = root;
  for (const part of path.split('.')) {
    if (!isPlainObject(node) || !(part in node)) return false;
    node = node[part];
  }
  return true;
}
