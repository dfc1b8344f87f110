// W3C Trace Context (Recommendation, §3.2 `traceparent`): parse, generate and propagate the trace id
// so one joint job can be followed through every party's logs and timeline. No HTTP framework here: the shell's
// hooks (gateway/http/trace.ts) and the peer client both build on it.
import { randomFillSync } from 'node:crypto';
import { z } from 'zod';

export const TRACEPARENT_HEADER = 'traceparent';

export const TraceContext = z.object({
  /** 32 lowercase hex digits, not all zero: the id shared by every span of one trace. */
  traceId: z
    .string()
    .regex(/^[0-9a-f]{32}$/)
    .refine((s) => !/^0+$/.test(s), 'all-zero trace id'),
  /** 16 lowercase hex digits, not all zero: this span (the "parent-id" of the next hop). */
  spanId: z
    .string()
    .regex(/^[0-9a-f]{16}$/)
    .refine((s) => !/^0+$/.test(s), 'all-zero span id'),
  /** The caller's span when this context continues an incoming trace; null for a trace started here. */
  parentSpanId: z
    .string()
    .regex(/^[0-9a-f]{16}$/)
    .nullable(),
  /** trace-flags, 2 hex digits; bit 0 is "sampled". */
  flags: z.string().regex(/^[0-9a-f]{2}$/),
});
export type TraceContext = z.infer<typeof TraceContext>;

const HEX = /^[0-9a-f]+$/;
const isAllZero = (s: string) => /^0+$/.test(s);
// Bit 0 set: every gateway logs every request it serves, so a trace started here is recorded.
const SAMPLED = '01';

/**
 * The parent context carried by a `traceparent` value, or null when it is absent or malformed.
 * Version 00 must be exactly 55 characters; a later version may append fields after a '-' (§3.2.4:
 * parse what this version knows). Version ff, upper-case hex and all-zero ids are invalid (§3.2.2).
 */
export function parseTraceparent(value: unknown): { traceId: string; spanId: string; flags: string } | null {
  if (typeof value !== 'string' || value.length < 55 || value.length > 512) return null;
  const version = value.slice(0, 2);
  if (!HEX.test(version) || version === 'ff') return null;
  if (version === '00' ? value.length !== 55 : value.length > 55 && value[55] !== '-') return null;
  const [dash1, traceId, dash2, spanId, dash3, flags] = [
    value[2],
    value.slice(3, 35),
    value[35],
    value.slice(36, 52),
    value[52],
    value.slice(53, 55),
  ];
  if (dash1 !== '-' || dash2 !== '-' || dash3 !== '-') return null;
  if (!HEX.test(traceId) || !HEX.test(spanId) || !HEX.test(flags)) return null;
  if (isAllZero(traceId) || isAllZero(spanId)) return null;
  return { traceId, spanId, flags };
}

/** The version-00 header value for `trace`: the span in it becomes the receiver's parent. */
export function formatTraceparent(trace: Pick<TraceContext, 'traceId' | 'spanId' | 'flags'>): string {
  return `00-${trace.traceId}-${trace.spanId}-${trace.flags}`;
}

// Ids are drawn from a pool refilled 4 KiB at a time: one CSPRNG call per ~170 requests instead of two per request.
const pool = Buffer.alloc(4096);
let poolOffset = pool.length;

function randomHex(bytes: number): string {
  // A random id is all zero with probability 2^-64 or less; drawing again keeps the output valid anyway.
  for (;;) {
    if (poolOffset + bytes > pool.length) {
      randomFillSync(pool);
      poolOffset = 0;
    }
    const hex = pool.toString('hex', poolOffset, poolOffset + bytes);
    poolOffset += bytes;
    if (!isAllZero(hex)) return hex;
  }
}

/** A new trace with a fresh root span. */
export function startTrace(): TraceContext {
  return { traceId: randomHex(16), spanId: randomHex(8), parentSpanId: null, flags: SAMPLED };
}

/** A new span in the trace named by `traceparent`, or a new trace when it is absent or malformed. */
export function continueTrace(traceparent: unknown): TraceContext {
  const parent = parseTraceparent(traceparent);
  if (parent === null) return startTrace();
  return { traceId: parent.traceId, spanId: randomHex(8), parentSpanId: parent.spanId, flags: parent.flags };
}

/** A child span of `trace`, for an outgoing call. */
export function childSpan(trace: TraceContext): TraceContext {
  return { traceId: trace.traceId, spanId: randomHex(8), parentSpanId: trace.spanId, flags: trace.flags };
}
