/**
 * Splits the engine's multiplexed exec stream (Tty false) into stdout/stderr payloads in arrival order.
 * Frame: 1 byte stream type (1 stdout, 2 stderr), 3 zero bytes, 4 bytes big-endian payload length, payload.
 * Written by hand instead of the library's demuxStream so payloads go straight to a callback without two
 * intermediate Node streams (this path carries million-line logs).
 */
export type StreamKind = 'stdout' | 'stderr';

export class FrameDemuxer {
  private pending: Buffer | null = null;

  constructor(private readonly onPayload: (kind: StreamKind, payload: Buffer) => void) {}

  push(chunk: Buffer): void {
    const buf = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = null;
    let off = 0;
    while (buf.length - off >= 8) {
      const type = buf[off];
      const size = buf.readUInt32BE(off + 4);
      if (buf.length - off - 8 < size) break;
      if (size > 0) this.onPayload(type === 2 ? 'stderr' : 'stdout', buf.subarray(off + 8, off + 8 + size));
      off += 8 + size;
    }
    if (off < buf.length) this.pending = Buffer.from(buf.subarray(off));
  }

  /** Bytes of an incomplete frame left when the stream ended (should be 0). */
  get leftover(): number {
    return this.pending?.length ?? 0;
  }
}
