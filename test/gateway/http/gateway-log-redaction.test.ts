// Logs never carry credentials, keys or consent payloads, request lines carry the request id and
// a well-formed traceparent, and raw URLs (which may hold identifiers) are not logged.
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../../core/errors.ts';
import { createLogger, REDACTED } from '../../../gateway/http/logger.ts';
import { bearer, captureLog, makeTestGateway } from '../../fixtures/gateway-fixture.ts';

describe('log redaction', () => {
  it('censors secrets and consent payloads at the top level and one level down', () => {
    const log = captureLog();
    const logger = createLogger({ logLevel: 'info', partyId: 'insurer-1' }, log.stream);
    logger.info(
      {
        token: 'sgt_top',
        passphrase: 'pass-top',
        subjectId: 'alice@example.com',
        grant: { subjectId: 'bob@example.com', subject: 'carol', body: { phone: '+8613800000000' } },
        evm: { privateKeyHex: '0xdeadbeef' },
        req: {
          headers: { authorization: 'Bearer sgt_header', cookie: 'session=abc' },
          body: { vin: 'LSVAU2180N2183294' },
        },
        keys: { subjectKey: 'c3ViamVjdA', ed25519Seed: 'seed' },
      },
      'event',
    );
    const text = log.text();
    for (const secret of [
      'sgt_top',
      'pass-top',
      'alice@example.com',
      'bob@example.com',
      'carol',
      '+8613800000000',
      '0xdeadbeef',
      'sgt_header',
      'session=abc',
      'LSVAU2180N2183294',
      'c3ViamVjdA',
      '"seed"',
    ]) {
      expect(text, secret).not.toContain(secret);
    }
    expect(text).toContain(REDACTED);
    expect(JSON.parse(log.lines[0] ?? '{}')).toMatchObject({ partyId: 'insurer-1', msg: 'event' });
  });

  it('censors sensitive keys in child-logger bindings and in an error and its detail', () => {
    const log = captureLog();
    const logger = createLogger({ logLevel: 'info', partyId: 'insurer-1' }, log.stream);
    logger.child({ token: 'sgt_child', job: 'job-1' }).info('bound');
    const error = Object.assign(
      new GatewayError('BAD_INPUT', 'no such subject', { subject: 'dave@example.com', index: 3 }),
      { token: 'sgt_err' },
    );
    logger.error({ err: error }, 'failed');
    const text = log.text();
    for (const secret of ['sgt_child', 'dave@example.com', 'sgt_err']) expect(text, secret).not.toContain(secret);
    const [bound, failed] = log.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(bound).toMatchObject({ token: REDACTED, job: 'job-1', msg: 'bound' });
    expect(failed?.err).toMatchObject({
      message: 'no such subject',
      token: REDACTED,
      detail: { subject: REDACTED, index: 3 },
    });
  });

  it('a request writes one access line, when it completes, with its route, status and time', async () => {
    await using gw = await makeTestGateway();
    await gw.app.inject({ method: 'GET', url: '/health', headers: { 'x-request-id': 'req-44' } });
    const lines = gw.log.lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.reqId === 'req-44');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      msg: 'request completed',
      req: { method: 'GET', route: '/health' },
      res: { statusCode: 200 },
    });
    expect(lines[0]?.responseTime).toEqual(expect.any(Number));
  });

  it('request logs carry the request id and traceparent, the route pattern, and no token or query', async () => {
    await using gw = await makeTestGateway();
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    await gw.app.inject({
      method: 'GET',
      url: '/v1/tokens?subject=alice@example.com',
      headers: { ...bearer(gw.adminToken), traceparent, 'x-request-id': 'req-42' },
    });
    const lines = gw.log.lines.map(
      (l) => JSON.parse(l) as { reqId?: string; req?: { route?: string; traceparent?: string } },
    );
    const incoming = lines.find((l) => l.req !== undefined && l.reqId === 'req-42');
    expect(incoming?.req).toMatchObject({ route: '/v1/tokens', traceparent });
    expect(gw.log.text()).not.toContain('alice@example.com');
    expect(gw.log.text()).not.toContain(gw.adminToken);
  });

  it('drops a malformed traceparent instead of logging attacker text', async () => {
    await using gw = await makeTestGateway();
    await gw.app.inject({
      method: 'GET',
      url: '/health',
      headers: { 'traceparent': 'evil"}\n{"level":60', 'x-request-id': 'req-43' },
    });
    const incoming = gw.log.lines
      .map((l) => JSON.parse(l) as { reqId?: string; req?: Record<string, unknown> })
      .find((l) => l.req !== undefined && l.reqId === 'req-43');
    expect(incoming?.req).toBeDefined();
    expect(incoming?.req?.traceparent).toBeUndefined();
  });

  it('the created bootstrap token and issued tokens never reach the log', async () => {
    await using gw = await makeTestGateway();
    const res = await gw.app.inject({
      method: 'POST',
      url: '/v1/tokens',
      headers: bearer(gw.adminToken),
      payload: { role: 'exchange' },
    });
    const token = (res.json() as { token: string }).token;
    expect(gw.log.text()).toContain('token issued');
    expect(gw.log.text()).not.toContain(token);
  });
});
