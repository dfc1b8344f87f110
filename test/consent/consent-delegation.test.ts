// Controller -> partner delegations live in the same signed log: in force between notBefore and expiresAt until
// revoked, and looked up per partner and purpose.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DAY, openHarness, type LogHarness } from '../fixtures/consent-log-fixture.ts';

let h: LogHarness;
beforeEach(async () => {
  h = await openHarness();
});
afterEach(async () => {
  await h.close();
});

const ctx = { actor: 'tok_steward' };
const input = (overrides: Record<string, unknown> = {}) => ({
  partner: 'insurer',
  purposes: ['joint-modeling', 'valuation'],
  fieldAllowlist: ['age', 'region'],
  expiresAt: '2025-06-01T00:00:00Z',
  ...overrides,
});

describe('delegations', () => {
  it('are written as signed log events and read back per partner and purpose', async () => {
    const { delegation, events } = await h.log.delegate(input(), ctx);
    expect(delegation).toMatchObject({
      controller: 'dealer',
      partner: 'insurer',
      notBefore: h.clock.now().toISOString(),
      expiresAt: '2025-06-01T00:00:00.000Z',
    });
    expect(events).toHaveLength(1);
    const [event] = (await h.log.getDelegation(delegation.delegationId)).events;
    expect(event).toMatchObject({
      kind: 'delegation',
      type: 'delegate',
      subjectOrPartner: 'insurer',
      recordId: delegation.delegationId,
    });
    expect(h.log.view.delegationsFor('insurer', 'valuation', h.clock.now())).toEqual([
      {
        delegationId: delegation.delegationId,
        controller: 'dealer',
        partner: 'insurer',
        purposes: ['joint-modeling', 'valuation'],
        fieldAllowlist: ['age', 'region'],
        expiresAt: '2025-06-01T00:00:00.000Z',
      },
    ]);
    expect(h.log.view.delegationsFor('insurer', 'marketing', h.clock.now())).toEqual([]);
    expect(h.log.view.delegationsFor('charging-co', 'valuation', h.clock.now())).toEqual([]);
    expect(await h.log.verify()).toMatchObject({ ok: true, events: 1 });
  });

  it('lapse at expiresAt and start at notBefore, by the injected clock', async () => {
    await h.log.delegate(input({ notBefore: new Date(h.clock.now().getTime() + DAY).toISOString() }), ctx);
    expect(h.log.view.delegationsFor('insurer', 'valuation', h.clock.now())).toHaveLength(0);
    h.clock.advance(DAY);
    expect(h.log.view.delegationsFor('insurer', 'valuation', h.clock.now())).toHaveLength(1);
    h.clock.set('2025-06-01T00:00:00.000Z');
    expect(h.log.view.delegationsFor('insurer', 'valuation', h.clock.now())).toHaveLength(0);
  });

  it('end on revocation; revoking twice or an unknown id fails', async () => {
    const { delegation } = await h.log.delegate(input(), ctx);
    const revoked = await h.log.revokeDelegation(delegation.delegationId, ctx, 'contract ended');
    expect(revoked.isRevoked).toBe(true);
    expect(h.log.view.delegationsFor('insurer', 'valuation', h.clock.now())).toEqual([]);
    expect(await h.log.getDelegation(delegation.delegationId)).toMatchObject({ isRevoked: true, isActive: false });
    await expect(h.log.revokeDelegation(delegation.delegationId, ctx)).rejects.toMatchObject({ code: 'CONFLICT' });
    await expect(h.log.revokeDelegation('0b7f3f0e-8c1a-4f7e-9a51-2f8d2d7f6a10', ctx)).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
  });

  it('reject a delegation to the controller itself, a missing expiry and unknown fields', async () => {
    await expect(h.log.delegate(input({ partner: 'dealer' }), ctx)).rejects.toMatchObject({ name: 'ZodError' });
    await expect(h.log.delegate(input({ expiresAt: undefined }), ctx)).rejects.toMatchObject({ name: 'ZodError' });
    await expect(h.log.delegate(input({ controller: 'someone-else' }), ctx)).rejects.toMatchObject({
      name: 'ZodError',
    });
    await expect(
      h.log.delegate(input({ expiresAt: '2025-01-01T00:00:00Z', notBefore: '2025-02-01T00:00:00Z' }), ctx),
    ).rejects.toMatchObject({ name: 'ZodError' });
  });
});
