// W3C Trace Context `traceparent` (Recommendation, §3.2): the spec's example value parses, malformed
// and all-zero values are refused, later versions are read forward-compatibly, and a continued trace
// keeps its trace id while opening a new span.
import fc from 'fast-check';
import Fastify, { type FastifyBaseLogger } from 'fastify';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import {
  childSpan,
  continueTrace,
  formatTraceparent,
  parseTraceparent,
  startTrace,
} from '../../../core/trace-context.ts';
import { traceLoggerFactory, traceRequest } from '../../../gateway/http/trace.ts';
import { captureLog } from '../../fixtures/gateway-fixture.ts';

// Source: W3C Trace Context, §3.2.2.5 / Examples of HTTP traceparent headers.
const SPEC_EXAMPLE = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

describe('traceparent', () => {
  it("parses the specification's example", () => {
    expect(parseTraceparent(SPEC_EXAMPLE)).toEqual({
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      spanId: '00f067aa0ba902b7',
      flags: '01',
    });
  });

  it.each([
    ['all-zero trace id', '00-00000000000000000000000000000000-00f067aa0ba902b7-01'],
    ['all-zero span id', '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01'],
    ['version ff', 'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'],
    ['upper-case hex', '00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01'],
    ['version 00 with extra fields', `${SPEC_EXAMPLE}-extra`],
    ['short trace id', '00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01'],
    ['wrong separator', '00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'],
    ['non-hex flags', '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g'],
    ['two headers joined', `${SPEC_EXAMPLE}, ${SPEC_EXAMPLE}`],
    ['empty', ''],
  ])('refuses %s', (_name, value) => {
    expect(parseTraceparent(value)).toBeNull();
  });

  it('refuses non-strings (a repeated header arrives as an array)', () => {
    expect(parseTraceparent([SPEC_EXAMPLE, SPEC_EXAMPLE])).toBeNull();
    expect(parseTraceparent(undefined)).toBeNull();
  });

  it('reads a later version forward-compatibly (§3.2.4), but not one glued to more characters', () => {
    expect(
      parseTraceparent('cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future-holds'),
    ).toMatchObject({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736' });
    expect(parseTraceparent('cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x')).toBeNull();
  });

  it('format(parse(x)) = x for any valid version-00 value', () => {
    const hex = (n: number) => fc.stringMatching(new RegExp(`^[0-9a-f]{${n}}$`)).filter((s) => !/^0+$/.test(s));
    fc.assert(
      fc.property(hex(32), hex(16), fc.stringMatching(/^[0-9a-f]{2}$/), (traceId, spanId, flags) => {
        const value = `00-${traceId}-${spanId}-${flags}`;
        const parsed = parseTraceparent(value);
        return parsed !== null && formatTraceparent(parsed) === value;
      }),
    );
  });

  it("continuing a trace keeps its id and flags and opens a new span whose parent is the caller's", () => {
    const continued = continueTrace(SPEC_EXAMPLE);
    expect(continued).toMatchObject({
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      parentSpanId: '00f067aa0ba902b7',
      flags: '01',
    });
    expect(continued.spanId).not.toBe('00f067aa0ba902b7');
    const child = childSpan(continued);
    expect(child).toMatchObject({ traceId: continued.traceId, parentSpanId: continued.spanId });
  });

  it('a malformed or missing header starts a new, valid trace', () => {
    for (const header of [undefined, 'garbage', '00-00000000000000000000000000000000-00f067aa0ba902b7-01']) {
      const trace = continueTrace(header);
      expect(trace.parentSpanId).toBeNull();
      expect(parseTraceparent(formatTraceparent(trace))).not.toBeNull();
    }
    expect(startTrace().traceId).not.toBe(startTrace().traceId);
  });
});

describe('the traceRequest hook', () => {
  // The gateway binds the trace in the request's one child logger (traceLoggerFactory); without the factory the hook
  // binds it with a second child. Both must give every line the trace.
  it.each([
    ['with the trace logger factory', true],
    ['without it', false],
  ])(
    'binds the incoming trace id to every log line of the request, "request completed" included (%s)',
    async (_name, hasFactory) => {
      const log = captureLog();
      const loggerInstance: FastifyBaseLogger = pino(log.stream);
      const app = Fastify({ loggerInstance });
      if (hasFactory) app.setChildLoggerFactory(traceLoggerFactory);
      app.decorateRequest('trace', null);
      app.addHook('onRequest', traceRequest);
      app.get('/work', async (request) => {
        request.log.info('doing the work');
        return { traceId: request.trace?.traceId };
      });
      try {
        const res = await app.inject({ method: 'GET', url: '/work', headers: { traceparent: SPEC_EXAMPLE } });
        expect(res.json()).toEqual({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736' });
        const lines = log.lines.map((l) => JSON.parse(l) as { msg: string; traceId?: string; spanId?: string });
        for (const msg of ['doing the work', 'request completed']) {
          const line = lines.find((l) => l.msg === msg);
          expect(line?.traceId, msg).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
          expect(line?.spanId).toMatch(/^[0-9a-f]{16}$/);
          expect(line?.spanId).not.toBe('00f067aa0ba902b7');
        }
        const fresh = await app.inject({ method: 'GET', url: '/work', headers: { traceparent: 'not-a-trace' } });
        expect(fresh.json().traceId).toMatch(/^[0-9a-f]{32}$/);
        expect(fresh.json().traceId).not.toBe('4bf92f3577b34da6a3ce929d0e0e4736');
      } finally {
        await app.close();
      }
    },
  );
});
