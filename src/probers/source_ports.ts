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

  get available(): number {
    return this.count;
  }
}

export const sourcePorts = new SourcePorts();
