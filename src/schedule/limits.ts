// The bounds a run must fit before it starts, besides the global one: its tenant's concurrency and
// probes/s (a token bucket), and the probes in flight to its destination host. Hosts are counted in
// a Map only while they have a probe in flight, so a million distinct hosts cost nothing at rest.
import type { Tenant } from '../config/types';

/** The tenant of tasks that name none (or a tenant the config lacks): unbounded. */
export const DEFAULT_TENANT = 'default';

export class TenantState {
  inFlight = 0;
  /** runs that waited for this tenant's quota (sonde_tenant_throttled_total) */
  throttled = 0;
  private tokens: number;
  private refilledAt: number;

  constructor(
    readonly name: string,
    public limits: Readonly<Pick<Tenant, 'max_concurrency' | 'max_probes_per_second'>> | undefined,
    now: number,
  ) {
    this.tokens = limits?.max_probes_per_second ?? 0;
    this.refilledAt = now;
  }

  /** 0: a run may start now; else the clock ms at which one may (Infinity: when a probe ends). */
  blockedUntil(now: number): number {
    const l = this.limits;
    if (l === undefined) return 0;
    if (l.max_concurrency > 0 && this.inFlight >= l.max_concurrency) return Infinity;
    const rate = l.max_probes_per_second;
    if (rate <= 0) return 0;
    // Burst: one second's worth, as the config says.
    this.tokens = Math.min(rate, this.tokens + ((now - this.refilledAt) * rate) / 1000);
    this.refilledAt = now;
    if (this.tokens >= 1) return 0;
    return now + Math.ceil(((1 - this.tokens) * 1000) / rate);
  }

  /** A run of the tenant started (after blockedUntil said 0). */
  take(): void {
    this.inFlight++;
    if (this.limits && this.limits.max_probes_per_second > 0) this.tokens -= 1;
  }
}

/** The tenants of the config by name, kept across reloads (their buckets and counts carry on). */
export class Tenants {
  private readonly byName = new Map<string, TenantState>();

  constructor(private readonly now: () => number) {}

  /** The config's tenants now; tenants no longer configured become unbounded. */
  configure(tenants: ReadonlyMap<string, Tenant> | undefined): void {
    for (const [name, t] of this.byName) t.limits = tenants?.get(name);
    for (const [name, t] of tenants ?? []) if (!this.byName.has(name)) this.byName.set(name, new TenantState(name, t, this.now()));
  }

  get(name: string | undefined): TenantState {
    const key = name ?? DEFAULT_TENANT;
    let t = this.byName.get(key);
    if (t === undefined) {
      t = new TenantState(key, undefined, this.now());
      this.byName.set(key, t);
    }
    return t;
  }

  all(): IterableIterator<TenantState> {
    return this.byName.values();
  }
}

/**
 * The destination host of a target as probers name it: `host:port`, `[v6]:port`, a bare host or
 * address, or a URL (`scheme://[user@]host[:port]/...`). Lower-cased: one host, one count.
 */
export function hostOf(target: string): string {
  let s = target;
  const scheme = s.indexOf('://');
  if (scheme >= 0) {
    s = s.slice(scheme + 3);
    const end = s.search(/[/?#]/);
    if (end >= 0) s = s.slice(0, end);
    const at = s.lastIndexOf('@');
    if (at >= 0) s = s.slice(at + 1);
  }
  if (s.startsWith('[')) {
    const close = s.indexOf(']');
    return (close > 0 ? s.slice(1, close) : s).toLowerCase();
  }
  const colon = s.indexOf(':');
  // Two colons or more: a bare IPv6 address, no port.
  if (colon >= 0 && s.indexOf(':', colon + 1) < 0) s = s.slice(0, colon);
  return s.toLowerCase();
}

/** Probes in flight per destination host; a host leaves the map when its last probe ends. */
export class HostCounts {
  private readonly counts = new Map<string, number>();

  constructor(public max: number) {}

  /** Whether one more probe to `host` fits under max_per_host (0: no bound). */
  fits(host: string): boolean {
    return this.max <= 0 || (this.counts.get(host) ?? 0) < this.max;
  }

  take(host: string): void {
    this.counts.set(host, (this.counts.get(host) ?? 0) + 1);
  }

  release(host: string): void {
    const n = this.counts.get(host) ?? 0;
    if (n <= 1) this.counts.delete(host);
    else this.counts.set(host, n - 1);
  }

  /** hosts with a probe in flight */
  get size(): number {
    return this.counts.size;
  }
}
