// Injected time source: every expiry and timestamp decision reads the clock through this, so tests
// can move time without sleeping.
export type Clock = { now(): Date };

export const systemClock: Clock = { now: () => new Date() };

/** A clock tests can set and advance. */
export function fixedClock(start: Date | string): Clock & { set(at: Date | string): void; advance(ms: number): void } {
  let at = new Date(start).getTime();
  return {
    now: () => new Date(at),
    set: (t) => {
      at = new Date(t).getTime();
    },
    advance: (ms) => {
      at += ms;
    },
  };
}
