// A 200,000-row PSI run keeps its rows in contiguous buffers and typed arrays: its peak RSS grows by a few 32-byte
// points per row, far below what one JS object per row would cost, and no per-row JS object outlives the run.
// Nothing here is timed: the machine may be shared.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, describe, expect, it } from 'vitest';
import { runTwoPartyPsiInProcess } from '../../../mpc/psi/psi-in-process.ts';
import { createPsiParty } from '../../../mpc/psi/psi-party.ts';
import { createX25519Pool } from '../../../mpc/psi/x25519-pool.ts';

setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

const pool = createX25519Pool();
afterAll(() => pool.close());

/** Pseudonym-shaped ids made on demand: the input is a stream, never an array. */
function* pseudonyms(from: number, count: number): Generator<string> {
  for (let i = from; i < from + count; i++) yield 'sp_' + i.toString(16).padStart(43, '0');
}

async function run(jobId: string, initiatorRows: number, responderRows: number) {
  const dealer = createPsiParty({
    jobId,
    role: 'initiator',
    mode: 'intersection',
    self: 'dealer',
    peers: ['insurer'],
    outputTo: 'all',
    pool,
  });
  const insurer = createPsiParty({
    jobId,
    role: 'responder',
    mode: 'intersection',
    self: 'insurer',
    peers: ['dealer'],
    outputTo: 'all',
    pool,
  });
  // Unframed: the wire copies are the transport's memory, not the core's.
  const result = await runTwoPartyPsiInProcess(
    { party: dealer, ids: pseudonyms(0, initiatorRows) },
    { party: insurer, ids: pseudonyms(initiatorRows - responderRows / 2, responderRows) },
    { isFramed: false },
  );
  return { dealer, insurer, result };
}

// Measured at 140 to 210 bytes per row (about five live 32-byte points per row at the peak, plus allocator slack).
// A row held as JS objects costs far more: a 46-character id string alone is about 64 bytes of heap, a Buffer per
// point about 100 bytes more, and a Set or Map entry per point another 30 to 80; each party holds several sets.
const BYTES_PER_ROW_LIMIT = 256;

describe('PSI memory at 200,000 rows', () => {
  it('grows RSS by under 256 bytes per row and retains no per-row JS object', async () => {
    // Warm the workers and the code paths first, so the measurement is the run's own growth, not start-up.
    await run('job-memory-warm-up', 20_000, 2_000);
    collectGarbage();
    const heapBefore = process.memoryUsage().heapUsed;
    // The high-water mark so far covers the warmed-up heaps and workers; the run is measured by how far it rises.
    const peakBefore = process.resourceUsage().maxRSS * 1024;

    const rows = 200_000;
    const { dealer, insurer, result } = await run('job-memory', rows, 20_000);
    const peakRssGrowth = process.resourceUsage().maxRSS * 1024 - peakBefore;
    collectGarbage();
    const retainedHeap = process.memoryUsage().heapUsed - heapBefore;

    expect(result.initiator.count).toBe(10_000);
    expect(result.responder.count).toBe(10_000);
    expect(dealer.isDone && insurer.isDone).toBe(true);
    const totalRows = rows + 20_000;
    expect(peakRssGrowth / totalRows).toBeLessThan(BYTES_PER_ROW_LIMIT);
    // With both parties and their results still alive, the JS heap holds less than 8 bytes per row.
    expect(retainedHeap / totalRows).toBeLessThan(8);
  }, 240_000);
});
