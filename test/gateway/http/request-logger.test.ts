// The request logger made on first use: the same lines as a pino child with the same bindings, and no child at all
// for a request that writes nothing at an enabled level.
import pino from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { lazyChildLogger } from '../../../gateway/http/request-logger.ts';
import { captureLog } from '../../fixtures/gateway-fixture.ts';

function parentAt(level: string) {
  const log = captureLog();
  const parent = pino({ level, base: null, timestamp: false }, log.stream);
  const child = vi.spyOn(parent, 'child');
  const lines = () => log.lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  return { parent, child, lines, log };
}

// A Writable passes on writes made while one is in progress a tick later: wait for the captured lines to arrive.
const settled = () => new Promise((resolve) => setImmediate(resolve));

describe('the request logger', () => {
  it('makes no child for lines below the level, and one child for every line above it', async () => {
    const { parent, child, lines } = parentAt('warn');
    const logger = lazyChildLogger(parent, { reqId: 'req-1', traceId: 'a'.repeat(32) });
    logger.info('not written');
    logger.debug({ detail: 1 }, 'not written either');
    logger.trace('nor this');
    expect(child).not.toHaveBeenCalled();
    expect(logger.level).toBe('warn');

    logger.warn({ detail: 2 }, 'slow answer');
    logger.error('failed');
    logger.info('still below the level');
    await settled();
    expect(child).toHaveBeenCalledTimes(1);
    expect(lines()).toEqual([
      { level: 40, reqId: 'req-1', traceId: 'a'.repeat(32), detail: 2, msg: 'slow answer' },
      { level: 50, reqId: 'req-1', traceId: 'a'.repeat(32), msg: 'failed' },
    ]);
  });

  it('writes exactly what a pino child with the same bindings writes', async () => {
    const lazy = parentAt('info');
    const eager = parentAt('info');
    const bindings = { reqId: 'req-2', spanId: 'b'.repeat(16) };
    const write = (logger: pino.BaseLogger) => {
      logger.info({ res: { statusCode: 200 }, responseTime: 1.5 }, 'request completed');
      logger.warn('formatted %s and %d', 'text', 42);
      logger.fatal(new Error('boom'), 'crashed');
    };
    write(lazyChildLogger(lazy.parent, bindings) as unknown as pino.BaseLogger);
    write(eager.parent.child(bindings));
    await settled();
    const withoutStack = (line: Record<string, unknown>) => ({
      ...line,
      err: typeof line.err === 'object' ? { ...(line.err as object), stack: '' } : line.err,
    });
    expect(lazy.lines().map(withoutStack)).toEqual(eager.lines().map(withoutStack));
    expect(lazy.lines()).toHaveLength(3);
  });

  it('makes its child when its level is set or a child of it is asked for, and silent writes nothing', async () => {
    const { parent, child, lines } = parentAt('warn');
    const logger = lazyChildLogger(parent, { reqId: 'req-3' });
    logger.silent('nothing');
    expect(child).not.toHaveBeenCalled();
    logger.level = 'debug';
    expect(child).toHaveBeenCalledTimes(1);
    expect(parent.level).toBe('warn');
    logger.debug('now written');
    logger.child({ component: 'peer-client' }).info('from a grandchild');
    await settled();
    expect(lines()).toEqual([
      { level: 20, reqId: 'req-3', msg: 'now written' },
      { level: 30, reqId: 'req-3', component: 'peer-client', msg: 'from a grandchild' },
    ]);
  });

  it('a route log level in the options makes the child at once', () => {
    const { parent, child } = parentAt('warn');
    const logger = lazyChildLogger(parent, { reqId: 'req-4' }, { level: 'debug' });
    expect(child).toHaveBeenCalledTimes(1);
    expect(logger.level).toBe('debug');
  });
});
