/**
 * Just enough of WebSocket framing (RFC 6455 §5.2) for a relay that passes bytes through: where
 * frames begin (so a close frame of the gateway's own is only ever written between frames), and
 * the close frame itself. Payloads are never read or unmasked.
 */
import { randomBytes } from 'node:crypto';

/** Follows the frames of one direction of a connection, chunk by chunk. */
export class FrameBoundary {
  /** Header bytes of the frame being read (up to 14). */
  #header = Buffer.alloc(14);
  #headerLength = 0;
  /** Payload bytes still to pass before the next frame begins. */
  #remaining = 0;
  /** A close frame went this way (the sender will send nothing more). */
  closed = false;

  /** True between frames: a frame written now cannot split another. */
  get atBoundary(): boolean {
    return this.#headerLength === 0 && this.#remaining === 0;
  }

  advance(chunk: Buffer): void {
    let i = 0;
    while (i < chunk.length) {
      if (this.#remaining > 0) {
        const step = Math.min(this.#remaining, chunk.length - i);
        this.#remaining -= step;
        i += step;
        continue;
      }
      this.#header[this.#headerLength++] = chunk[i++]!;
      const need = headerSize(this.#header, this.#headerLength);
      if (need === undefined || this.#headerLength < need) continue;
      const opcode = this.#header[0]! & 0x0f;
      if (opcode === 0x8) this.closed = true;
      this.#remaining = payloadLength(this.#header);
      this.#headerLength = 0;
    }
  }
}

/** The header's full size once its first two bytes are known. */
function headerSize(header: Buffer, have: number): number | undefined {
  if (have < 2) return undefined;
  const len7 = header[1]! & 0x7f;
  const masked = (header[1]! & 0x80) !== 0;
  return 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (masked ? 4 : 0);
}

function payloadLength(header: Buffer): number {
  const len7 = header[1]! & 0x7f;
  if (len7 === 126) return header.readUInt16BE(2);
  // Lengths past 2^53 cannot be relayed anyway; the connection ends long before.
  if (len7 === 127) return Number(header.readBigUInt64BE(2));
  return len7;
}

/** A close frame with `code` and `reason` (at most 123 bytes); masked when sent by the client side (to the upstream). */
export function closeFrame(code: number, reason: string, masked: boolean): Buffer {
  const text = Buffer.from(reason, 'utf8').subarray(0, 123);
  const payload = Buffer.alloc(2 + text.length);
  payload.writeUInt16BE(code, 0);
  text.copy(payload, 2);
  const header = Buffer.from([0x88, (masked ? 0x80 : 0) | payload.length]);
  if (!masked) return Buffer.concat([header, payload]);
  const mask = randomBytes(4);
  for (let i = 0; i < payload.length; i++) payload[i]! ^= mask[i % 4]!;
  return Buffer.concat([header, mask, payload]);
}
