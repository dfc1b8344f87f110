// `sealgate jobs watch` says why it gave up: a gateway that cannot be reached is named with the connection error,
// and one that answers something else with its status, so an operator knows whether to fix the URL or the gateway.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { watchJob } from '../../gateway/cli/job-watch.ts';
import { freePort } from '../fixtures/free-port.ts';

const JOB = '3f2c3a52-1b7e-4c55-9d7e-2f6f2b1f0c11';

function capture() {
  const err: string[] = [];
  return { err, io: { isTty: false, stdout: () => undefined, stderr: (line: string) => err.push(line) } };
}

describe('jobs watch', () => {
  it('gives up on an unreachable gateway naming the connection error', async () => {
    const { err, io } = capture();
    // A port nothing listens on (fetch refuses some well-known ports outright, so not port 9).
    const url = `http://127.0.0.1:${await freePort()}`;
    const code = await watchJob(JOB, { url, token: 't', intervalMs: 1, maxErrors: 2, io });
    expect(code).toBe(1);
    expect(err.join('\n')).toContain(
      `gave up after 2 failed polls of ${url}/v1/jobs/${JOB}: cannot connect (ECONNREFUSED)`,
    );
  });

  it('gives up on a gateway that keeps failing, naming its status', async () => {
    const server = createServer((_req, res) => {
      res.writeHead(503, { 'content-type': 'application/problem+json' });
      res.end(JSON.stringify({ code: 'STORE_UNAVAILABLE' }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const { err, io } = capture();
      const code = await watchJob(JOB, {
        url: `http://127.0.0.1:${port}`,
        token: 't',
        intervalMs: 1,
        maxErrors: 2,
        io,
      });
      expect(code).toBe(1);
      expect(err.join('\n')).toContain(': 503 STORE_UNAVAILABLE');
    } finally {
      server.close();
    }
  });
});
