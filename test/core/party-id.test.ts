// One rule for party ids: a gateway's party id, a partner's id in the registry and in jobs, and the ledger's gateway
// id. Every party id is a valid ledger gateway id, so no valid configuration can stop start-up on the ledger.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PARTY_ID_PATTERN, PartyId } from '../../core/party-id.ts';
import { GatewayId } from '../../contracts/ledger-values.ts';
import { loadConfig } from '../../gateway/config.ts';
import { PeerId } from '../../mpc/peers/peer-signature.ts';

describe('party ids', () => {
  it('are 2 to 31 characters, the same in the configuration and for partners', () => {
    for (const id of ['ab', 'dealer-4s', 'a'.repeat(31)]) {
      expect(PartyId.safeParse(id).success).toBe(true);
      expect(PeerId.safeParse(id).success).toBe(true);
      expect(loadConfig({ SEALGATE_PARTY_ID: id }).partyId).toBe(id);
    }
    for (const id of ['a', 'a'.repeat(32), '-dealer', 'Dealer', 'dealer_4s', 'dealer 4s']) {
      expect(PartyId.safeParse(id).success).toBe(false);
      expect(PeerId.safeParse(id).success).toBe(false);
      expect(() => loadConfig({ SEALGATE_PARTY_ID: id })).toThrow();
    }
  });

  it('are always valid ledger gateway ids', () => {
    const char = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789-'.split(''));
    const first = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789'.split(''));
    fc.assert(
      fc.property(first, fc.array(char, { minLength: 1, maxLength: 30 }), (head, tail) => {
        const id = head + tail.join('');
        expect(PARTY_ID_PATTERN.test(id)).toBe(true);
        expect(GatewayId.safeParse(id).success).toBe(true);
      }),
    );
  });
});
