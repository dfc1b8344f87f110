// The one rule for a party id (a gateway's name among partners): 2-31 characters of a-z, 0-9 and "-", not starting
// with "-". Thirty-one characters is what the ledger's gateway id holds (a Solidity bytes32 short string), so a
// party id is always a valid gateway id: a gateway can join the ledger under the name its partners know it by.
import { z } from 'zod';

export const PARTY_ID_PATTERN = /^[a-z0-9][a-z0-9-]{1,30}$/;

export const PartyId = z
  .string()
  .regex(PARTY_ID_PATTERN, { error: 'expected 2-31 chars of a-z, 0-9 and "-", not starting with "-"' });
export type PartyId = z.infer<typeof PartyId>;
