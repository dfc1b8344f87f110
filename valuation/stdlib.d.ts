// @stdlib/random-base-mt19937 0.2.3 ships types (docs/types/index.d.ts) that omit its `normalized` property: the
// generator's draws scaled onto [0, 1) with 53 random bits, which its README documents and lib/factory.js sets. This
// ambient declaration takes the place of the package's types and declares only what valuation/distributions.ts uses.
declare module '@stdlib/random-base-mt19937' {
  /** One MT19937 generator: each call returns a 32-bit unsigned integer. */
  interface Mt19937 {
    (): number;
    /** Draws on [0, 1) (genrand_res53 of the reference implementation). */
    readonly normalized: () => number;
  }
  const mt19937: {
    /** A new generator; `seed` is an integer in [1, 2^32 − 1] (0 is refused). */
    factory(options: { seed: number }): Mt19937;
  };
  export = mt19937;
}
