// Pacing a trace under the ICMP rate limits of the hops it probes, so that the loss it reports is
// the path's, not answers the routers withheld because sonde asked too fast. Linux limits the ICMP
// errors a host sends to one destination (time exceeded, destination unreachable: icmp_ratemask)
// with a token bucket per peer: one token per net.ipv4.icmp_ratelimit (1000 ms by default), at
// most XRLIM_BURST_FACTOR = 6 saved (net/ipv4/icmp.c, inet_peer_xrlim_allow()); a new peer starts
// full. On top, icmp_msgs_per_sec (1000) with a burst of icmp_msgs_burst (50) per namespace.
// IPv6 (icmpv6_time) is the same or more generous, so the IPv4 figures bound both.

/** XRLIM_BURST_FACTOR (include/net/inetpeer.h era constant, net/ipv4/icmp.c). */
export const KERNEL_BURST = 6;
/** net.ipv4.icmp_ratelimit's default, ms. */
export const KERNEL_RATELIMIT_MS = 1000;
const GLOBAL_PER_SEC = 1000;
const GLOBAL_BURST = 50;

class Bucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly perToken: number,
    private readonly cap: number,
    now: number,
  ) {
    this.tokens = cap;
    this.last = now;
  }

  private refill(now: number): void {
    this.tokens = Math.min(this.cap, this.tokens + (now - this.last) / this.perToken);
    this.last = now;
  }

  /** ms from `now` until `n` tokens are there (0: now). */
  waitFor(n: number, now: number): number {
    this.refill(now);
    return this.tokens >= n ? 0 : (n - this.tokens) * this.perToken;
  }

  spend(n: number, now: number): void {
    this.refill(now);
    this.tokens -= n;
  }
}

/**
 * One bucket per hop (TTL), with the kernel's figures plus a margin: the router's clock ticks in
 * jiffies and a probe reaches it a little after it left. Probes at or past the TTL where the target
 * answered all go to the target and so share its bucket.
 */
export class HopPacer {
  private readonly buckets = new Map<number, { peer: Bucket; global: Bucket }>();
  private targetTtl = Infinity;
  private readonly log: Array<{ at: number; ttl: number; n: number }> = [];
  readonly burst: number;

  /** ratelimitMs 0: the hops have no limit (lifted sysctls), nothing is paced. */
  constructor(
    private readonly ratelimitMs: number,
    private readonly now: () => number,
  ) {
    this.burst = ratelimitMs > 0 ? KERNEL_BURST - 1 : Infinity;
  }

  get enabled(): boolean {
    return this.ratelimitMs > 0;
  }

  private bucket(ttl: number): { peer: Bucket; global: Bucket } {
    const key = Math.min(ttl, this.targetTtl);
    let b = this.buckets.get(key);
    if (!b) {
      // One token saved as margin (burst - 1), and tokens 5% + one jiffy (4 ms at HZ=250) slower than the kernel's.
      b = { peer: new Bucket(this.ratelimitMs * 1.05 + 4, this.burst, this.now()), global: new Bucket((1000 / GLOBAL_PER_SEC) * 1.05, GLOBAL_BURST - 5, this.now()) };
      this.buckets.set(key, b);
    }
    return b;
  }

  /** ms to wait before `counts` (probes per TTL) may leave. */
  waitFor(counts: ReadonlyMap<number, number>): number {
    if (!this.enabled) return 0;
    const now = this.now();
    const per = this.perKey(counts);
    let wait = 0;
    for (const [ttl, n] of per) {
      const b = this.bucket(ttl);
      wait = Math.max(wait, b.peer.waitFor(n, now), b.global.waitFor(n, now));
    }
    return wait;
  }

  spend(counts: ReadonlyMap<number, number>): void {
    if (!this.enabled) return;
    const now = this.now();
    for (const [ttl, n] of this.perKey(counts)) {
      const b = this.bucket(ttl);
      b.peer.spend(n, now);
      b.global.spend(n, now);
    }
    for (const [ttl, n] of counts) this.log.push({ at: now, ttl, n });
  }

  /**
   * The target answered at `ttl`: every probe sent at that TTL or beyond was one to the target, so
   * its bucket is rebuilt from what was sent there.
   */
  reachedAt(ttl: number): void {
    if (!this.enabled || ttl >= this.targetTtl) return;
    this.targetTtl = ttl;
    for (const key of [...this.buckets.keys()]) if (key >= ttl) this.buckets.delete(key);
    const sent = this.log.filter((e) => e.ttl >= ttl);
    if (sent.length === 0) return;
    const b = { peer: new Bucket(this.ratelimitMs * 1.05 + 4, this.burst, sent[0].at), global: new Bucket((1000 / GLOBAL_PER_SEC) * 1.05, GLOBAL_BURST - 5, sent[0].at) };
    for (const e of sent) {
      b.peer.spend(e.n, e.at);
      b.global.spend(e.n, e.at);
    }
    this.buckets.set(ttl, b);
  }

  private perKey(counts: ReadonlyMap<number, number>): Map<number, number> {
    const per = new Map<number, number>();
    for (const [ttl, n] of counts) {
      const key = Math.min(ttl, this.targetTtl);
      per.set(key, (per.get(key) ?? 0) + n);
    }
    return per;
  }
}

/**
 * Loss at a hop that does not continue: a hop that lost more than a later one (down to the
 * destination) did forward those probes and only withheld its own ICMP answers, the pattern of a
 * router's rate limit or control-plane policing (mtr's "loss that does not continue"). The
 * difference must stand out of sampling noise: two standard errors of the difference of the shares.
 */
export function rateLimitedHops(hops: ReadonlyArray<{ sent: number; received: number }>): boolean[] {
  const out = hops.map(() => false);
  let best: { sent: number; received: number } | undefined;
  for (let i = hops.length - 1; i >= 0; i--) {
    const h = hops[i];
    if (best && h.sent > 0 && h.received < h.sent) {
      const p1 = 1 - h.received / h.sent;
      const p2 = 1 - best.received / best.sent;
      const pooled = (h.sent - h.received + best.sent - best.received) / (h.sent + best.sent);
      const se = Math.sqrt(pooled * (1 - pooled) * (1 / h.sent + 1 / best.sent));
      out[i] = p1 > p2 && (se === 0 || (p1 - p2) / se >= 2);
    }
    if (h.sent > 0 && (!best || 1 - h.received / h.sent < 1 - best.received / best.sent)) best = h;
  }
  return out;
}
