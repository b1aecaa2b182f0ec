// The /probe gateway's side of the stream engine's wire (native/glue/stream.cc): the requests it
// takes (asks) as they arrive with a batch, and the answers of a JS turn sent back in one call.

/**
 * A /probe request the gateway took (native/gateway/gateway.cc), for TypeScript to serve and answer
 * with StreamClient.answer. module and target are the query's decoded values when it held nothing
 * else; otherwise query holds it raw.
 */
export interface GatewayAsk {
  conn: number;
  gen: number;
  module: string;
  target: string;
  query: string | undefined;
  /** X-Prometheus-Scrape-Timeout-Seconds as sent, '' when absent */
  scrapeTimeout: string;
  /** the client's address */
  peer: string;
}

/** Bounds of the gateway's listener (native/stream/engine.h GatewayLimits), over all its engines. */
export interface GatewayLimits {
  /** connections open at once */
  maxConnections: number;
  /** connections open at once from one client address */
  maxPerClient: number;
  /** a request head must arrive whole within this */
  headerTimeoutMs: number;
}

export interface GatewayHandlers {
  /** an accepted connection for Node's HTTP server (its request is still unread) */
  handoff(fd: number): void;
  ask(a: GatewayAsk): void;
  /** the client of an ask left before its answer: cancel its probe */
  gone(conn: number, gen: number): void;
}

// Asks as native/glue/stream.cc lays them out: conn, gen, simple per ask; NUL-separated strings
// (module, target, timeout, peer for a simple ask; query, timeout, peer for the others).
export function decodeAsks(meta: Float64Array, text: string, gw: GatewayHandlers): void {
  const parts = text.split('\0');
  let k = 0;
  for (let i = 0; i < meta.length; i += 3) {
    const simple = meta[i + 2] === 1;
    const a: GatewayAsk = simple
      ? { conn: meta[i], gen: meta[i + 1], module: parts[k], target: parts[k + 1], query: undefined, scrapeTimeout: parts[k + 2], peer: parts[k + 3] }
      : { conn: meta[i], gen: meta[i + 1], module: '', target: '', query: parts[k], scrapeTimeout: parts[k + 1], peer: parts[k + 2] };
    k += simple ? 4 : 3;
    gw.ask(a);
  }
}

/** Asks whose client left (conn, gen pairs), for the handlers to cancel. */
export function decodeGone(gone: Float64Array, gw: GatewayHandlers): void {
  for (let i = 0; i < gone.length; i += 2) gw.gone(gone[i], gone[i + 1]);
}

// Answers of one JS turn, sent to the engine in one call (native/glue/stream.cc answer): their
// bodies' UTF-8 bytes in one buffer. The owner calls flush at the end of the turn (src/native/stream.ts).
export class AnswerBatch {
  private meta: number[] = [];
  private types: string[] = [];
  private bodies: Uint8Array[] = [];

  constructor(private readonly engine: { answer(meta: Float64Array, contentTypes: string[], bodies: Uint8Array): void }) {}

  add(a: GatewayAsk, status: number, contentType: string, body: string | Uint8Array): void {
    let t = this.types.indexOf(contentType);
    if (t < 0) t = this.types.push(contentType) - 1;
    const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    this.meta.push(a.conn, a.gen, status, t, bytes.length);
    this.bodies.push(bytes);
  }

  /** Sends the answers added since the last flush, if any. */
  flush(): void {
    if (this.bodies.length === 0) return;
    const meta = Float64Array.from(this.meta);
    const types = this.types;
    const bytes = this.bodies.length === 1 ? this.bodies[0] : Buffer.concat(this.bodies);
    this.meta = [];
    this.types = [];
    this.bodies = [];
    this.engine.answer(meta, types, bytes);
  }
}
