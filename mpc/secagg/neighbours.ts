// The communication graph of secure aggregation. SecAgg (Bonawitz et al., CCS 2017) masks every pair of parties
// and gives each party's shares to all: the complete graph, O(n²) work. SecAgg+ (Bell et al., CCS 2020, §3) masks
// only along the edges of a sparse random graph and gives each party's shares to its neighbours: with degree k,
// O(n·k) work. Here the graph is the Harary graph H(k, n) (each vertex joined to the k/2 nearest on either side of a
// cycle; k-connected, so it stays connected while fewer than k vertices drop) over a permutation of the parties.
//
// The permutation is drawn from a public seed, SHA-256 over the session and the sorted list of parties that
// advertised, so every party and the coordinator compute the same graph from the roster alone, and a new session
// draws a new graph. A coordinator can still steer it a little by choosing whom to leave out of the roster; that
// costs it parties and is noted in docs/secagg.md.
//
// Each party's holders are its neighbours and itself (k + 1 of them): they receive its shares. Pairwise masks run
// only between neighbours.
import { createHash } from 'node:crypto';

export type NeighbourGraph = {
  /** The parties the graph is over, sorted. */
  readonly parties: readonly string[];
  /** The parties `party` shares a pairwise mask with, sorted. */
  neighboursOf(party: string): readonly string[];
  /** Who holds shares of `party`'s secrets: its neighbours and itself, sorted. */
  holdersOf(party: string): readonly string[];
  /** Whether the graph restricted to `survivors` is connected (the coordinator would learn partial sums otherwise). */
  isConnectedWithin(survivors: readonly string[]): boolean;
};

/** Deterministic uniform integers in [0, bound) from SHA-256 in counter mode, with rejection (no modulo bias). */
function seededIntegers(seed: Buffer): (bound: number) => number {
  let counter = 0;
  let block = Buffer.alloc(0);
  let at = 0;
  const next32 = () => {
    if (at + 4 > block.length) {
      const c = Buffer.alloc(4);
      c.writeUInt32BE(counter++);
      block = createHash('sha256').update(seed).update(c).digest();
      at = 0;
    }
    const value = block.readUInt32BE(at);
    at += 4;
    return value;
  };
  return (bound) => {
    const limit = 2 ** 32 - (2 ** 32 % bound);
    for (;;) {
      const value = next32();
      if (value < limit) return value % bound;
    }
  };
}

/** The public seed of the graph over `advertised` in `session`. */
export function graphSeed(session: string, advertised: readonly string[]): Buffer {
  const sorted = [...advertised].sort();
  return createHash('sha256')
    .update(`sealgate/secagg/v1/graph\u0000${session}\u0000${sorted.join('\u0000')}`)
    .digest();
}

/**
 * The graph over `advertised` (the parties in the roster): `neighbours: null` is the complete graph (SecAgg);
 * an even k is H(k, n) over the seeded permutation (SecAgg+), or the complete graph once k ≥ n − 1 (when dropouts
 * before the roster left fewer parties than the degree asks for).
 */
export function neighbourGraph(options: {
  session: string;
  advertised: readonly string[];
  neighbours: number | null;
}): NeighbourGraph {
  const parties = [...new Set(options.advertised)].sort();
  const n = parties.length;
  const k = options.neighbours;
  const adjacency = new Map<string, Set<string>>(parties.map((p) => [p, new Set<string>()]));
  if (k === null || k >= n - 1) {
    for (const p of parties) for (const q of parties) if (p !== q) adjacency.get(p)?.add(q);
  } else {
    if (k < 2 || k % 2 !== 0) throw new RangeError(`the Harary graph needs an even degree ≥ 2, not ${k}`);
    const order = [...parties];
    const draw = seededIntegers(graphSeed(options.session, parties));
    // Fisher–Yates with unbiased draws: a uniform permutation every party computes alike.
    for (let i = n - 1; i > 0; i--) {
      const j = draw(i + 1);
      [order[i], order[j]] = [order[j] as string, order[i] as string];
    }
    for (let i = 0; i < n; i++)
      for (let d = 1; d <= k / 2; d++) {
        const [p, q] = [order[i] as string, order[(i + d) % n] as string];
        adjacency.get(p)?.add(q);
        adjacency.get(q)?.add(p);
      }
  }
  const neighbours = new Map([...adjacency].map(([p, set]) => [p, [...set].sort()]));
  const holders = new Map([...adjacency].map(([p, set]) => [p, [...set, p].sort()]));
  const known = (party: string) => {
    const list = neighbours.get(party);
    if (list === undefined) throw new RangeError(`${party} is not in the graph`);
    return list;
  };
  return {
    parties,
    neighboursOf: known,
    holdersOf: (party) => {
      known(party);
      return holders.get(party) as string[];
    },
    isConnectedWithin(survivors) {
      const alive = new Set(survivors);
      const [start] = alive;
      if (start === undefined) return true;
      const seen = new Set([start]);
      const stack = [start];
      for (let p = stack.pop(); p !== undefined; p = stack.pop())
        for (const q of known(p))
          if (alive.has(q) && !seen.has(q)) {
            seen.add(q);
            stack.push(q);
          }
      return seen.size === alive.size;
    },
  };
}
