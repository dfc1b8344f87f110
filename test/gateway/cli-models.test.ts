// `sealgate models` as an operator runs it: a real Node 24 child process against a gateway listening on loopback, the
// list as a table, a card as JSON, and exit codes 0 / 1 (a refusal, an unreachable gateway) / 2 (usage) with the
// reason on stderr and nothing on stdout.
import { execFile } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelPart } from '../../mpc/vfl/model-store.ts';
import { main } from '../../gateway/cli/cli.ts';
import { renderModelTable } from '../../gateway/cli/models.ts';
import { freePort } from '../fixtures/free-port.ts';
import { makeTestGateway, type TestGateway } from '../fixtures/gateway-fixture.ts';
import { guestModelPart } from './model-part-fixture.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = join(ROOT, 'gateway', 'cli', 'cli.ts');
const run = promisify(execFile);

const JOB_V1 = '3c915d43-8f6e-4a41-8da2-4e5f60718293';
const JOB_V2 = '4da26e54-907f-4b52-9eb3-5f60718293a4';

let gw: TestGateway;
let url: string;
let steward: string;
let v1: ModelPart;
let v2: ModelPart;

beforeAll(async () => {
  gw = await makeTestGateway();
  steward = await gw.tokenFor('data-steward');
  v1 = await gw.ctx.models.register(guestModelPart('churn-model', JOB_V1, '2026-12-01T10:00:00.000Z'));
  v2 = await gw.ctx.models.register(guestModelPart('churn-model', JOB_V2, '2026-12-03T10:00:00.000Z'));
  await gw.app.listen({ port: 0, host: '127.0.0.1' });
  url = `http://127.0.0.1:${(gw.app.server.address() as AddressInfo).port}`;
});
afterAll(() => gw?.close());

/** Only what the command needs: outside SEALGATE_* variables must not leak into the test. */
async function cli(args: string[], env: Record<string, string> = {}) {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** Runs the command in this process with no environment, capturing its lines. */
async function inProcess(args: string[]) {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const code = await main(args, {}, { stdout: (line) => stdout.push(line), stderr: (line) => stderr.push(line) });
  return { code, stdout, stderr };
}

describe('sealgate models', () => {
  it('lists the models as a table, newest first', async () => {
    const listed = await cli(['models', '--url', url, '--token', steward]);
    expect(listed).toMatchObject({ code: 0, stderr: '' });
    const lines = listed.stdout.trimEnd().split('\n');
    expect(lines.map((line) => line.split(/\s+/))).toEqual([
      ['NAME', 'VERSION', 'TASK', 'ROLE', 'CREATED', 'JOB'],
      ['churn-model', '2', 'logistic', 'guest', '2026-12-03T10:00:00.000Z', JOB_V2],
      ['churn-model', '1', 'logistic', 'guest', '2026-12-01T10:00:00.000Z', JOB_V1],
    ]);
    // Aligned columns: every row's job starts where the header's JOB does.
    const at = (lines[0] as string).indexOf('JOB');
    expect(lines.slice(1).map((line) => line.slice(at))).toEqual([JOB_V2, JOB_V1]);

    const one = await cli(['models', '--limit', '1'], { SEALGATE_URL: url, SEALGATE_TOKEN: steward });
    expect(one.code).toBe(0);
    expect(one.stdout.trimEnd().split('\n')).toHaveLength(2);
    expect(one.stdout).toContain(JOB_V2);
  });

  it("prints the latest version's card, or one version's, as JSON", async () => {
    const latest = await cli(['models', 'churn-model', '--url', url, '--token', steward]);
    expect(latest).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(latest.stdout)).toEqual(v2);
    const first = await cli(['models', 'churn-model', '1'], { SEALGATE_URL: url, SEALGATE_TOKEN: steward });
    expect(first.code).toBe(0);
    expect(JSON.parse(first.stdout)).toEqual(v1);
  });

  // In process through main(), as the child would run it: the same code path, without a Node start per case.
  it('exits 1 with the problem on stderr when the gateway refuses, or cannot be reached', async () => {
    const unknown = await inProcess(['models', 'no-such-model', '--url', url, '--token', steward]);
    expect(unknown).toEqual({ code: 1, stdout: [], stderr: ['sealgate: 404 NOT_FOUND no such model'] });
    const badName = await inProcess(['models', 'Churn_Model', '--url', url, '--token', steward]);
    expect(badName).toMatchObject({ code: 1, stdout: [] });
    expect(badName.stderr.join('\n')).toMatch(/^sealgate: 400 BAD_INPUT /);
    const collector = await inProcess(['models', '--url', url, '--token', await gw.tokenFor('collector')]);
    expect(collector).toEqual({
      code: 1,
      stdout: [],
      stderr: ['sealgate: 403 FORBIDDEN role collector may not use this route'],
    });
    const unknownToken = await inProcess(['models', '--url', url, '--token', 'sgt_not-a-token']);
    expect(unknownToken.stderr.join('\n')).toMatch(/^sealgate: 401 UNAUTHENTICATED /);

    const nowhere = `http://127.0.0.1:${await freePort()}`;
    expect(await inProcess(['models', '--url', nowhere, '--token', steward])).toEqual({
      code: 1,
      stdout: [],
      stderr: [`sealgate: could not read ${nowhere}/v1/models?limit=50: cannot connect (ECONNREFUSED)`],
    });
  });

  it('usage errors exit 2 before any request', async () => {
    for (const [args, message] of [
      [
        ['models', '--url', url],
        'models needs --token or SEALGATE_TOKEN (a data-steward, compliance-officer or admin token)',
      ],
      [['models', 'churn-model', 'one', '--token', 't'], 'a model version is a positive integer, not "one"'],
      [['models', 'churn-model', '0', '--token', 't'], 'a model version is a positive integer, not "0"'],
      [['models', 'churn-model', '1', 'extra', '--token', 't'], 'unexpected argument "extra"'],
      [['models', '--limit', '501', '--token', 't'], '--limit is a number of models, 1 to 500'],
      [['models', '--limit', 'all', '--token', 't'], '--limit is a number of models, 1 to 500'],
    ] as const) {
      const result = await inProcess([...args]);
      expect(result, args.join(' ')).toEqual({
        code: 2,
        stdout: [],
        stderr: [`sealgate: ${message}`, 'run "sealgate help" for usage'],
      });
    }
    // The child process agrees on the exit code.
    expect((await cli(['models', 'churn-model', 'one', '--token', 't'])).code).toBe(2);
  });

  it('renders an empty registry as the header alone, and no line ends in spaces', () => {
    expect(renderModelTable([])).toEqual(['NAME  VERSION  TASK  ROLE  CREATED  JOB']);
    const rows = renderModelTable([
      { name: 'a', version: 12, task: 'linear', role: 'host', createdAt: '2026-12-01T10:00:00.000Z', job: 'j' },
      {
        name: 'longer-name',
        version: 3,
        task: 'logistic',
        role: 'guest',
        createdAt: '2026-12-02T10:00:00.000Z',
        job: 'k',
      },
    ]);
    expect(rows).toEqual([
      'NAME         VERSION  TASK      ROLE   CREATED                   JOB',
      'a                 12  linear    host   2026-12-01T10:00:00.000Z  j',
      'longer-name        3  logistic  guest  2026-12-02T10:00:00.000Z  k',
    ]);
  });
});
