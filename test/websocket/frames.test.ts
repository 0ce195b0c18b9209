/**
 * The relay's frame follower: between frames exactly where frames end, however the bytes are
 * split into chunks (fast-check), for every length encoding. (How `ws` reads its close frame, both
 * ways, is in `session-end.test.ts`.)
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { closeFrame, FrameBoundary } from '../../src/gateway/websocket-frames.js';

/** A frame with a payload of `length` bytes (7-bit, 16-bit or 64-bit length), masked or not. */
function frame(opcode: number, length: number, masked: boolean): Buffer {
  const len7 = length < 126 ? length : length < 65536 ? 126 : 127;
  const extra = len7 === 126 ? 2 : len7 === 127 ? 8 : 0;
  const header = Buffer.alloc(2 + extra + (masked ? 4 : 0));
  header[0] = 0x80 | opcode;
  header[1] = (masked ? 0x80 : 0) | len7;
  if (len7 === 126) header.writeUInt16BE(length, 2);
  if (len7 === 127) header.writeBigUInt64BE(BigInt(length), 2);
  return Buffer.concat([header, Buffer.alloc(length, 0x61)]);
}

test('frame boundaries are found exactly where frames end, however the stream is chunked', () => {
  fc.assert(fc.property(
    fc.array(fc.record({ opcode: fc.constantFrom(1, 2, 9, 10), length: fc.oneof(fc.nat(125), fc.integer({ min: 126, max: 70_000 })), masked: fc.boolean() }), { minLength: 1, maxLength: 6 }),
    fc.array(fc.integer({ min: 1, max: 5000 }), { minLength: 1, maxLength: 20 }),
    (frames, cuts) => {
      const bytes = Buffer.concat(frames.map((f) => frame(f.opcode, f.length, f.masked)));
      const ends = new Set<number>();
      let at = 0;
      for (const f of frames) ends.add((at += frame(f.opcode, f.length, f.masked).length));
      const boundary = new FrameBoundary();
      let offset = 0;
      let i = 0;
      while (offset < bytes.length) {
        const next = Math.min(bytes.length, offset + cuts[i++ % cuts.length]!);
        boundary.advance(bytes.subarray(offset, next));
        offset = next;
        assert.equal(boundary.atBoundary, ends.has(offset), `at byte ${offset}`);
      }
      assert.equal(boundary.closed, false);
    },
  ), { numRuns: 200 });
});

test('a close frame going by is noticed', () => {
  const boundary = new FrameBoundary();
  boundary.advance(closeFrame(1000, 'bye', true));
  assert.equal(boundary.closed, true);
  assert.equal(boundary.atBoundary, true);
});
