// Series every blackbox prober emits, plus sonde's failure-reason info series.
import type { ProbeRegistry as Registry } from './registry';
import { goIPBytes } from '../../native/ipaddr';
import type { ProbeResult } from '../../result';
import { fnv32a } from '../../util/fnv';

// Every /probe answer hashes its address, and the same addresses come back: each is hashed once.
const HASHES = new Map<string, number>();
const MAX_HASHES = 65536;

/** blackbox_exporter's probe_ip_addr_hash (prober/utils.go ipHash): FNV-1a over the address bytes, not its text. */
export function ipAddrHash(address: string): number {
  let h = HASHES.get(address);
  if (h === undefined) {
    h = fnv32a(goIPBytes(address) ?? address);
    if (HASHES.size >= MAX_HASHES) HASHES.clear();
    HASHES.set(address, h);
  }
  return h;
}

const NO_LABELS: readonly string[] = [];

export function gauge(reg: Registry, name: string, help: string, value: number, labels?: Record<string, string>): void {
  const g = reg.gauge(name, help, labels ? Object.keys(labels) : NO_LABELS);
  if (labels) g.set(labels, value);
  else g.set(value);
}

/** A gauge with several label sets (e.g. a phase histogram flattened as blackbox does). */
export function gaugeVec(reg: Registry, name: string, help: string, labelName: string, values: Record<string, number>): void {
  const g = reg.gauge(name, help, [labelName]);
  // for-in and setLabel: no entries array nor label object per value (every /probe answer comes here)
  for (const k in values) g.setLabel(k, values[k]);
}

/** Resolve-phase series, emitted by blackbox's http, tcp, icmp and dns probers alike. */
export function writeResolve(result: ProbeResult, reg: Registry): void {
  // blackbox's chooseProtocol registers all three before resolving: a failed lookup shows 0s.
  if (result.resolveSkipped) return;
  gauge(reg, 'probe_dns_lookup_time_seconds', 'Returns the time taken for probe dns lookup in seconds', result.dnsLookupSeconds ?? 0);
  gauge(reg, 'probe_ip_protocol', 'Specifies whether probe ip protocol is IP4 or IP6', result.ipProtocol ?? 0);
  if (result.resolver !== undefined) {
    gauge(reg, 'sonde_dns_resolver_info', 'The module\'s own DNS server (dns_resolver) that resolved the target', 1, { server: result.resolver });
  }
  gauge(reg, 'probe_ip_addr_hash', 'Specifies the hash of IP address. It\'s useful to detect if the IP address changes.', result.address !== undefined ? ipAddrHash(result.address) : 0);
}

export function writeCommon(result: ProbeResult, reg: Registry): void {
  gauge(reg, 'probe_success', 'Displays whether or not the probe was a success', result.success ? 1 : 0);
  gauge(reg, 'probe_duration_seconds', 'Returns how long the probe took to complete in seconds', result.durationSeconds);
  // blackbox main (prober/handler.go): the timeout the probe ran with.
  if (result.timeoutSeconds !== undefined) gauge(reg, 'probe_timeout_seconds', 'Returns how long the probe timeout is in seconds', result.timeoutSeconds);
  if (!result.success && result.reason) {
    gauge(reg, 'sonde_probe_failure_reason', 'Why the probe failed: one reason from sonde\'s closed set (docs/reasons.md)', 1, { reason: result.reason });
  }
}
