// Reading and forging framed protocol messages (mpc/jobs/framed-messages.ts) in tests: what a hostile gateway could
// put on the wire in place of an honest frame, with a valid header, sizes and digest.
import { createHash } from 'node:crypto';

export type Frame = {
  header: Record<string, unknown> & { kind: string; seq: number; sizes: number[] };
  blobs: Buffer[];
};

export function parseFrame(bytes: Uint8Array): Frame {
  const buffer = Buffer.from(bytes);
  const length = buffer.readUInt32BE(0);
  const header = JSON.parse(buffer.subarray(4, 4 + length).toString('utf8')) as Frame['header'];
  const payload = buffer.subarray(4 + length);
  const blobs: Buffer[] = [];
  let at = 0;
  if ((header.parts as number) === 1)
    for (const size of header.sizes) {
      blobs.push(payload.subarray(at, at + size));
      at += size;
    }
  return { header, blobs };
}

/** A single-part frame carrying `blobs` under `header` (sizes and digest recomputed). */
export function buildFrame(header: Frame['header'], blobs: readonly Uint8Array[]): Buffer {
  const whole = Buffer.concat(blobs);
  const fixed = {
    ...header,
    part: 0,
    parts: 1,
    sizes: blobs.map((b) => b.length),
    digest: createHash('sha256').update(whole).digest('hex'),
  };
  const text = Buffer.from(JSON.stringify(fixed));
  const prefix = Buffer.alloc(4);
  prefix.writeUInt32BE(text.length);
  return Buffer.concat([prefix, text, whole]);
}

export const isMessageCall = (path: string) => path.startsWith('/peer/v1/jobs/messages');
