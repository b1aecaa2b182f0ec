// Connected UDP sockets kept between probes of the same server, one probe on a socket at a time:
// making, binding, connecting and closing a socket was a third of a UDP probe's cost. A socket
// serves one query at a time, so its 5-tuple is that probe's own (a refused port, an eBPF flow,
// a stray answer all belong to it); it goes back to the pool only after a clean exchange (its
// answer read), never after a timeout, where a late answer could reach the next probe. Idle
// sockets close after IDLE_MS; each serves at most MAX_USES queries, so source ports keep moving.
import * as dgram from 'node:dgram';
import type { Runtime } from '../../runtime';

const IDLE_MS = 5000;
const MAX_USES = 1000;
const MAX_FREE_PER_KEY = 1024;

/** What the socket's current user hears. */
export interface UdpUser {
  message(raw: Buffer): void;
  error(err: Error): void;
}

export class PooledSocket {
  user: UdpUser | undefined;
  uses = 0;
  idleSince = 0;
  localPort = 0;
  localAddress = '';

  constructor(
    readonly sock: dgram.Socket,
    readonly key: string,
  ) {
    sock.on('message', (raw) => this.user?.message(raw));
    // An error with no user (an ICMP error after the exchange ended) is dropped: nobody waits for it.
    sock.on('error', (err) => this.user?.error(err));
  }
}

export interface UdpDestination {
  address: string;
  port: number;
  family: 4 | 6;
  source?: string;
}

export class UdpPool {
  private readonly free = new Map<string, PooledSocket[]>();
  private sweeper: NodeJS.Timeout | undefined;

  /** A connected socket to `d`, free for this caller alone until give() or discard(). */
  take(d: UdpDestination): Promise<PooledSocket> {
    const key = `${d.source ?? ''}|${d.address}|${d.port}`;
    const list = this.free.get(key);
    const s = list?.pop();
    // In use, a socket keeps the process alive (a CLI waits for its answer); idle in the pool, it does not.
    if (s) {
      s.sock.ref();
      return Promise.resolve(s);
    }
    const sock = dgram.createSocket(d.family === 6 ? 'udp6' : 'udp4');
    const pooled = new PooledSocket(sock, key);
    return new Promise((resolve, reject) => {
      const fail = (err: Error) => {
        sock.close();
        reject(err);
      };
      sock.once('error', fail);
      const connect = () =>
        sock.connect(d.port, d.address, () => {
          sock.removeListener('error', fail);
          const local = sock.address();
          pooled.localPort = local.port;
          pooled.localAddress = local.address;
          resolve(pooled);
        });
      if (d.source !== undefined) sock.bind({ address: d.source, port: 0 }, connect);
      else connect();
    });
  }

  /** Back to the pool after a clean exchange. */
  give(s: PooledSocket): void {
    s.user = undefined;
    if (++s.uses >= MAX_USES) return this.discard(s);
    let list = this.free.get(s.key);
    if (!list) this.free.set(s.key, (list = []));
    if (list.length >= MAX_FREE_PER_KEY) return this.discard(s);
    s.idleSince = Date.now();
    s.sock.unref();
    list.push(s);
    this.sweep();
  }

  discard(s: PooledSocket): void {
    s.user = undefined;
    try {
      s.sock.close();
    } catch {
      // already closed
    }
  }

  /** Closes sockets idle for IDLE_MS; runs while any socket is free (an unref'd timer: it never keeps the process alive). */
  private sweep(): void {
    if (this.sweeper) return;
    this.sweeper = setTimeout(() => {
      this.sweeper = undefined;
      const old = Date.now() - IDLE_MS;
      for (const [key, list] of this.free) {
        const keep = list.filter((s) => s.idleSince > old);
        for (const s of list) if (s.idleSince <= old) this.discard(s);
        if (keep.length > 0) this.free.set(key, keep);
        else this.free.delete(key);
      }
      if (this.free.size > 0) this.sweep();
    }, IDLE_MS);
    this.sweeper.unref();
  }
}

// One pool per runtime (a daemon, a CLI command, a test), as the runtime's engines are.
const POOLS = new WeakMap<Runtime, UdpPool>();

export function udpPoolOf(runtime: Runtime): UdpPool {
  let p = POOLS.get(runtime);
  if (!p) POOLS.set(runtime, (p = new UdpPool()));
  return p;
}
