// Line reader over a socket with the semantics of Go's bufio.Scanner + ScanLines, which
// blackbox_exporter's query_response reads with: lines end at '\n', one trailing '\r' is dropped,
// the last unterminated line is still returned at EOF, and a line longer than 64 KiB
// (bufio.MaxScanTokenSize) is an error rather than a match candidate.
import type { Duplex } from 'node:stream';
import { ProbeFailure } from '../errors';

export const MAX_LINE_BYTES = 64 * 1024;

const LF = 0x0a;
const CR = 0x0d;

function dropCR(b: Buffer): string {
  const end = b.length > 0 && b[b.length - 1] === CR ? b.length - 1 : b.length;
  return b.toString('utf8', 0, end);
}

export class LineReader {
  private buf: Buffer = Buffer.alloc(0);
  private ended = false;
  private failure: Error | undefined;
  private wake: (() => void) | undefined;

  private readonly onData = (chunk: Buffer): void => {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    // Stop reading once a line (or an over-long one) is buffered: like the Go scanner, read from
    // the peer only when asked for the next line, so a chatty peer cannot fill memory.
    if (this.buf.includes(LF) || this.buf.length >= MAX_LINE_BYTES) this.sock.pause();
    this.notify();
  };
  private readonly onEnd = (): void => {
    this.ended = true;
    this.notify();
  };
  private readonly onError = (err: Error): void => {
    this.failure ??= err;
    this.notify();
  };

  constructor(private readonly sock: Duplex) {
    sock.on('data', this.onData);
    sock.on('end', this.onEnd);
    sock.on('close', this.onEnd);
    sock.on('error', this.onError);
    sock.pause();
  }

  private notify(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  /** The next line without its terminator, or null at EOF. Rejects with the socket's error. */
  async readLine(): Promise<string | null> {
    // Bounded: every pass either returns or waits for an event that grows the buffer or ends it.
    for (;;) {
      const nl = this.buf.indexOf(LF);
      if (nl >= 0 && nl < MAX_LINE_BYTES) {
        const line = this.buf.subarray(0, nl);
        this.buf = this.buf.subarray(nl + 1);
        return dropCR(line);
      }
      if (this.buf.length >= MAX_LINE_BYTES) {
        throw new ProbeFailure('protocol_error', `the peer sent a line longer than ${MAX_LINE_BYTES} bytes`);
      }
      if (this.failure) throw this.failure;
      if (this.ended) {
        if (this.buf.length === 0) return null;
        const rest = this.buf;
        this.buf = Buffer.alloc(0);
        return dropCR(rest);
      }
      const more = new Promise<void>((resolve) => (this.wake = resolve));
      this.sock.resume();
      await more;
    }
  }

  /**
   * The next `n` bytes (blackbox 0.28's expect_bytes), taken from what is buffered first; fewer
   * when the peer ends the stream before sending them.
   */
  async readBytes(n: number): Promise<Buffer> {
    for (;;) {
      if (this.buf.length >= n || this.ended || this.failure) {
        if (this.buf.length < n && this.failure) throw this.failure;
        const out = this.buf.subarray(0, n);
        this.buf = this.buf.subarray(out.length);
        return out;
      }
      const more = new Promise<void>((resolve) => (this.wake = resolve));
      this.sock.resume();
      await more;
    }
  }

  /** Stops listening (before a STARTTLS upgrade hands the socket to TLS); unread bytes are dropped, as in blackbox. */
  detach(): void {
    this.sock.off('data', this.onData);
    this.sock.off('end', this.onEnd);
    this.sock.off('close', this.onEnd);
    this.sock.off('error', this.onError);
    this.buf = Buffer.alloc(0);
  }
}
