// Framed messages (mpc/jobs/framed-messages.ts): a message cut into frames comes back whole, in any order; a frame
// sent again is a duplicate; anything malformed, foreign, unexpected, oversized or altered is refused with
// JOB_BAD_MESSAGE, and the mailbox then fails every wait.
import { describe, expect, it } from 'vitest';
import { createMailbox, sendMessage } from '../../../mpc/jobs/framed-messages.ts';
import type { StepContext } from '../../../mpc/jobs/protocol.ts';
import { buildFrame, parseFrame } from '../joint/frames.ts';

const JOB = '11111111-2222-4333-8444-555555555555';
const spec = { id: JOB } as StepContext['spec'];

async function framesOf(blobs: Uint8Array[], frameBytes = 4096): Promise<Buffer[]> {
  const frames: Buffer[] = [];
  const context = {
    spec,
    step: 'train',
    send: async (_peer: string, frame: Uint8Array) => {
      frames.push(Buffer.from(frame));
    },
  } as unknown as StepContext;
  await sendMessage(context, 'host', { kind: 'vector', seq: 3, meta: { n: 1 }, blobs }, { auditStep: 'x', frameBytes });
  return frames;
}

function mailbox(maxMessageBytes = 1_000_000, maxBufferedBytes?: number) {
  const controller = new AbortController();
  const box = createMailbox(
    { spec, step: 'train', signal: controller.signal },
    {
      accepts: (kind, sender) => kind === 'vector' && sender === 'guest',
      maxMessageBytes,
      maxSeq: 10,
      ...(maxBufferedBytes === undefined ? {} : { maxBufferedBytes }),
    },
  );
  return { box, controller };
}

const refused = expect.objectContaining({ code: 'JOB_BAD_MESSAGE' });
const blobs = [Buffer.alloc(5000, 1), Buffer.alloc(3, 2), Buffer.alloc(7000, 3)];

describe('framed messages', () => {
  it('reassembles a message cut into frames, in any order, and takes a repeated frame as a duplicate', async () => {
    const frames = await framesOf(blobs);
    expect(frames.length).toBeGreaterThan(3);
    const { box } = mailbox();
    const taken = box.take('guest', 'vector', 3);
    for (const frame of [...frames].reverse())
      expect(await box.deliver('guest', frame)).toEqual({ isDuplicate: false });
    expect(await box.deliver('guest', frames[0]!)).toEqual({ isDuplicate: true });
    const message = await taken;
    expect(message.meta).toEqual({ n: 1 });
    expect(message.blobs.map((b) => Buffer.from(b))).toEqual(blobs);
  });

  it.each([
    ['another job', (f: ReturnType<typeof parseFrame>) => buildFrame({ ...f.header, job: 'other' }, f.blobs)],
    ['another step', (f: ReturnType<typeof parseFrame>) => buildFrame({ ...f.header, step: 'score' }, f.blobs)],
    ['a kind not accepted', (f: ReturnType<typeof parseFrame>) => buildFrame({ ...f.header, kind: 'sums' }, f.blobs)],
    ['a sequence out of range', (f: ReturnType<typeof parseFrame>) => buildFrame({ ...f.header, seq: 11 }, f.blobs)],
    [
      'a digest that does not match',
      (f: ReturnType<typeof parseFrame>) => {
        const frame = buildFrame(f.header, f.blobs);
        frame[frame.length - 1] = (frame[frame.length - 1] as number) ^ 1;
        return frame;
      },
    ],
    ['a header that is not JSON', () => Buffer.from([0, 0, 0, 2, 0x7b, 0x7b])],
    ['a length prefix past the end', () => Buffer.from([0, 0, 1, 0, 0x7b])],
  ])('refuses %s', async (_, forge) => {
    const [frame] = await framesOf([Buffer.from('short')]);
    const { box } = mailbox();
    const waiting = box.take('guest', 'vector', 3);
    await expect(box.deliver('guest', forge(parseFrame(frame!)))).rejects.toEqual(refused);
    await expect(waiting).rejects.toEqual(refused);
    expect(box.hasFailed).toBe(true);
  });

  it('refuses a part repeated with other content, a message over the limit, and a sender not allowed', async () => {
    const frames = await framesOf(blobs);
    const { box } = mailbox();
    await box.deliver('guest', frames[0]!);
    const altered = Buffer.from(frames[0]!);
    altered[altered.length - 1] = (altered[altered.length - 1] as number) ^ 1;
    await expect(box.deliver('guest', altered)).rejects.toEqual(refused);

    const small = mailbox(1000).box;
    await expect(small.deliver('guest', frames[0]!)).rejects.toEqual(refused);
    const [frame] = await framesOf([Buffer.from('x')]);
    await expect(mailbox().box.deliver('insurer', frame!)).rejects.toEqual(refused);
  });

  it('refuses a peer that runs ahead past the buffer, and frees what a step took', async () => {
    const message = async (seq: number) => {
      const frames: Buffer[] = [];
      const context = {
        spec,
        step: 'train',
        send: async (_peer: string, frame: Uint8Array) => {
          frames.push(Buffer.from(frame));
        },
      } as unknown as StepContext;
      await sendMessage(
        context,
        'host',
        { kind: 'vector', seq, meta: null, blobs: [Buffer.alloc(4000)] },
        {
          auditStep: 'x',
        },
      );
      return frames[0]!;
    };
    const { box } = mailbox(10_000, 10_000);
    await box.deliver('guest', await message(0));
    await box.deliver('guest', await message(1));
    await box.take('guest', 'vector', 0);
    await box.deliver('guest', await message(2));
    await expect(box.deliver('guest', await message(3))).rejects.toEqual(refused);
  });

  it('fails its waits when the attempt ends', async () => {
    const { box, controller } = mailbox();
    const waiting = box.take('guest', 'vector', 1);
    controller.abort(new Error('attempt over'));
    await expect(waiting).rejects.toThrow('attempt over');
  });
});
