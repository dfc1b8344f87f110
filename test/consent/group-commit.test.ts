// The group committer: batches concurrent submits, runs one flush at a time, resolves only after the flush,
// and rejects a whole batch when its flush fails.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createGroupCommitter } from '../../consent/group-commit.ts';

/** A flush the test completes by hand, recording each batch it was given. */
function manualFlush<T>() {
  const batches: T[][] = [];
  const gates: { resolve: () => void; reject: (e: unknown) => void }[] = [];
  let running = 0;
  let maxRunning = 0;
  const flush = async (items: T[]) => {
    batches.push([...items]);
    running++;
    maxRunning = Math.max(maxRunning, running);
    try {
      await new Promise<void>((resolve, reject) => gates.push({ resolve, reject }));
    } finally {
      running--;
    }
    return items.map((item) => `done:${String(item)}`);
  };
  return {
    flush,
    batches,
    gates,
    get maxRunning() {
      return maxRunning;
    },
  };
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('group committer', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('batches synchronous submits into one flush and resolves each with its own result', async () => {
    const m = manualFlush<number>();
    const c = createGroupCommitter({ flush: m.flush, maxBatch: 10 });
    const results = [1, 2, 3].map((n) => c.submit(n));
    await tick();
    expect(m.batches).toEqual([[1, 2, 3]]);
    m.gates[0]!.resolve();
    expect(await Promise.all(results)).toEqual(['done:1', 'done:2', 'done:3']);
  });

  it('does not resolve before the flush resolves (the COMMIT)', async () => {
    const m = manualFlush<number>();
    const c = createGroupCommitter({ flush: m.flush, maxBatch: 10 });
    let isSettled = false;
    void c.submit(1).then(() => {
      isSettled = true;
    });
    await tick();
    await tick();
    expect(isSettled).toBe(false);
    m.gates[0]!.resolve();
    await tick();
    expect(isSettled).toBe(true);
  });

  it('queues submits made during a flush into the next flush, in order, never two flushes at once', async () => {
    const m = manualFlush<string>();
    const c = createGroupCommitter({ flush: m.flush, maxBatch: 100 });
    const first = c.submit('a');
    await tick();
    const later = ['b', 'c', 'd'].map((x) => c.submit(x));
    await tick();
    expect(m.batches).toEqual([['a']]);
    m.gates[0]!.resolve();
    await first;
    await tick();
    expect(m.batches).toEqual([['a'], ['b', 'c', 'd']]);
    m.gates[1]!.resolve();
    expect(await Promise.all(later)).toEqual(['done:b', 'done:c', 'done:d']);
    expect(m.maxRunning).toBe(1);
  });

  it('splits a burst larger than maxBatch into consecutive flushes', async () => {
    const seen: number[][] = [];
    const c = createGroupCommitter({
      flush: async (items: number[]) => {
        seen.push(items);
        return items;
      },
      maxBatch: 3,
    });
    const out = await Promise.all(Array.from({ length: 8 }, (_, i) => c.submit(i)));
    expect(out).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(seen).toEqual([
      [0, 1, 2],
      [3, 4, 5],
      [6, 7],
    ]);
  });

  it('rejects every item of a failed batch with the flush error, and keeps serving later batches', async () => {
    const m = manualFlush<number>();
    const c = createGroupCommitter({ flush: m.flush, maxBatch: 10 });
    const failing = [c.submit(1), c.submit(2)];
    await tick();
    const next = c.submit(3);
    const boom = new Error('disk full');
    m.gates[0]!.reject(boom);
    const settled = await Promise.allSettled(failing);
    expect(settled).toEqual([
      { status: 'rejected', reason: boom },
      { status: 'rejected', reason: boom },
    ]);
    await tick();
    m.gates[1]!.resolve();
    expect(await next).toBe('done:3');
  });

  it('rejects a batch when flush returns the wrong number of results', async () => {
    const c = createGroupCommitter({ flush: async () => [1], maxBatch: 10 });
    const settled = await Promise.allSettled([c.submit(1), c.submit(2)]);
    expect(settled.map((s) => s.status)).toEqual(['rejected', 'rejected']);
    expect((settled[0] as PromiseRejectedResult).reason).toMatchObject({ code: 'INTERNAL' });
  });

  it('waits up to maxDelayMs for company, or flushes at once when maxBatch is reached', async () => {
    vi.useFakeTimers();
    const seen: number[][] = [];
    const c = createGroupCommitter({
      flush: async (items: number[]) => {
        seen.push(items);
        return items;
      },
      maxBatch: 3,
      maxDelayMs: 50,
    });
    void c.submit(1);
    await vi.advanceTimersByTimeAsync(20);
    expect(seen).toEqual([]);
    void c.submit(2);
    await vi.advanceTimersByTimeAsync(30);
    expect(seen).toEqual([[1, 2]]);
    void c.submit(3);
    void c.submit(4);
    void c.submit(5);
    await vi.advanceTimersByTimeAsync(0);
    expect(seen).toEqual([
      [1, 2],
      [3, 4, 5],
    ]);
  });

  it('drain waits for in-flight work; close drains and then refuses new items', async () => {
    const m = manualFlush<number>();
    const c = createGroupCommitter({ flush: m.flush, maxBatch: 10 });
    const p = c.submit(1);
    let isDrained = false;
    const drained = c.drain().then(() => {
      isDrained = true;
    });
    await tick();
    expect(isDrained).toBe(false);
    m.gates[0]!.resolve();
    await drained;
    await expect(p).resolves.toBe('done:1');
    await c.close();
    await expect(c.submit(2)).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    expect(c.pending).toBe(0);
  });

  it('validates its options', () => {
    expect(() => createGroupCommitter({ flush: async (x: number[]) => x, maxBatch: 0 })).toThrow(
      expect.objectContaining({ code: 'BAD_INPUT' }),
    );
    expect(() => createGroupCommitter({ flush: async (x: number[]) => x, maxBatch: 1, maxDelayMs: -1 })).toThrow(
      expect.objectContaining({ code: 'BAD_INPUT' }),
    );
  });
});
