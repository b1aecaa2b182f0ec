// DNS over a byte stream (TCP, TLS): every message behind a 2-byte length (RFC 1035 section 4.2.2,
// RFC 7766). Segments split a message anywhere, including inside its length, and one segment can
// carry several messages (pipelined answers): the reader keeps the bytes that are not a whole
// message yet and yields each whole one.

/** The stream form of a message: its length, then the message. */
export function frame(msg: Buffer): Buffer {
  const out = Buffer.alloc(2 + msg.length);
  out.writeUInt16BE(msg.length, 0);
  msg.copy(out, 2);
  return out;
}

export class FrameReader {
  private chunks: Buffer[] = [];
  private buffered = 0;

  /** Adds a segment; returns the messages it completed, in order. */
  push(chunk: Buffer): Buffer[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const out: Buffer[] = [];
    for (;;) {
      if (this.buffered < 2) break;
      const head = this.peek(2);
      const length = head.readUInt16BE(0);
      if (this.buffered < 2 + length) break;
      const all = this.take(2 + length);
      out.push(all.subarray(2));
    }
    return out;
  }

  /** Bytes held that are not a whole message (what a connection closed in the middle of). */
  get pending(): number {
    return this.buffered;
  }

  /** The length the pending message announced, when its 2 bytes arrived. */
  get announced(): number | undefined {
    return this.buffered >= 2 ? this.peek(2).readUInt16BE(0) : undefined;
  }

  private peek(n: number): Buffer {
    if (this.chunks[0].length < n) this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0];
  }

  private take(n: number): Buffer {
    const all = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks);
    const rest = all.subarray(n);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.buffered = rest.length;
    return all.subarray(0, n);
  }
}
