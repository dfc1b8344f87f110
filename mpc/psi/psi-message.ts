// The PSI wire message: a small JSON header (zod schema below) and a binary payload of fixed-size records, framed
// as u32be(header length) ‖ header (UTF-8 JSON) ‖ payload. Only PSI-blinded points, positions and a count ever
// travel in a payload (DESIGN.md §1.1).
import { z } from 'zod';
import { PsiProtocolError } from './psi-error.ts';

export const PSI_PROTOCOL_VERSION = 1;

/**
 * initiator-blinded   initiator → responder  X25519(α, u(a)), shuffled by the initiator
 * responder-blinded   responder → initiator  X25519(β, u(b)), shuffled by the responder
 * initiator-reblinded responder → initiator  X25519(β, ·) of what it received: in received order (intersection
 *                                            mode) or shuffled again (cardinality mode)
 * matches             initiator → responder  doubly blinded match ‖ u32le position in the responder's sent order
 * cardinality         initiator → responder  u32le |intersection|
 */
export const PsiStep = z.enum([
  'initiator-blinded',
  'responder-blinded',
  'initiator-reblinded',
  'matches',
  'cardinality',
]);
export type PsiStep = z.infer<typeof PsiStep>;

export const RECORD_BYTES = {
  'initiator-blinded': 32,
  'responder-blinded': 32,
  'initiator-reblinded': 32,
  'matches': 36,
  'cardinality': 4,
} as const satisfies Record<PsiStep, number>;

const PartyId = z.string().min(1).max(128);
const U32 = z.number().int().min(0).max(0xffffffff);

/** `party` sends, `to` receives; a step is cut into buckets 0, 1, … of `count` records adding up to `total`. */
export const PsiHeader = z.strictObject({
  protocolVersion: z.literal(PSI_PROTOCOL_VERSION),
  jobId: z.string().min(1).max(256),
  step: PsiStep,
  party: PartyId,
  to: PartyId,
  bucket: U32,
  count: U32,
  total: U32,
});
export type PsiHeader = z.infer<typeof PsiHeader>;

export type PsiMessage = { header: PsiHeader; payload: Uint8Array };

/** 16k points is a 512 KiB payload: under the gateway's default 1 MiB body limit with room for framing. */
export const DEFAULT_BUCKET_RECORDS = 16384;
/** The largest bucket a party accepts (2 MiB of points). */
export const MAX_BUCKET_RECORDS = 65536;
const MAX_HEADER_BYTES = 4096;

/** Checks an untrusted header: the version first (a newer peer may use other fields), then the exact shape. */
export function parsePsiHeader(value: unknown): PsiHeader {
  if (
    typeof value === 'object' &&
    value !== null &&
    'protocolVersion' in value &&
    value.protocolVersion !== PSI_PROTOCOL_VERSION
  ) {
    const version = value.protocolVersion;
    throw new PsiProtocolError('PSI_VERSION_UNSUPPORTED', `PSI protocol version is not ${PSI_PROTOCOL_VERSION}`, {
      protocolVersion: typeof version === 'number' ? version : String(version).slice(0, 32),
    });
  }
  const parsed = PsiHeader.safeParse(value);
  if (!parsed.success) {
    const fields = parsed.error.issues.map((issue) => issue.path.join('.') || '(header)');
    throw new PsiProtocolError('PSI_BAD_MESSAGE', 'PSI header does not match its schema', { reason: 'header', fields });
  }
  return parsed.data;
}

/** Checks the payload against the header: whole records of the step's size, exactly `count` of them. */
export function checkPayload(header: PsiHeader, payload: Uint8Array): void {
  const size = RECORD_BYTES[header.step];
  const where = { step: header.step, bucket: header.bucket };
  if (!(payload instanceof Uint8Array))
    throw new PsiProtocolError('PSI_BAD_MESSAGE', 'PSI payload is not binary', { ...where, reason: 'payload' });
  if (payload.length % size !== 0)
    throw new PsiProtocolError('PSI_BAD_MESSAGE', `PSI payload length is not a multiple of ${size}`, {
      ...where,
      reason: 'payload-length',
      length: payload.length,
    });
  if (payload.length / size !== header.count)
    throw new PsiProtocolError(
      'PSI_COUNT_MISMATCH',
      'PSI payload holds a different number of records than the header count',
      { ...where, count: header.count, records: payload.length / size },
    );
}

export function encodePsiMessage(message: PsiMessage): Buffer {
  const header = Buffer.from(JSON.stringify(PsiHeader.parse(message.header)), 'utf8');
  const frame = Buffer.allocUnsafe(4 + header.length + message.payload.length);
  frame.writeUInt32BE(header.length, 0);
  header.copy(frame, 4);
  frame.set(message.payload, 4 + header.length);
  return frame;
}

/** Parses a frame; the payload is a view into it (no copy). Header and payload are both checked. */
export function decodePsiMessage(frame: Uint8Array): PsiMessage {
  if (!(frame instanceof Uint8Array) || frame.length < 4)
    throw new PsiProtocolError('PSI_BAD_MESSAGE', 'PSI frame is too short', { reason: 'frame' });
  const view = Buffer.from(frame.buffer, frame.byteOffset, frame.length);
  const headerLength = view.readUInt32BE(0);
  if (headerLength > MAX_HEADER_BYTES || 4 + headerLength > view.length)
    throw new PsiProtocolError('PSI_BAD_MESSAGE', 'PSI frame header length is out of range', { reason: 'frame' });
  let json: unknown;
  try {
    json = JSON.parse(view.toString('utf8', 4, 4 + headerLength));
  } catch {
    throw new PsiProtocolError('PSI_BAD_MESSAGE', 'PSI header is not JSON', { reason: 'header' });
  }
  const header = parsePsiHeader(json);
  const payload = view.subarray(4 + headerLength);
  checkPayload(header, payload);
  return { header, payload };
}

/** Cuts a step's records into buckets (views, no copy); an empty step is one empty bucket so the peer sees total 0. */
export function bucketMessages(
  route: Pick<PsiHeader, 'jobId' | 'step' | 'party' | 'to'>,
  records: Uint8Array,
  bucketRecords: number,
): PsiMessage[] {
  const size = RECORD_BYTES[route.step];
  const total = records.length / size;
  const messages: PsiMessage[] = [];
  for (let start = 0, bucket = 0; start < total || bucket === 0; start += bucketRecords, bucket++) {
    const end = Math.min(total, start + bucketRecords);
    messages.push({
      header: { protocolVersion: PSI_PROTOCOL_VERSION, ...route, bucket, count: end - start, total },
      payload: records.subarray(start * size, end * size),
    });
  }
  return messages;
}
