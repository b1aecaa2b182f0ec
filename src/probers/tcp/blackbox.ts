// /probe series of blackbox_exporter's tcp prober (prober/tcp.go, query_response.go).
import type { ProbeRegistry as Registry } from '../../outputs/blackbox/registry';
import type { Module } from '../../config/types';
import type { ProbeResult } from '../../result';
import { gauge, writeResolve } from '../../outputs/blackbox/common';
import { QUERY_RESPONSE_TLS, writeTLS } from '../../outputs/blackbox/tls';

/**
 * probe_expect_info: one series per query_response step that has `labels`. blackbox registers one
 * gauge per step and cannot register the name twice with different label names (its MustRegister
 * panics); here the first label set fixes the names and a later step with other names is skipped.
 */
function writeExpectInfo(result: ProbeResult, reg: Registry): void {
  const infos = result.tcp?.expectInfo ?? [];
  if (infos.length === 0) return;
  const labelNames = Object.keys(infos[0].labels);
  const g = reg.gauge('probe_expect_info', 'Explicit content matched', labelNames);
  for (const info of infos) {
    const names = Object.keys(info.labels);
    if (names.length === labelNames.length && names.every((n) => labelNames.includes(n))) g.set(info.labels, 1);
  }
}

/** The tcp and unix probers' series; unix has no resolve phase (a path is dialed as is). */
export function writeDialogue(result: ProbeResult, reg: Registry, hasDialogue: boolean): void {
  // Registered before dialing in blackbox, so it is present (0) even when the connection fails.
  gauge(reg, 'probe_failed_due_to_regex', 'Indicates if probe failed due to regex', result.tcp?.failedDueToRegex ? 1 : 0);
  // blackbox 0.28 registers it with the regex gauge in every query_response probe.
  if (hasDialogue) gauge(reg, 'probe_failed_due_to_bytes', 'Indicates if probe failed due to bytes', result.tcp?.failedDueToBytes ? 1 : 0);
  writeExpectInfo(result, reg);
  if (result.tls) writeTLS(result.tls, reg, QUERY_RESPONSE_TLS);
}

export function writeTCP(result: ProbeResult, _module: Module, reg: Registry): void {
  writeResolve(result, reg);
  writeDialogue(result, reg, true);
}
