// Series every blackbox prober emits, plus sonde's failure-reason info series.
import { Gauge, Registry } from 'prom-client';
import type { ProbeResult } from '../../result';

/** FNV-1a 32-bit of the address text, as blackbox_exporter's probe_ip_addr_hash. */
export function fnv32a(s: string): number {
  let h = 0x811c9dc5;
  for (const b of Buffer.from(s, 'utf8')) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

export function gauge(reg: Registry, name: string, help: string, value: number, labels?: Record<string, string>): void {
  const g = new Gauge({ name, help, labelNames: labels ? Object.keys(labels) : [], registers: [reg] });
  if (labels) g.set(labels, value);
  else g.set(value);
}

/** A gauge with several label sets (e.g. a phase histogram flattened as blackbox does). */
export function gaugeVec(reg: Registry, name: string, help: string, labelName: string, values: Record<string, number>): void {
  const g = new Gauge({ name, help, labelNames: [labelName], registers: [reg] });
  for (const [k, v] of Object.entries(values)) g.set({ [labelName]: k }, v);
}

/** Resolve-phase series, emitted by blackbox's http, tcp, icmp and dns probers alike. */
export function writeResolve(result: ProbeResult, reg: Registry): void {
  gauge(reg, 'probe_dns_lookup_time_seconds', 'Returns the time taken for probe dns lookup in seconds', result.dnsLookupSeconds ?? 0);
  if (result.ipProtocol !== undefined) {
    gauge(reg, 'probe_ip_protocol', 'Specifies whether probe ip protocol is IP4 or IP6', result.ipProtocol);
  }
  if (result.address !== undefined) {
    gauge(reg, 'probe_ip_addr_hash', 'Specifies the hash of IP address. It\'s useful to detect if the IP address changes.', fnv32a(result.address));
  }
}

export function writeCommon(result: ProbeResult, reg: Registry): void {
  gauge(reg, 'probe_success', 'Displays whether or not the probe was a success', result.success ? 1 : 0);
  gauge(reg, 'probe_duration_seconds', 'Returns how long the probe took to complete in seconds', result.durationSeconds);
  if (!result.success && result.reason) {
    gauge(reg, 'sonde_probe_failure_reason', 'Why the probe failed: one reason from sonde\'s closed set (docs/reasons.md)', 1, { reason: result.reason });
  }
}
