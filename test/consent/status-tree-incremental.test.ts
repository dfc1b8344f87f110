// The incremental status tree the anchoring service keeps gives exactly buildStatusTree's root (the spec's), after
// any mix of inserts and updates, from empty or from a bulk start.
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { buildStatusTree, type StatusLeafValue } from '../../consent/status-tree.ts';
import { incrementalStatusTree } from '../../consent/status-tree-incremental.ts';
import { prng } from '../fixtures/json-mutations.ts';

const TYPES = ['grant', 'withdraw', 'renew', 'revoke'] as const;
const valueOf = (recordId: string, seq: number, type: (typeof TYPES)[number]): StatusLeafValue => ({
  kind: 'consent',
  lastEventHash: Buffer.alloc(32, seq % 251).toString('hex'),
  lastEventSeq: seq,
  lastEventType: type,
  recordId,
});

describe('incremental status tree', () => {
  it('matches a full rebuild after every batch of inserts and updates', () => {
    const random = prng(17);
    const ids = Array.from({ length: 400 }, () => randomUUID());
    const current = new Map<string, StatusLeafValue>();
    const tree = incrementalStatusTree();
    expect(tree.root()).toEqual(Buffer.alloc(32));
    let seq = 0;
    for (let batch = 0; batch < 30; batch++) {
      for (let i = 0; i < 1 + Math.floor(random() * 40); i++) {
        const id = ids[Math.floor(random() * (batch < 5 ? 20 : ids.length))]!;
        const value = valueOf(id, ++seq, TYPES[Math.floor(random() * TYPES.length)]!);
        current.set(id, value);
        tree.set(value);
      }
      expect(tree.root().toString('hex'), `batch ${batch}`).toBe(
        buildStatusTree([...current.values()]).root.toString('hex'),
      );
    }
    // A bulk start from the same state gives the same root, and keeps matching after more updates.
    const restarted = incrementalStatusTree([...current.values()]);
    expect(restarted.root()).toEqual(tree.root());
    const later = valueOf(ids[0]!, seq + 1, 'withdraw');
    current.set(ids[0]!, later);
    restarted.set(later);
    expect(restarted.root()).toEqual(buildStatusTree([...current.values()]).root);
  });
});
