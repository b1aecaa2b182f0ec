// /probe series of blackbox main's websocket prober (prober/websocket.go): names and help as it
// registers them; a phase is present once it ran (its GaugeVec is not pre-seeded).
import type { ProbeRegistry as Registry } from '../../outputs/blackbox/registry';
import type { Module } from '../../config/types';
import type { ProbeResult } from '../../result';
import { gauge, writeResolve } from '../../outputs/blackbox/common';

const PHASES = ['resolve', 'connect', 'processing', 'transfer'];

export function writeWebsocket(result: ProbeResult, _module: Module, reg: Registry): void {
  writeResolve(result, reg);
  const w = result.websocket;
  gauge(reg, 'probe_websocket_connection_upgraded', 'Indicates if the websocket connection was successfully upgraded', w?.upgraded ? 1 : 0);
  gauge(reg, 'probe_websocket_status_code', 'Response HTTP status code', w?.statusCode ?? 0);
  gauge(reg, 'probe_websocket_failed_due_to_regex', 'Indicates if probe failed due to regex', w?.failedDueToRegex ? 1 : 0);
  const phases = reg.gauge('probe_websocket_duration_seconds', 'Duration of websocket request by phase', ['phase']);
  for (const phase of PHASES) if (result.phases[phase] !== undefined) phases.set({ phase }, result.phases[phase]);
}
