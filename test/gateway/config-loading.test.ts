// Configuration: defaults, env over file, strict file keys, and errors that name the key to fix
// without ever echoing a value.
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../gateway/config.ts';
import type { GatewayError } from '../../core/errors.ts';

const fileOf = (content: unknown) => () => (typeof content === 'string' ? content : JSON.stringify(content));

function configError(env: Record<string, string>, readFile?: () => string): GatewayError {
  try {
    loadConfig(env, readFile);
  } catch (error) {
    return error as GatewayError;
  }
  throw new Error('expected loadConfig to throw');
}

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    expect(loadConfig({})).toEqual({
      port: 8080,
      host: '127.0.0.1',
      dataDir: resolve('./.sealgate'),
      partyId: 'sealgate-local',
      logLevel: 'info',
      bodyLimitBytes: 1024 * 1024,
      rateLimit: { max: 300, peerMax: 60_000, windowMs: 60_000 },
      env: 'development',
      trustProxy: false,
      dbMemoryLimit: '256MB',
      ledger: { mode: 'local', batchMaxRecords: 10_000, batchIntervalMs: 5_000, stateIntervalSeconds: 5 },
    });
  });

  it('reads every setting from the environment', () => {
    const config = loadConfig({
      PORT: '9090',
      HOST: '0.0.0.0',
      SEALGATE_DATA_DIR: '/var/lib/sealgate',
      SEALGATE_PARTY_ID: 'insurer-1',
      SEALGATE_LOG_LEVEL: 'debug',
      SEALGATE_BODY_LIMIT_BYTES: '2048',
      SEALGATE_RATE_LIMIT_MAX: '5',
      SEALGATE_PEER_RATE_LIMIT_MAX: '700',
      SEALGATE_RATE_LIMIT_WINDOW_MS: '1000',
      SEALGATE_PASSPHRASE: 'a long enough passphrase',
      SEALGATE_ENV: 'production',
      SEALGATE_TRUST_PROXY: '10.0.0.0/8',
      SEALGATE_LEDGER: 'external',
      SEALGATE_RPC_URL: 'https://chain.example:8545',
      SEALGATE_LEDGER_ADDRESSES: '/etc/sealgate/deployment.json',
      SEALGATE_ANCHOR_BATCH_MAX: '500',
      SEALGATE_ANCHOR_INTERVAL_MS: '2000',
      SEALGATE_CHAIN_STATE_INTERVAL_S: '2',
      SEALGATE_DB_MEMORY_LIMIT: '2GB',
    });
    expect(config).toEqual({
      port: 9090,
      host: '0.0.0.0',
      dataDir: '/var/lib/sealgate',
      partyId: 'insurer-1',
      logLevel: 'debug',
      bodyLimitBytes: 2048,
      rateLimit: { max: 5, peerMax: 700, windowMs: 1000 },
      passphrase: 'a long enough passphrase',
      env: 'production',
      trustProxy: '10.0.0.0/8',
      dbMemoryLimit: '2GB',
      ledger: {
        mode: 'external',
        rpcUrl: 'https://chain.example:8545',
        addresses: '/etc/sealgate/deployment.json',
        batchMaxRecords: 500,
        batchIntervalMs: 2000,
        stateIntervalSeconds: 2,
      },
    });
    expect(loadConfig({ SEALGATE_TRUST_PROXY: 'true' }).trustProxy).toBe(true);
  });

  it('treats empty variables as unset', () => {
    expect(loadConfig({ PORT: '', SEALGATE_PASSPHRASE: '' })).toMatchObject({ port: 8080 });
    expect(loadConfig({ SEALGATE_PASSPHRASE: '' }).passphrase).toBeUndefined();
  });

  it('layers the environment over the JSON file named by SEALGATE_CONFIG', () => {
    const file = { port: 7000, partyId: 'dealer-4s', rateLimit: { max: 10 } };
    const config = loadConfig(
      { SEALGATE_CONFIG: '/etc/sealgate.json', PORT: '7001', SEALGATE_RATE_LIMIT_WINDOW_MS: '5000' },
      fileOf(file),
    );
    expect(config).toMatchObject({ port: 7001, partyId: 'dealer-4s', rateLimit: { max: 10, windowMs: 5000 } });
  });

  it('names the env var for a bad env value', () => {
    const error = configError({ PORT: 'eighty' });
    expect(error.code).toBe('BAD_INPUT');
    expect(error.message).toBe('invalid configuration: PORT: expected integer 0..65535');
    expect(configError({ PORT: '70000' }).message).toBe('invalid configuration: PORT: expected integer 0..65535');
    expect(configError({ SEALGATE_PARTY_ID: 'Bad_Party' }).message).toMatch(
      /^invalid configuration: SEALGATE_PARTY_ID: /,
    );
    expect(configError({ SEALGATE_RATE_LIMIT_MAX: '0' }).message).toMatch(/SEALGATE_RATE_LIMIT_MAX: expected integer/);
    expect(configError({ SEALGATE_ENV: 'staging' }).message).toMatch(
      /SEALGATE_ENV: expected development or production/,
    );
    // The value is written into a SET statement, so anything but a plain size is refused.
    expect(configError({ SEALGATE_DB_MEMORY_LIMIT: "1GB'; DROP TABLE events; --" }).message).toMatch(
      /SEALGATE_DB_MEMORY_LIMIT: expected a size/,
    );
  });

  it('names every bad key at once', () => {
    const error = configError({ PORT: '-1', SEALGATE_LOG_LEVEL: 'loud' });
    expect(error.message).toContain('PORT:');
    expect(error.message).toContain('SEALGATE_LOG_LEVEL:');
    expect(error.detail.errors).toHaveLength(2);
  });

  it('names the file key for a bad file value', () => {
    const error = configError({ SEALGATE_CONFIG: 'c.json' }, fileOf({ rateLimit: { max: 'many' } }));
    expect(error.message).toBe('invalid configuration: rateLimit.max (config file): expected integer 1..1000000');
  });

  it('rejects unknown keys in the file, naming them, nested ones included', () => {
    const error = configError({ SEALGATE_CONFIG: 'c.json' }, fileOf({ port: 1, prot: 2, rateLimit: { maxx: 1 } }));
    expect(error.message).toContain('unknown key(s) in config file: prot');
    expect(error.message).toContain('rateLimit.maxx');
  });

  it('refuses a passphrase in the file: secrets come from the environment', () => {
    const error = configError({ SEALGATE_CONFIG: 'c.json' }, fileOf({ passphrase: 'a long enough passphrase' }));
    expect(error.message).toMatch(/passphrase \(config file\): .*SEALGATE_PASSPHRASE/);
    expect(error.message).not.toContain('a long enough passphrase');
  });

  it('reports an unreadable or non-JSON file against SEALGATE_CONFIG', () => {
    expect(
      configError({ SEALGATE_CONFIG: '/nope.json' }, () => {
        throw new Error('ENOENT');
      }).message,
    ).toBe('invalid configuration: SEALGATE_CONFIG: cannot read file /nope.json');
    expect(configError({ SEALGATE_CONFIG: 'c.json' }, fileOf('{port:')).message).toMatch(
      /SEALGATE_CONFIG: file c.json is not valid JSON/,
    );
    expect(configError({ SEALGATE_CONFIG: 'c.json' }, fileOf('[1]')).message).toMatch(/must hold a JSON object/);
  });

  it('requires a passphrase in production and never echoes a passphrase that is too short', () => {
    expect(configError({ SEALGATE_ENV: 'production' }).message).toBe(
      'invalid configuration: SEALGATE_PASSPHRASE: required when SEALGATE_ENV=production',
    );
    const short = configError({ SEALGATE_PASSPHRASE: 'hunter2' });
    expect(short.message).toBe('invalid configuration: SEALGATE_PASSPHRASE: must be at least 12 characters');
    expect(JSON.stringify(short.detail)).not.toContain('hunter2');
  });
});
