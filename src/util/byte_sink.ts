// A growable byte buffer that text is written into as UTF-8, for answers rendered many thousand
// times a second (src/outputs/blackbox/registry.ts). Building a string of a few hundred pieces
// and encoding it afterwards cost twice: V8 walks every piece again to flatten the string, then
// copies it once more to encode it. Written here, each piece is copied once, and constant text
// is encoded once at start-up (encode()).

/** The UTF-8 bytes of constant text. */
export function encode(text: string): Uint8Array {
  return Buffer.from(text, 'utf8');
}

export class ByteSink {
  private buf: Buffer;
  /** bytes written so far */
  length = 0;

  constructor(initial = 8192) {
    this.buf = Buffer.allocUnsafe(initial);
  }

  /** Forgets what was written; the buffer is kept for the next use. */
  reset(): void {
    this.length = 0;
  }

  private room(n: number): Buffer {
    if (this.length + n > this.buf.length) {
      let size = this.buf.length * 2;
      while (size < this.length + n) size *= 2;
      const grown = Buffer.allocUnsafe(size);
      this.buf.copy(grown, 0, 0, this.length);
      this.buf = grown;
    }
    return this.buf;
  }

  bytes(b: Uint8Array): void {
    const n = b.length;
    const buf = this.room(n);
    // TypedArray.prototype.set costs a call into the runtime: short pieces are copied here.
    if (n < 48) {
      let o = this.length;
      for (let i = 0; i < n; i++) buf[o++] = b[i];
      this.length = o;
      return;
    }
    buf.set(b, this.length);
    this.length += n;
  }

  /**
   * Text as UTF-8. Short ASCII text (numbers, names, most label values) is copied by a loop,
   * which is cheaper than a call into the encoder; anything else goes to the encoder.
   */
  text(s: string): void {
    const n = s.length;
    const buf = this.room(n * 3); // a UTF-16 unit never takes more than 3 bytes of UTF-8
    let o = this.length;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) {
        this.length = o + buf.write(s.slice(i), o, 'utf8');
        return;
      }
      buf[o++] = c;
    }
    this.length = o;
  }

  /**
   * A non-negative integer below 2^53 in decimal, zero-padded to `width` digits: written as bytes,
   * without the string String() would make (number-to-string was most of a /probe render's values).
   */
  digits(n: number, width = 1): void {
    let len = 1;
    for (let p = 10; p <= n && len < 16; p *= 10) len++;
    if (len < width) len = width;
    const buf = this.room(len);
    let o = this.length + len;
    this.length = o;
    for (let i = 0; i < len; i++) {
      const q = Math.floor(n / 10);
      buf[--o] = 48 + (n - q * 10);
      n = q;
    }
  }

  /** What was written, without a copy: valid until the next reset() or write. */
  view(): Buffer {
    return this.buf.subarray(0, this.length);
  }

  /** A copy of what was written. */
  copy(): Buffer {
    // allocUnsafe takes small sizes from Node's shared pool: no allocation of its own.
    const out = Buffer.allocUnsafe(this.length);
    this.buf.copy(out, 0, 0, this.length);
    return out;
  }

  toString(): string {
    return this.buf.toString('utf8', 0, this.length);
  }
}
