// Replay protection (docs/peer-protocol.md §Replay protection): each nonce once per window, stale
// and pre-start timestamps refused, memory bounded and refusing rather than evicting when full, and
// a clock that steps back never makes a forgotten message fresh again. Injected clock, no sleeps.
import { describe, expect, it } from 'vitest';
import { fixedClock } from '../../../core/clock.ts';
import { createNonceCache } from '../../../mpc/peers/nonce-cache.ts';
import { newNonce } from '../../../mpc/peers/peer-signature.ts';

const START = Date.parse('2026-03-01T12:00:00Z');

describe('nonce cache', () => {
  it('admits a nonce once, and the same nonce from another peer independently', () => {
    const clock = fixedClock(new Date(START));
    const cache = createNonceCache({ clock });
    const nonce = newNonce();
    expect(cache.admit('dealer-4s', nonce, START)).toBe('fresh');
    expect(cache.admit('dealer-4s', nonce, START)).toBe('replay');
    clock.advance(59_000);
    expect(cache.admit('dealer-4s', nonce, START)).toBe('replay');
    expect(cache.admit('insurer', nonce, START)).toBe('fresh');
  });

  it('refuses timestamps more than the window away, either way, and accepts the edges', () => {
    const clock = fixedClock(new Date(START));
    const cache = createNonceCache({ clock, windowMs: 60_000 });
    clock.advance(120_000);
    const now = START + 120_000;
    expect(cache.admit('p1', newNonce(), now - 60_001)).toBe('stale');
    expect(cache.admit('p1', newNonce(), now + 60_001)).toBe('stale');
    expect(cache.admit('p1', newNonce(), now - 60_000)).toBe('fresh');
    expect(cache.admit('p1', newNonce(), now + 60_000)).toBe('fresh');
  });

  it('refuses anything signed before the process started, even inside the window', () => {
    const clock = fixedClock(new Date(START));
    const cache = createNonceCache({ clock });
    expect(cache.startedAtMs).toBe(START);
    expect(cache.admit('p1', newNonce(), START - 1)).toBe('before-start');
    expect(cache.admit('p1', newNonce(), START)).toBe('fresh');
  });

  it('a replay after a restart is refused although the new cache never saw the nonce', () => {
    const clock = fixedClock(new Date(START));
    const before = createNonceCache({ clock });
    const nonce = newNonce();
    const signedAt = START + 10_000;
    clock.set(new Date(signedAt));
    expect(before.admit('p1', nonce, signedAt)).toBe('fresh');
    clock.advance(5_000);
    const afterRestart = createNonceCache({ clock });
    expect(afterRestart.admit('p1', nonce, signedAt)).toBe('before-start');
  });

  it("when a peer's share is full of unexpired nonces it refuses new ones instead of evicting", () => {
    const clock = fixedClock(new Date(START));
    const cache = createNonceCache({ clock, maxPerPeer: 3 });
    const nonces = [newNonce(), newNonce(), newNonce()];
    for (const n of nonces) expect(cache.admit('p1', n, START)).toBe('fresh');
    expect(cache.admit('p1', newNonce(), START)).toBe('full');
    // Nothing was forgotten: every stored nonce is still a replay.
    for (const n of nonces) expect(cache.admit('p1', n, START)).toBe('replay');
    // Other peers are not starved by one noisy peer.
    expect(cache.admit('p2', newNonce(), START)).toBe('fresh');
    // Once the stored messages are past the window, their room is reclaimed.
    clock.advance(60_001);
    expect(cache.admit('p1', newNonce(), START + 60_001)).toBe('fresh');
  });

  it('forgets expired nonces, so memory follows the traffic of one window', () => {
    const clock = fixedClock(new Date(START));
    const cache = createNonceCache({ clock });
    for (let i = 0; i < 500; i++) cache.admit(`peer-${i % 5}`, newNonce(), START);
    expect(cache.size()).toBe(500);
    clock.advance(61_000);
    expect(cache.admit('peer-0', newNonce(), START + 61_000)).toBe('fresh');
    expect(cache.size()).toBe(1);
  });

  it('a clock stepping back does not make a forgotten message fresh again', () => {
    const clock = fixedClock(new Date(START));
    const cache = createNonceCache({ clock });
    const nonce = newNonce();
    expect(cache.admit('p1', nonce, START + 1_000)).toBe('fresh');
    clock.advance(200_000);
    cache.admit('p1', newNonce(), START + 200_000); // sweeps the first nonce away
    clock.set(new Date(START + 30_000));
    expect(cache.admit('p1', nonce, START + 1_000)).toBe('stale');
  });

  it('rejects a window or capacity that cannot work', () => {
    const clock = fixedClock(new Date(START));
    expect(() => createNonceCache({ clock, windowMs: 10 })).toThrow(expect.objectContaining({ code: 'BAD_INPUT' }));
    expect(() => createNonceCache({ clock, maxPerPeer: 0 })).toThrow(expect.objectContaining({ code: 'BAD_INPUT' }));
  });
});
