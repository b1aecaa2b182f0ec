// Source ports sonde picks itself while eBPF attribution is on, so that a probe's flow is in the
// eBPF flow map before its first packet (the SYN) leaves. The default range lies below the kernel's
// ephemeral range (net.ipv4.ip_local_port_range, 32768-60999 by default), so the kernel never gives
// these ports to other sockets; a port a local service listens on fails to bind and is skipped.
export class SourcePorts {
  private readonly free: Uint16Array;
  private head = 0;
  private count: number;
  /** 1 for a port taken and not given back (a byte per port: no hashing per probe) */
  private readonly inUse = new Uint8Array(65536);

  constructor(
    readonly low = 20000,
    readonly high = 32767,
  ) {
    if (!(low >= 1 && high <= 65535 && low <= high)) throw new RangeError(`source port range ${low}-${high} is not within 1-65535`);
    this.count = high - low + 1;
    this.free = new Uint16Array(this.count);
    for (let i = 0; i < this.count; i++) this.free[i] = low + i;
  }

  /**
   * A port no other probe of this process holds, or undefined when all are in use. Never `avoid`
   * (the destination port): a connect from port P to a closed local port P meets itself and
   * "succeeds" (TCP simultaneous open, RFC 9293 3.5); the skipped port goes to the back of the queue.
   */
  take(avoid?: number): number | undefined {
    if (this.count === 0) return undefined;
    let port = this.free[this.head];
    this.head = (this.head + 1) % this.free.length;
    if (port === avoid) {
      if (this.count === 1) {
        this.head = (this.head + this.free.length - 1) % this.free.length;
        return undefined;
      }
      this.free[(this.head + this.count - 1) % this.free.length] = port;
      port = this.free[this.head];
      this.head = (this.head + 1) % this.free.length;
    }
    this.count--;
    this.inUse[port] = 1;
    return port;
  }

  /** Returns a port; it goes to the back of the queue, so it rests as long as possible before reuse. */
  give(port: number): void {
    if (this.inUse[port] !== 1) return;
    this.inUse[port] = 0;
    this.free[(this.head + this.count) % this.free.length] = port;
    this.count++;
  }

  /**
   * Ports of stream probes that ended with a reset (not graceful), newest last: the engine keeps
   * such a port's socket bound for the next probe from it (native/stream KeepBound), so these are
   * handed out again first. A reset leaves no TIME_WAIT on either side, so the rest of the queue
   * is not needed for them. Bounded: the oldest go back to the queue.
   */
  private warm: number[] = [];
  private static readonly MAX_WARM = 4096;

  /** A port for a stream probe that will end with a reset: a warm one when there is one. */
  takeWarm(avoid?: number): number | undefined {
    const w = this.warm;
    for (let i = w.length - 1; i >= 0 && i >= w.length - 2; i--) {
      if (w[i] === avoid) continue;
      const port = w[i];
      w.splice(i, 1);
      return port;
    }
    return this.take(avoid);
  }

  /** Gives back the port of a stream probe that ended with a reset. */
  giveWarm(port: number): void {
    if (this.inUse[port] !== 1) return;
    if (this.warm.length >= SourcePorts.MAX_WARM) {
      const oldest = this.warm.splice(0, SourcePorts.MAX_WARM / 2);
      for (const p of oldest) this.give(p);
    }
    this.warm.push(port);
  }

  get available(): number {
    return this.count + this.warm.length;
  }
}

export const sourcePorts = new SourcePorts();
