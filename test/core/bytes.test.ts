// The byte-length assertion (core/bytes.ts): Uint8Array and Buffer pass, anything else or a wrong length is a
// RangeError naming the label and both lengths, and never the bytes themselves.
import { describe, expect, it } from 'vitest';
import { abytes } from '../../core/bytes.ts';

describe('abytes', () => {
  it('accepts a Uint8Array or a Buffer of the exact length, or of whole records', () => {
    expect(() => abytes(new Uint8Array(32), 32, 'key')).not.toThrow();
    expect(() => abytes(Buffer.alloc(32), 32, 'key')).not.toThrow();
    expect(() => abytes(Buffer.alloc(7), undefined, 'any')).not.toThrow();
    expect(() => abytes(new Uint8Array(96), { multipleOf: 32 }, 'points')).not.toThrow();
    expect(() => abytes(new Uint8Array(0), { multipleOf: 32 }, 'points')).not.toThrow();
  });

  it('names the label and the expected and actual length', () => {
    expect(() => abytes(new Uint8Array(31), 32, 'seed')).toThrow(new RangeError('seed must be 32 bytes, got 31'));
    expect(() => abytes(new Uint8Array(33), { multipleOf: 32 }, 'points')).toThrow(
      new RangeError('points must be a multiple of 32 bytes, got 33'),
    );
  });

  it('refuses what is not a Uint8Array, whatever its length', () => {
    expect(() => abytes('a'.repeat(32), 32, 'key')).toThrow(new RangeError('key must be a Uint8Array, got string'));
    expect(() => abytes(new Array(32).fill(0), 32, 'key')).toThrow(
      new RangeError('key must be a Uint8Array, got Array'),
    );
    expect(() => abytes(new Uint16Array(16), 32, 'key')).toThrow(RangeError);
    expect(() => abytes(null, undefined, 'key')).toThrow(new RangeError('key must be a Uint8Array, got null'));
  });

  it('never echoes the bytes', () => {
    const secret = Buffer.from('sensitive-key-material-0123456789');
    expect(() => abytes(secret, 32, 'key')).toThrow(
      expect.not.objectContaining({ message: expect.stringContaining('sensitive') }),
    );
  });
});
